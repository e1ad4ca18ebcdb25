// Token refresh in headless Chromium (Debian `chromium`, driven by playwright-core) against
// the real `switchboard` server started with --token-hmac-secret (PROTOCOL.md section 10).
// The page loads the client the server itself serves (`/switchboard.js` and its `/lib/`
// modules, an ES module) and connects with a token function; the function calls into the
// test (`page.exposeFunction`), which mints each token with `switchboard token` and decides
// when and whether to hand it out.
//   1. A short-lived token is refreshed before it expires: the link stays open past the
//      first token's expiry with no reconnect, `client.expiresAt` moves on, and an
//      `emitWithAck` round trip through the server's --proxy-event back end (a small HTTP
//      server in this file) works after the first expiry.
//   2. A token function that fails (an error, then no answer) gives no valid token before
//      the expiry: the hub closes the link 4003, the client resumes the session with a
//      fresh token, and what was published to the socket and its room meanwhile arrives,
//      once, in order.
// Without chromium or playwright-core the test is skipped with the reason, unless CI=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { SERVER_BIN, startServer } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';

const STEP = 20000; // ms for each wait on the page
const SECRET = 'a test secret that is long enough for HS256';
const PAGE = '/token-refresh-test'; // a path the server answers 404: only its origin is used

/** A token of `sub` for `ttl` (e.g. `4s`, `10m`), minted by `switchboard token`. */
async function mint(sub, ttl) {
  const { stdout } = await promisify(execFile)(SERVER_BIN, ['token', '--sub', sub, '--secret', SECRET, '--ttl', ttl]);
  return stdout.trim();
}

/** The `exp` of a token, Unix seconds. */
const expOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).exp;

/** A promise and the function that resolves it. */
function gate() {
  let open;
  const opened = new Promise((r) => { open = r; });
  return { opened, open };
}

// The page: the served client, a token function asking the test (`window.freshToken`,
// exposed before the page loads), and a record of what the client reports.
const HTML = `<!doctype html>
<meta charset="utf-8">
<title>token refresh</title>
<script type="module">
  import { connect } from '/switchboard.js';
  const record = { connects: [], disconnects: [], reconnecting: [], errors: [], n: [] };
  const client = connect('/ws', { token: () => window.freshToken() });
  client.on('connect', (info) => record.connects.push(info));
  client.on('disconnect', (info) => record.disconnects.push(info));
  client.on('reconnecting', (info) => record.reconnecting.push(info));
  client.on('error', (err) => record.errors.push(err));
  client.on('n', (data, meta) => record.n.push({ data, room: meta.room ?? null }));
  window.client = client;
  window.record = record;
</script>
`;

/**
 * The application's back end for --proxy-event: an event with an ack is answered with
 * what the hub passed on (socket, user, event, data).
 */
