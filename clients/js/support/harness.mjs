// Test harness: starts the real `switchboard` server and waits on events.
// Kept outside test/ so that `node --test test/` does not run it as a test file.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The server binary: env SWITCHBOARD_BIN, else ../../target/debug/switchboard from clients/js. */
export const SERVER_BIN = process.env.SWITCHBOARD_BIN
  ? resolve(process.env.SWITCHBOARD_BIN)
  : resolve(here, '..', '..', '..', 'target', 'debug', 'switchboard');

export const IN_CI = process.env.CI === 'true';

/**
 * Why the server tests cannot run here, or null. With CI=true a missing binary is a failure.
 * @returns {string|null}
 */
export function serverMissing() {
  if (existsSync(SERVER_BIN)) return null;
  const why = `no server binary at ${SERVER_BIN} (build it with \`cargo build -p switchboard-server\` or set SWITCHBOARD_BIN)`;
  if (IN_CI) throw new Error(why);
  console.log(`# skipped: ${why}`);
  return why;
}

/**
 * Starts `switchboard --listen 127.0.0.1:PORT` and resolves once it prints where it listens.
 * A restart on a port that is still held is retried a few times (each try waits on the
 * process's exit, never on a clock).
 * @param {{port?: number, args?: string[], timeout?: number}} [opts]
 */
export async function startServer({ port = 0, args = [], timeout = 15000 } = {}) {
  let lastError;
  for (let tries = 0; tries < 20; tries++) {
    try {
      return await startOnce(port, args, timeout);
    } catch (err) {
      lastError = err;
      if (!port || !err.exitedEarly) throw err;
    }
  }
  throw lastError;
}

function startOnce(port, args, timeout) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(SERVER_BIN, ['--listen', `127.0.0.1:${port}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
    });
    let out = '';
    let errText = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeout} ms: ${out}${errText}`));
    }, timeout);
    proc.stderr.on('data', (d) => { errText += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /switchboard listening on (https?):\/\/(\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolvePromise(new Server(proc, m[2], m[1] === 'https'));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      const err = new Error(`server exited (${code ?? signal}) before listening: ${errText.slice(-2000)}`);
      err.exitedEarly = true;
      reject(err);
    });
  });
}

/** A running server process (serving TLS when started with `--tls-cert`/`--tls-key`). */
export class Server {
  constructor(proc, addr, tls = false) {
    this.proc = proc;
    this.addr = addr;
    this.port = Number(addr.slice(addr.lastIndexOf(':') + 1));
    this.http = `${tls ? 'https' : 'http'}://${addr}`;
    this.ws = `${tls ? 'wss' : 'ws'}://${addr}/ws`;
    this.exited = new Promise((r) => {
      if (proc.exitCode !== null || proc.signalCode !== null) r();
      else proc.once('exit', () => r());
    });
  }

  /** Stops the process with `signal` (SIGTERM: graceful, clients get 1001) and waits for it. */
  async stop(signal = 'SIGTERM') {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }

  /** `fetch` against the server's HTTP API. */
  api(path, init) {
    return fetch(`${this.http}${path}`, init);
  }
}

/**
 * Resolves with the arguments of the next `event` on `client` (an object with `on`/`off`)
 * that passes `filter`; rejects after `timeout` ms.
 */
export function waitFor(client, event, { timeout = 10000, filter = () => true } = {}) {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      client.off(event, handler);
      reject(new Error(`timed out after ${timeout} ms waiting for "${event}"`));
    }, timeout);
    function handler(...args) {
      if (!filter(...args)) return;
      clearTimeout(timer);
      client.off(event, handler);
      resolvePromise(args);
    }
    client.on(event, handler);
  });
}

/** Resolves once `client.state === state` (checked now and on each `state` event). */
export async function waitState(client, state, timeout = 10000) {
  if (client.state === state) return;
  await waitFor(client, 'state', { timeout, filter: (s) => s === state });
}

/** Rejects with a timeout error unless `promise` settles within `ms`. */
export function within(promise, ms, what = 'operation') {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}
