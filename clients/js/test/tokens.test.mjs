// Tokens (PROTOCOL.md section 10) against the real `switchboard` server started with
// `--token-hmac-secret`: a token function for every handshake, refresh before expiry, a
// resume with a fresh token after 4003 (long-polling: 401 token_expired) that loses
// nothing, and the refusals that stop the client. Tokens are HS256 JSON Web Tokens signed
// here with node:crypto.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect, CloseCode } from '../switchboard.js';
import { serverMissing, startServer, waitFor, waitState, within } from '../support/harness.mjs';
import { refreshDelay, refreshRetryDelay } from '../lib/reconnect.js';

const skip = serverMissing() ?? false;
const SECRET = 'a test secret that is long enough for HS256';
const FAST = { reconnectDelay: 10, reconnectDelayMax: 100, jitter: false };

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An HS256 token carrying `claims`, signed with `secret`. */
function sign(claims, secret = SECRET) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** A token of `sub` valid for `ttl` seconds. */
const token = (sub, ttl) => sign({ sub, exp: now() + ttl });

/** A token function handing out fresh tokens of `ada` valid for `ttl` s; `calls()` counts. */
function freshTokens(ttl) {
  let calls = 0;
  const fn = async () => {
    calls += 1;
    return token('ada', ttl);
  };
  return { fn, calls: () => calls };
}

/**
 * A token function whose refreshes all fail: its first call (the connect) gets a token of
 * `ada` valid for 3 s; later calls before that token's expiry (the refreshes) get a token
 * of another user, which the hub refuses for a refresh; calls from the expiry on (the
 * resume) wait 1 s, so that the link stays down a while, and get a fresh token of `ada`.
 */
function failingRefreshes() {
  let calls = 0;
  const firstExpiry = now() + 3;
  const fn = async () => {
    calls += 1;
    if (calls === 1) return sign({ sub: 'ada', exp: firstExpiry });
    if (now() < firstExpiry) return token('mallory', 600);
    await sleep(1000);
    return token('ada', 600);
  };
  return { fn, calls: () => calls, firstExpiry };
}

/** Every `event` on `client`, in order. */
function collect(client, event) {
  const seen = [];
  client.on(event, (...args) => seen.push(args[0]));
  return seen;
}

test('the refresh schedule: before expiry, never in the past, retries within what is left', () => {
  assert.equal(refreshDelay(3600_000), 2880_000); // 80 % of an hour
  assert.equal(refreshDelay(100_000), 70_000); // 30 s before
  assert.equal(refreshDelay(3000), 1500); // half of a short lifetime
  assert.equal(refreshDelay(0), 1000); // expired by our clock: no loop
  assert.equal(refreshDelay(-5000), 1000);
  assert.deepEqual([1, 2, 3, 4].map((n) => refreshRetryDelay(n, 60_000)), [1000, 2000, 4000, 8000]);
  assert.equal(refreshRetryDelay(1, 900), 300);
});