async function startBackend() {
  const calls = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const call = JSON.parse(body);
      calls.push(call);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { socket: call.socket, user: call.user, event: call.event, data: call.data } }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/event`,
    calls,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const pre = await chromiumPrerequisites();
const skip = typeof pre === 'string' ? pre : false;

describe('token refresh in headless Chromium', { skip }, () => {
  let browser;
  let backend;
  let server;

  before(async () => {
    backend = await startBackend();
    server = await startServer({ args: ['--token-hmac-secret', SECRET, '--proxy-event', backend.url] });
    browser = await pre.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await backend?.close();
  });

  /**
   * A page of the server's origin with the test's HTML, its token function answered by
   * `tokenFn`; resolves once the client is connected. `served` lists the client modules the
   * server answered for this page.
   */
  async function openPage(tokenFn) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    const served = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('response', (res) => {
      const path = new URL(res.url()).pathname;
      if (path.endsWith('.js')) served.push(`${res.status()} ${path}`);
    });
    await page.exposeFunction('freshToken', tokenFn);
    // A document the server answered (a 404) gives the page the server's origin; the
    // test's HTML is written into it. (A page answered by `page.route` instead has no
    // address space of its own, and Chromium's local network access checks then block its
    // WebSocket to 127.0.0.1: net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS.)
    await page.goto(server.http + PAGE);
    await page.setContent(HTML);
    await page.waitForFunction(() => window.record?.connects.length === 1, null, { timeout: STEP });
    assert.ok(served.includes('200 /switchboard.js'), served.join(', '));
    assert.ok(served.includes('200 /lib/token-refresh.js'), served.join(', '));
    return { context, page, problems };
  }

  /** `POST /api/publish` with `body`. */
  async function publish(body) {
    const res = await server.api('/api/publish', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  }

  test('a short-lived token is refreshed before it expires: no reconnect, and acks work after the first expiry', async () => {
    // Every call gets a fresh token of ada valid for 4 s (`--ttl` counts whole seconds from
    // the current second, so 3 to 4 s): the client refreshes it at about half its lifetime.
    const calls = [];
    const { context, page, problems } = await openPage(async () => {
      const jwt = await mint('ada', '4s');
      calls.push({ at: Date.now(), exp: expOf(jwt) });
      return jwt;
    });
    try {
      const start = await page.evaluate(() => ({
        id: client.id, user: client.user, expiresAt: client.expiresAt, transport: client.transportName,
      }));
      assert.equal(start.user, 'ada');
      assert.equal(start.transport, 'websocket');
      assert.equal(calls.length, 1);
      const first = start.expiresAt;
      assert.equal(first, calls[0].exp, 'expiresAt is the token\'s exp');

      // The refresh: the token function is called again and expiresAt moves on.
      await page.waitForFunction((t) => client.expiresAt > t, first, { timeout: STEP });
      assert.deepEqual(await page.evaluate(() => window.record.disconnects), [], 'moved on by a refresh, not a resume');
      assert.ok(calls.length >= 2, `the token function was called again: ${calls.length}`);
      assert.ok(calls[1].at < first * 1000, `asked for the refresh's token before the expiry: ${calls[1].at} < ${first * 1000}`);

      // Forced by the token's lifetime: that the hub did not close the link (4003) can only
      // be seen once the first token has expired. The 300 ms after `exp` are for such a
      // close frame to reach the page.
      await page.waitForFunction((t) => Date.now() >= t, first * 1000 + 300, { timeout: STEP, polling: 50 });

      // An ack round trip after the first expiry, answered by the back end.
      const reply = await page.evaluate(() => client.emitWithAck('echo', { text: 'after the expiry' }));
      assert.deepEqual(reply, { socket: start.id, user: 'ada', event: 'echo', data: { text: 'after the expiry' } });
      assert.ok(backend.calls.some((c) => c.socket === start.id && c.event === 'echo'));

      const end = await page.evaluate(() => ({
        state: client.state, id: client.id, reconnectCount: client.reconnectCount,
        expiresAt: client.expiresAt, record: window.record,
      }));
      assert.equal(end.state, 'connected');
      assert.equal(end.id, start.id);
      assert.equal(end.reconnectCount, 0);
      assert.ok(end.expiresAt > first, `${end.expiresAt} > ${first}`);
      assert.ok(end.expiresAt * 1000 > Date.now(), 'the current token is still valid');
      assert.equal(end.record.connects.length, 1);
      assert.deepEqual(end.record.disconnects, []);
      assert.deepEqual(end.record.reconnecting, []);
      assert.deepEqual(end.record.errors, []);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a token function that gives no valid token in time: 4003, then a resume with a fresh token that loses nothing', async () => {
    // Call 1 (the connect): a token of bob valid for 3 s (2 to 3 s). Call 2 (the refresh):
    // the identity service fails. Later calls (the refresh's retry, the resume) get no answer
    // until the test opens `late`, after it saw the 4003 and published; then a fresh
    // token valid for 10 minutes.
    const late = gate();
    const calls = [];
    const { context, page, problems } = await openPage(async () => {
      calls.push(Date.now());
      if (calls.length === 1) return mint('bob', '3s');
      if (calls.length === 2) throw new Error('the identity service is down');
      await late.opened;
      return mint('bob', '10m');
    });
    try {
      const room = 'refresh-room';
      assert.deepEqual(await page.evaluate((r) => client.join(r), room), { room });
      const { id, first } = await page.evaluate(() => ({ id: client.id, first: client.expiresAt }));
      await publish({ event: 'n', data: 1, to: id });
      await page.waitForFunction(() => window.record.n.length === 1, null, { timeout: STEP });

      // The refresh fails (an `error` event), and the hub ends the link when the token expires.
      await page.waitForFunction(() => window.record.errors.some((e) => e.code === 'refresh'), null, { timeout: STEP });
      await page.waitForFunction(() => window.record.disconnects.length === 1, null, { timeout: STEP });
      const [gone] = await page.evaluate(() => window.record.disconnects);
      assert.equal(gone.code, 4003, JSON.stringify(gone));
      assert.equal(gone.willReconnect, true);
      assert.ok(Date.now() >= first * 1000, 'closed at the expiry, not before');
      assert.notEqual(await page.evaluate(() => client.state), 'connected');

      // The link is down until the token function answers: publish to the socket and to its
      // room meanwhile; the session keeps them for the resume.
      await publish({ event: 'n', data: 2, to: id });
      await publish({ event: 'n', data: 3, room });
      late.open();
      await page.waitForFunction(() => window.record.connects.length === 2, null, { timeout: STEP });
      const info = await page.evaluate(() => window.record.connects[1]);
      assert.equal(info.resumed, true, JSON.stringify(info));
      assert.equal(info.transport, 'websocket');
      await publish({ event: 'n', data: 4, room });
      await page.waitForFunction(() => window.record.n.length >= 4, null, { timeout: STEP });

      // An ack round trip on the resumed session.
      const reply = await page.evaluate(() => client.emitWithAck('echo', 'resumed'));
      assert.deepEqual(reply, { socket: id, user: 'bob', event: 'echo', data: 'resumed' });

      const end = await page.evaluate(() => ({
        state: client.state, id: client.id, user: client.user, reconnectCount: client.reconnectCount,
        expiresAt: client.expiresAt, inRoom: client.inRoom('refresh-room'), record: window.record,
      }));
      assert.deepEqual(end.record.n, [
        { data: 1, room: null }, { data: 2, room: null }, { data: 3, room }, { data: 4, room },
      ]);
      assert.equal(end.state, 'connected');
      assert.equal(end.id, id);
      assert.equal(end.user, 'bob');
      assert.equal(end.reconnectCount, 1);
      assert.equal(end.inRoom, true);
      assert.deepEqual((await (await server.api(`/api/rooms/${room}`)).json()).members, [id]);
      assert.ok(end.expiresAt > first + 500, `the resume's fresh token: ${end.expiresAt}`);
      assert.equal(end.record.reconnecting.length, 1);
      assert.equal(end.record.reconnecting[0].delay, 0, 'after 4003 the client resumes at once');
      assert.ok(end.record.errors.length >= 1);
      for (const e of end.record.errors) {
        assert.equal(e.code, 'refresh', JSON.stringify(end.record.errors));
        assert.match(e.message, /identity service is down/);
      }
      assert.ok(calls.length >= 3, `the resume asked for a fresh token: ${calls.length} calls`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
