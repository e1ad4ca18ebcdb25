// A graceful drain of a clustered node (PROTOCOL.md section 11) under the client: two
// `switchboard` nodes, A and B, clustered over a private `redis-server`, and the client behind
// the TCP proxy of support/proxy.mjs, pointing at A. While B's HTTP API publishes a numbered
// stream to the client's room, the proxy is pointed at B (a load balancer taking A out) and A
// gets SIGTERM: A hands its sessions to the cluster and closes its links with 1012, and the
// client reconnects at once, through the proxy to B, resumes its session there (same id, same
// token, rooms kept) and gets every number exactly once, in order.
// Without redis-server the test is skipped with the reason, unless CI=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { connect } from '../switchboard.js';
import { IN_CI, serverMissing, startServer, waitFor, within } from '../support/harness.mjs';
import { startProxy } from '../support/proxy.mjs';

const SHUTDOWN = 5000; // ms: the nodes' --shutdown-timeout, the longest A may take to drain
const INTERVAL = 10; // ms between two publishes: about 100 messages a second
const BEFORE = 50; // messages the client gets from A before A drains
const AFTER = 100; // messages published from the moment A is told to stop

/** `redis-server` on PATH or in the sbin directories Debian installs to, or null. */
function findRedis() {
  const dirs = [...(process.env.PATH || '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/sbin'];
  return dirs.filter(Boolean).map((dir) => join(dir, 'redis-server')).find((bin) => existsSync(bin)) ?? null;
}

const REDIS_BIN = findRedis();

/** Why the test cannot run here (no redis-server), or null. With CI=true that is a failure. */
function redisMissing() {
  if (REDIS_BIN) return null;
  const why = 'no redis-server on PATH (Debian: apt-get install redis-server)';
  if (IN_CI) throw new Error(why);
  console.log(`# skipped: ${why}`);
  return why;
}

const skip = serverMissing() ?? redisMissing() ?? false;

/** A loopback port free now (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private `redis-server` (no persistence) on a free loopback port, never the
 * machine's own 6379, and resolves once it says it accepts connections. A port taken
 * between the pick and the start is tried again with another.
 */
async function startRedis() {
  for (let tries = 1; ; tries++) {
    try {
      return await redisOn(await freePort());
    } catch (err) {
      if (!err.exitedEarly || tries >= 5) throw err;
    }
  }
}

function redisOn(port) {
  return new Promise((resolve, reject) => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const proc = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => proc.once('exit', r));
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s: ${out.slice(-2000)}`));
    }, 10000);
    proc.stderr.on('data', (d) => { out += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      if (!/Ready to accept connections/.test(out)) return;
      clearTimeout(timer);
      out = '';
      resolve({
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
        },
      });
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      const err = new Error(`redis-server exited (${code ?? signal}) before it was ready: ${out.slice(-2000)}`);
      err.exitedEarly = true;
      reject(err);
    });
  });
}

/** Resolves after `ms` (at once for `ms <= 0`): the pace of the publisher, not a wait on an event. */
const pause = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** `GET /api/stats` of `server`, as JSON. */
const stats = async (server) => (await server.api('/api/stats')).json();

/**
 * Polls `/api/stats` of `server` until its backend is up and it sees `nodes` live nodes
 * (nothing announces it: the nodes find each other through their heartbeats).
 */
async function clusterOf(server, nodes, timeout = 10000) {
  const deadline = performance.now() + timeout;
  for (;;) {
    const s = await stats(server);
    if (s.cluster === 'ok' && s.nodes === nodes) return;
    if (performance.now() > deadline) {
      throw new Error(`no "cluster":"ok" with "nodes":${nodes} within ${timeout} ms; last /api/stats: ${JSON.stringify(s)}`);
    }
    await pause(50);
  }
}

/** How `seen` (what the client got, in order) compares with the numbers 0 … sent-1. */
function tally(seen, sent) {
  const unique = new Set(seen);
  let lost = 0;
  for (let n = 0; n < sent; n++) if (!unique.has(n)) lost += 1;
  let reordered = 0;
  for (let i = 1; i < seen.length; i++) if (seen[i] < seen[i - 1]) reordered += 1;
  return { sent, delivered: seen.length, lost, duplicated: seen.length - unique.size, reordered };
}

describe('a clustered node drains under the client', { skip }, () => {
  let redis;
  let a; // the node the client starts on, drained
  let b; // the node that publishes, and takes the session over
  let proxy;
  let client;
  const prefix = `js-drain-${process.pid}`;
  const node = () => startServer({
    args: [
      '--redis', redis.url, '--cluster-prefix', prefix,
      '--resume-window', '5m', '--shutdown-timeout', `${SHUTDOWN}ms`,
    ],
  });
  const publish = async (server, body) => {
    const res = await server.api('/api/publish', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([node(), node()]);
    await Promise.all([clusterOf(a, 2), clusterOf(b, 2)]);
    proxy = await startProxy(a);
  });
  after(async () => {
    client?.close();
    // Killed, not drained: a SIGTERM that crosses the client's close frame leaves B waiting
    // for a resume of the session (1012) until its shutdown timeout.
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await proxy?.close();
    await redis?.stop();
  });

  test('SIGTERM: the link closes with 1012, the client resumes at once on the other node, and a numbered stream arrives once, in order', async () => {
    const room = 'drain';
    // A backoff long enough that only the immediate retry a 1012 calls for comes back in time.
    client = connect(proxy.ws, {
      transports: ['websocket'], reconnectDelay: 60000, reconnectDelayMax: 60000, jitter: false,
    });
    const [first] = await waitFor(client, 'connect');
    assert.equal(first.resumed, false);
    await client.join(room);
    const { id } = client;
    const token = client.session.token;
    const seen = [];
    client.on('n', (n) => seen.push(n));
    const disconnects = [];
    client.on('disconnect', (info) => disconnects.push(info));

    // The publisher: 0, 1, 2, … through B's API, one at a time (so in order), until `stopAt`.
    let sent = 0;
    let stopAt = Infinity;
    const publishing = (async () => {
      const start = performance.now();
      for (let n = 0; n < stopAt; n++) {
        await publish(b, { event: 'n', data: n, room });
        sent = n + 1;
        await pause(start + sent * INTERVAL - performance.now());
      }
    })();
    publishing.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

    // Listen before publishing: the message can arrive before the API answers.
    await waitFor(client, 'n', { filter: (n) => n === BEFORE - 1 });

    // A drains: the balancer (the proxy) sends new connections to B, and A is told to stop.
    const down = waitFor(client, 'disconnect');
    const retry = waitFor(client, 'reconnecting');
    const back = waitFor(client, 'connect', { timeout: 5000 });
    proxy.retarget(b);
    const terminated = performance.now();
    let drainMs = null;
    const aExited = a.stop().then(() => { drainMs = performance.now() - terminated; }); // SIGTERM
    stopAt = sent + AFTER;
    const [closed] = await down;
    const closedAt = performance.now();
    assert.equal(closed.code, 1012, `the close of a draining node: ${JSON.stringify(closed)}`);
    assert.equal(closed.willReconnect, true);
    assert.deepEqual((await retry)[0], { attempt: 1, delay: 0 }, 'a 1012 is retried at once');
    const [resumed] = await back;
    const reconnectMs = performance.now() - closedAt;
    assert.ok(reconnectMs < 1000, `back ${reconnectMs.toFixed(0)} ms after the close`);
    assert.equal(resumed.resumed, true, `the session resumes on B: ${JSON.stringify(resumed)}`);
    assert.equal(resumed.id, id);
    assert.equal(resumed.transport, 'websocket');
    assert.equal(client.id, id);
    assert.equal(client.session.token, token, 'a resumed session keeps its token');
    assert.equal(client.state, 'connected');
    assert.equal(client.reconnectCount, 1);
    assert.equal(client.inRoom(room), true);
    // The session lives on B now: the one connection there is the client's.
    assert.equal((await stats(b)).connections, 1);

    // The rest of the stream, then every number once, in order, none missing.
    await publishing;
    const last = sent - 1;
    if (!seen.includes(last)) {
      // A lost last message is reported by the tally below, not as a timeout.
      await waitFor(client, 'n', { filter: (n) => n === last, timeout: 5000 }).catch(() => {});
    }
    const counts = tally(seen, sent);
    console.log(`drain: sent ${counts.sent}, delivered ${counts.delivered}, lost ${counts.lost}, `
      + `duplicated ${counts.duplicated}, reordered ${counts.reordered}; back ${reconnectMs.toFixed(0)} ms `
      + `after the 1012 (missed ${resumed.missed})`);
    assert.ok(sent >= BEFORE + AFTER, `sent ${sent}`);
    assert.deepEqual(counts, { sent, delivered: sent, lost: 0, duplicated: 0, reordered: 0 });
    assert.deepEqual(seen, Array.from({ length: sent }, (_, n) => n));
    assert.equal(disconnects.length, 1, `one disconnect only: ${JSON.stringify(disconnects)}`);

    // A's drain ends within its shutdown timeout (counted from the SIGTERM), and A exits cleanly.
    await within(aExited, Math.max(0, terminated + SHUTDOWN - performance.now()), 'node A to exit after SIGTERM');
    assert.equal(a.proc.exitCode, 0, `node A exited with ${a.proc.exitCode ?? a.proc.signalCode}`);
    console.log(`drain: node A exited ${drainMs.toFixed(0)} ms after SIGTERM`);
    // The rooms moved with the session: B (alone in the cluster now) lists the client.
    const members = (await (await b.api(`/api/rooms/${room}`)).json()).members;
    assert.deepEqual(members, [id]);
    assert.equal(client.state, 'connected');
  });
});