describe('tokens against the server', { skip }, () => {
  let server;
  const clients = [];
  const open = (options) => {
    const client = connect(server.ws, { ...FAST, ...options });
    clients.push(client);
    return client;
  };
  const publish = async (body) => {
    const res = await server.api('/api/publish', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    server = await startServer({ args: ['--token-hmac-secret', SECRET] });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  test('a token function gives the token of each handshake; user and expiresAt come from $welcome', async () => {
    const tokens = freshTokens(600);
    const client = open({ token: tokens.fn });
    const [info] = await waitFor(client, 'connect');
    assert.equal(info.resumed, false);
    assert.equal(client.user, 'ada');
    assert.ok(client.expiresAt >= now() + 590, String(client.expiresAt));
    assert.equal(tokens.calls(), 1);
    assert.deepEqual(await client.emitWithAck('$join', { room: 'tok-a' }), { room: 'tok-a' });
    client.close();
  });

  test('a short-lived token is refreshed: the link stays open past its expiry, no reconnect', async () => {
    const tokens = freshTokens(3);
    const client = open({ token: tokens.fn, transports: ['websocket'] });
    await waitFor(client, 'connect');
    const first = client.expiresAt;
    const id = client.id;
    const troubles = [collect(client, 'disconnect'), collect(client, 'error')];
    await sleep(4500);
    assert.ok(now() > first, 'past the first expiry');
    assert.equal(client.state, 'connected');
    assert.equal(client.reconnectCount, 0);
    assert.equal(client.id, id);
    assert.ok(client.expiresAt > first, `${client.expiresAt} > ${first}`);
    assert.ok(tokens.calls() >= 3, `refreshed twice or more: ${tokens.calls()}`);
    assert.deepEqual(troubles.flat(), []);
    assert.deepEqual(await client.join('tok-b'), { room: 'tok-b' });
    client.close();
  });

  /**
   * A client whose refreshes fail: the hub ends its link when the token expires (4003, or
   * on long-polling 401 token_expired), and the client resumes at once with a fresh token;
   * what was published meanwhile arrives once, in order.
   */
  async function failedRefreshResumes(transports, room) {
    const tokens = failingRefreshes();
    const client = open({ token: tokens.fn, transports });
    await waitFor(client, 'connect');
    const id = client.id;
    await client.join(room);
    const seen = collect(client, 'n');
    const first = waitFor(client, 'n', { filter: (n) => n === 1 });
    await publish({ event: 'n', data: 1, room });
    await first;

    const [failed] = await waitFor(client, 'error', { filter: (e) => e.code === 'refresh' });
    assert.match(failed.message, /unauthorized/);
    const [gone] = await waitFor(client, 'disconnect', { timeout: 8000 });
    assert.equal(gone.code, CloseCode.TOKEN_EXPIRED);
    assert.equal(gone.willReconnect, true);
    assert.ok(now() >= tokens.firstExpiry);
    // The session waits while the token function holds the resume up (1 s), and keeps what is
    // published meanwhile.
    const resumed = waitFor(client, 'connect');
    for (const n of [2, 3, 4]) await publish({ event: 'n', data: n, room });
    const [info] = await resumed;
    assert.equal(info.resumed, true);
    assert.equal(info.transport, transports[0]);
    assert.equal(client.id, id);
    const last = waitFor(client, 'n', { filter: (n) => n === 5 });
    await publish({ event: 'n', data: 5, room });
    await last;
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(client.reconnectCount, 1);
    assert.ok(client.expiresAt > tokens.firstExpiry + 500);
    assert.equal(client.user, 'ada');
    client.close();
  }

  test('a failed refresh ends in 4003; the client resumes with a fresh token and loses nothing', async () => {
    await failedRefreshResumes(['websocket'], 'tok-ws');
  });

  test('long-polling: 401 token_expired, then a resume with a fresh token that loses nothing', async () => {
    await failedRefreshResumes(['polling'], 'tok-poll');
  });

  test('a fixed token that expires: 4003, then the resume is refused and the client stops', async () => {
    const client = open({ token: token('ada', 2) });
    await waitFor(client, 'connect');
    assert.equal(client.user, 'ada');
    const disconnects = collect(client, 'disconnect');
    await waitState(client, 'closed', 8000);
    assert.equal(disconnects[0].code, CloseCode.TOKEN_EXPIRED);
    assert.equal(disconnects[0].willReconnect, true);
    const last = disconnects.at(-1);
    assert.equal(last.willReconnect, false);
    assert.equal(last.error.code, 'token_expired');
    assert.equal(client.reconnectCount, 0);
  });

  test('a bad fixed token is refused 401 once: a clear error, no reconnect loop', async () => {
    for (const transports of [['websocket', 'polling'], ['polling']]) {
      const client = open({ token: 'not a token', transports });
      const errors = collect(client, 'error');
      const reconnecting = collect(client, 'reconnecting');
      const [info] = await waitFor(client, 'disconnect');
      assert.equal(info.willReconnect, false);
      assert.equal(info.error.code, 'unauthorized');
      assert.match(info.reason, /401 unauthorized/);
      assert.equal(client.state, 'closed');
      assert.ok(errors.some((e) => e.code === 'unauthorized'), JSON.stringify(errors));
      assert.deepEqual(reconnecting, []);
      await assert.rejects(client.emitWithAck('x', 1), { code: 'closed' });
    }
  });

  test('a token function refused 401 gets three tries; a failing one is retried until it works', async () => {
    let calls = 0;
    const client = open({
      token: () => {
        calls += 1;
        return sign({ sub: 'ada', exp: now() - 60 });
      },
      transports: ['polling'],
    });
    const [info] = await waitFor(client, 'disconnect');
    assert.equal(info.error.code, 'token_expired');
    assert.equal(calls, 3);

    let tries = 0;
    const flaky = open({
      token: async () => {
        tries += 1;
        if (tries < 3) throw new Error('the identity service is down');
        return token('ada', 600);
      },
    });
    const [failed] = await waitFor(flaky, 'error', { filter: (e) => e.code === 'token' });
    assert.match(failed.message, /identity service/);
    await within(waitFor(flaky, 'connect'), 10000, 'connect');
    assert.equal(tries, 3);
    assert.equal(flaky.user, 'ada');
    flaky.close();
  });
});
