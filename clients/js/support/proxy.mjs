// A tiny TCP proxy (node:net) in front of the server, for cutting links the way a network
// does: `sever()` destroys every open connection (no WebSocket close frame, no HTTP
// answer), `blocked` drops new connections at once, `freeze()` stops forwarding what the
// server sends while the sockets stay open, `refuseUpgrades` answers WebSocket upgrade
// requests `403` (a proxy that blocks WebSockets) and `hangUpgrades` never answers them,
// while plain HTTP, long-polling included, goes through. `retarget(server)` sends new
// connections to another server (a load balancer moving off a node that drains).
// Kept outside test/ so that `node --test test/` does not run it as a test file.
import { EventEmitter } from 'node:events';
import net from 'node:net';

const UPGRADE = /\r\nupgrade:\s*websocket\r\n/i;

/** Emits `refused` for each upgrade request refused or left hanging. */
export class Proxy extends EventEmitter {
  /**
   * @param {number} targetPort - the server's port on 127.0.0.1
   * @param {{refuseUpgrades?: boolean}} [opts]
   */
  constructor(targetPort, { refuseUpgrades = false, hangUpgrades = false } = {}) {
    super();
    this.targetPort = targetPort;
    this.refuseUpgrades = refuseUpgrades;
    this.hangUpgrades = hangUpgrades;
    this.blocked = false;
    this.pairs = new Set();
    this.refused = 0; // upgrade requests refused so far
    this.upgrades = 0; // upgrade requests let through
    this.frozen = false;
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on an ephemeral port of 127.0.0.1; resolves with this proxy. */
  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.address().port;
        this.http = `http://127.0.0.1:${this.port}`;
        this.ws = `ws://127.0.0.1:${this.port}/ws`;
        resolve(this);
      });
    });
  }

  accept(client) {
    if (this.blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream, frozen: false };
    this.pairs.add(pair);
    const end = () => {
      if (pair.hung) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => {
      if (UPGRADE.test(chunk.toString('latin1'))) {
        if (this.refuseUpgrades) {
          this.refused += 1;
          this.emit('refused');
          const body = 'WebSockets are blocked here\n';
          client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
          upstream.destroy();
          return;
        }
        if (this.hangUpgrades) {
          this.refused += 1;
          this.emit('refused');
          pair.hung = true; // the client's socket stays open, unanswered, until sever()
          upstream.destroy();
          return;
        }
        this.upgrades += 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.frozen) client.write(chunk);
    });
  }

  /**
   * Forwards new connections to `server` (a harness `Server`) from now on; the connections
   * open now stay with the server they were opened to.
   */
  retarget(server) {
    this.targetPort = server.port;
  }

  /** Destroys every open connection at once; new connections are forwarded as before. */
  sever() {
    const n = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return n;
  }

  /**
   * Stops passing what the server sends on the connections open now (they stay open, and
   * what the client sends still goes through): a link dead in one direction.
   */
  freeze() {
    for (const pair of this.pairs) pair.frozen = true;
  }

  async close() {
    this.sever();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts a proxy in front of `server` (a harness `Server`). */
export function startProxy(server, opts) {
  return new Proxy(server.port, opts).listen();
}
