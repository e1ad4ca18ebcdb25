// Unit tests with a fake WebSocket injected through options.WebSocket: the hub's side of
// the wire is scripted here, for what the standalone server cannot be made to do
// (ask the client for an ack, stay silent, send batches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../switchboard.js';
import { waitFor } from '../support/harness.mjs';

/** A scripted WebSocket: every instance lands in `FakeSocket.all`. */
class FakeSocket {
  static all = [];
  static created = [];
  /** Resolves once `n` sockets exist. */
  static count(n, timeout = 2000) {
    if (FakeSocket.all.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no socket #${n} in time`)), timeout);
      FakeSocket.created.push(() => FakeSocket.all.length >= n && (clearTimeout(timer), resolve(), true));
    });
  }
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closedWith = null;
    this.waiters = [];
    FakeSocket.all.push(this);
    FakeSocket.created = FakeSocket.created.filter((check) => !check());
  }
  send(text) {
    this.sent.push(JSON.parse(text));
    for (const w of this.waiters.splice(0)) w();
  }
  close(code) {
    this.closedWith = code ?? 1005;
  }
  // --- the hub's side
  open() {
    this.onopen?.();
  }
  receive(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  welcome(extra = {}) {
    this.open();
    this.receive({ event: '$welcome', data: { id: 'sock-1', session: 'tok', ping_interval_ms: 25000, ping_timeout_ms: 20000, resumed: false, missed: 0, ...extra } });
  }
  drop(code, reason = '') {
    this.onclose?.({ code, reason });
  }
  /** Resolves with the first sent message matching `pred` (now or later). */
  async sentMatching(pred, timeout = 2000) {
    const timer = setTimeout(() => this.waiters.splice(0).forEach((w) => w(true)), timeout);
    try {
      for (;;) {
        const found = this.sent.flat().find(pred);
        if (found) return found;
        const late = await new Promise((r) => this.waiters.push(r));
        if (late) throw new Error(`nothing sent matching ${pred}; sent: ${JSON.stringify(this.sent)}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function fake(options = {}) {
  FakeSocket.all = [];
  FakeSocket.created = [];
  const client = connect('ws://hub.test/ws', { WebSocket: FakeSocket, transports: ['websocket'], reconnectDelay: 5, jitter: false, ...options });
  return { client, ws: () => FakeSocket.all.at(-1) };
}

test('the hub\'s acks are answered from handler return values, promises and throws', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  client.on('sum', (data, meta) => data.a + data.b + (meta.room ? 100 : 0));
  client.on('later', async (data) => ({ echoed: data }));
  client.on('boom', () => { throw new Error('nope'); });
  ws().receive({ event: 'sum', data: { a: 1, b: 2 }, ack: 7 });
  ws().receive({ event: 'sum', data: { a: 1, b: 2 }, ack: 8, room: 'r', from: 'x' });
  ws().receive({ event: 'later', data: 'hi', ack: 9 });
  ws().receive({ event: 'boom', ack: 10 });
  ws().receive({ event: 'unhandled', ack: 11 });
  assert.deepEqual(await ws().sentMatching((m) => m.reply === 7), { reply: 7, data: 3 });
  assert.deepEqual(await ws().sentMatching((m) => m.reply === 8), { reply: 8, data: 103 });
  assert.deepEqual(await ws().sentMatching((m) => m.reply === 9), { reply: 9, data: { echoed: 'hi' } });
  assert.deepEqual(await ws().sentMatching((m) => m.reply === 10), { reply: 10, error: { code: 'internal', message: 'nope' } });
  assert.equal((await ws().sentMatching((m) => m.reply === 11)).error.code, 'no_handler');
});

test('every message after $welcome counts except $pong, batches one by one', (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  assert.equal(client.session.received, 0);
  assert.equal(client.session.token, 'tok');
  ws().receive({ event: 'a' });
  ws().receive({ event: '$pong' });
  ws().receive([{ event: 'b' }, { event: 'c' }, { event: '$pong' }]);
  ws().receive({ reply: 99, data: null });
  ws().receive({ event: '$error', data: { code: 'bad_message', message: 'x' } });
  assert.equal(client.session.received, 5);
  // A resumed welcome keeps the count; a new session starts again from 0.
  ws().receive({ event: '$welcome', data: { id: 'sock-1', session: 'tok', resumed: true, missed: 0 } });
  assert.equal(client.session.received, 5);
  ws().receive({ event: '$welcome', data: { id: 'sock-2', session: 'tok2', resumed: false } });
  assert.equal(client.session.received, 0);
});

test('$ping every ping_interval_ms; silence past interval + timeout abandons the link (no close frame) and resumes', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  const first = ws();
  first.welcome({ ping_interval_ms: 30, ping_timeout_ms: 40 });
  first.receive({ event: 'a' });
  first.receive({ event: 'b' });
  await first.sentMatching((m) => m.event === '$ping');
  const [info] = await waitFor(client, 'disconnect', { timeout: 2000 });
  assert.equal(info.reason, 'ping timeout');
  assert.equal(info.willReconnect, true);
  // A close frame would end the session (PROTOCOL.md 3): the socket is only let go.
  assert.equal(first.closedWith, null);
  assert.equal(first.onmessage, null);
  assert.equal(first.onclose, null);
  await FakeSocket.count(2); // the retry opens a new socket, resuming
  const url = new URL(ws().url);
  assert.equal(url.searchParams.get('resume'), 'tok');
  assert.equal(url.searchParams.get('last'), '2');
  // The hub takes the old socket over with 4002: nobody listens, the client goes on.
  first.drop(4002, 'taken over');
  const back = waitFor(client, 'connect');
  ws().welcome({ resumed: true, missed: 0 });
  assert.deepEqual((await back)[0], { id: 'sock-1', resumed: true, missed: 0, transport: 'websocket' });
  assert.equal(client.state, 'connected');
  assert.equal(first.closedWith, null, 'a resumed session does not release the old socket');
});

test('a resumed session keeps its id and rooms, processes the missed messages once, and counts on', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  const joined = client.join('r1');
  const joinMsg = await ws().sentMatching((m) => m.event === '$join');
  ws().receive({ reply: joinMsg.ack, data: { room: 'r1' } }); // 1
  await joined;
  const seen = [];
  client.on('n', (d) => seen.push(d));
  ws().receive({ event: 'n', data: 1, room: 'r1' }); // 2
  const inFlight = client.emitWithAck('slow', null, { timeout: 5000 }); // its reply comes after the resume
  const slow = await ws().sentMatching((m) => m.event === 'slow');
  const retry = waitFor(client, 'reconnecting');
  ws().drop(1006);
  await retry;
  client.to('r1').emit('queued', 1);
  await FakeSocket.count(2);
  const url = new URL(ws().url);
  assert.equal(url.searchParams.get('resume'), 'tok');
  assert.equal(url.searchParams.get('last'), '2');
  const back = waitFor(client, 'connect');
  ws().welcome({ resumed: true, missed: 2 });
  ws().receive({ event: 'n', data: 2, room: 'r1' }); // 3, missed
  ws().receive({ reply: slow.ack, data: 'late' }); // 4, missed
  ws().receive({ event: 'n', data: 3, room: 'r1' }); // 5, live
  assert.deepEqual((await back)[0], { id: 'sock-1', resumed: true, missed: 2, transport: 'websocket' });
  assert.equal(await inFlight, 'late');
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(client.session.received, 5);
  // No rejoin: only the queued relay went out on the new socket.
  assert.deepEqual(ws().sent.flat().map((m) => m.event), ['queued']);
  assert.deepEqual([...client.rooms], ['r1']);
});

test('a resume from an older count skips the messages already received', (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  const seen = [];
  client.on('n', (d) => seen.push(d));
  for (let i = 1; i <= 3; i++) ws().receive({ event: 'n', data: i });
  // As after a move from long-polling: the link resumed from 1 while 3 had arrived.
  client.transport.resumeLast = 1;
  ws().receive({ event: '$welcome', data: { id: 'sock-1', session: 'tok', resumed: true, missed: 3 } });
  for (let i = 2; i <= 5; i++) ws().receive({ event: 'n', data: i });
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.equal(client.session.received, 5);
});

test('close codes decide: 4000 and 1008 stop, 1001 and 4001 reconnect', async () => {
  for (const [code, again] of [[4000, false], [1008, false], [1001, true], [4001, true], [1006, true]]) {
    const { client, ws } = fake();
    ws().welcome();
    const down = waitFor(client, 'disconnect');
    ws().drop(code, 'why');
    const [info] = await down;
    assert.equal(info.code, code);
    assert.equal(info.willReconnect, again, `code ${code}`);
    assert.equal(client.state, again ? 'reconnecting' : 'closed', `code ${code}`);
    client.close();
  }
});

test('a new session after a reconnect rejoins the rooms before the queued messages', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  const joined = client.join('r1');
  const joinMsg = await ws().sentMatching((m) => m.event === '$join');
  ws().receive({ reply: joinMsg.ack, data: { room: 'r1' } });
  await joined;
  const retry = waitFor(client, 'reconnecting');
  ws().drop(1006);
  await retry;
  client.to('r1').emit('hello', 1); // queued while reconnecting
  await FakeSocket.count(2);
  const connected = waitFor(client, 'connect');
  ws().welcome({ id: 'sock-2' });
  const order = ws().sent.flat().map((m) => m.event);
  assert.deepEqual(order, ['$join', 'hello']);
  const rejoin = ws().sent.flat()[0];
  ws().receive({ reply: rejoin.ack, data: { room: 'r1' } });
  const [info] = await connected; // `connect` waits for the rejoin
  assert.deepEqual(info, { id: 'sock-2', resumed: false, missed: 0, transport: 'websocket' });
});

test('in-flight acks reject on timeout, and when a reconnect gets a new session', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  await assert.rejects(client.emitWithAck('slow', null, { timeout: 20 }), { code: 'timeout' });
  const inFlight = client.emitWithAck('x');
  ws().drop(1006);
  await FakeSocket.count(2);
  ws().welcome({ id: 'sock-2', session: 'tok2', resumed: false });
  await assert.rejects(inFlight, { code: 'disconnected' });
});

test('in-flight acks reject with disconnected when the hub ends the link for good', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome();
  const inFlight = client.emitWithAck('x');
  ws().drop(4000);
  await assert.rejects(inFlight, { code: 'disconnected' });
});

test('batching: a batch not yet sent when the link drops goes out after the rejoins on the next link', async (t) => {
  const { client, ws } = fake({ batching: { maxMessages: 3, maxDelay: 60000 } });
  t.after(() => client.close());
  ws().welcome();
  const joined = client.join('r');
  client.emit('x', 1);
  assert.deepEqual(ws().sent, [], 'two messages wait for a third, or for maxDelay');
  client.emit('x', 2); // the third: the batch is full and goes out
  assert.deepEqual(ws().sent, [[
    { event: '$join', data: { room: 'r' }, ack: 1 }, { event: 'x', data: 1 }, { event: 'x', data: 2 },
  ]]);
  ws().receive({ reply: 1, data: { room: 'r' } });
  await joined;
  assert.equal(client.inRoom('r'), true);
  client.to('r').emit('m', 1);
  client.to('r').emit('m', 2);
  const first = ws();
  first.drop(1006);
  assert.equal(first.sent.length, 1, 'the relays were still waiting');
  await FakeSocket.count(2);
  assert.equal(client.reconnectCount, 0);
  ws().welcome({ id: 'sock-2', session: 'tok-2' }); // a new session: the rooms are rejoined first
  assert.equal(client.reconnectCount, 1);
  assert.deepEqual(ws().sent, [[
    { event: '$join', data: { room: 'r' }, ack: 2 },
    { event: 'm', data: 1, room: 'r' }, { event: 'm', data: 2, room: 'r' },
  ]]);
});

test('presence: an ack\'d $presence, its answer or error; $joined and $left reach handlers with the room', async (t) => {
  const { client, ws } = fake();
  t.after(() => client.close());
  ws().welcome({ user: 'ada' });
  const events = [];
  client.on('$joined', (data, meta) => events.push(['$joined', data, meta.room]));
  client.on('$left', (data, meta) => events.push(['$left', data, meta.room]));

  const answer = client.presence('chat-1');
  const asked = await ws().sentMatching((m) => m.event === '$presence');
  assert.deepEqual(asked, { event: '$presence', data: { room: 'chat-1' }, ack: asked.ack });
  assert.equal(typeof asked.ack, 'number');
  const data = { room: 'chat-1', users: [{ user: 'ada', info: { name: 'Ada' }, sockets: 2 }], anonymous: 1 };
  ws().receive({ reply: asked.ack, data });
  assert.deepEqual(await answer, data);

  const refused = client.presence('nope');
  const again = await ws().sentMatching((m) => m.event === '$presence' && m.data.room === 'nope');
  ws().receive({ reply: again.ack, error: { code: 'forbidden', message: 'no presence here' } });
  await assert.rejects(refused, (err) => {
    assert.equal(err.name, 'SwitchboardError');
    assert.equal(err.code, 'forbidden');
    assert.equal(err.message, 'no presence here');
    return true;
  });

  ws().receive({ event: '$joined', room: 'chat-1', data: { user: 'bob', info: null } });
  ws().receive({ event: '$left', room: 'chat-1', data: { user: 'bob' } });
  assert.deepEqual(events, [
    ['$joined', { user: 'bob', info: null }, 'chat-1'],
    ['$left', { user: 'bob' }, 'chat-1'],
  ]);
  // Hub events without an ack: the client answers nothing.
  assert.equal(ws().sent.flat().filter((m) => m.reply !== undefined).length, 0);

  await assert.rejects(client.presence('slow', { timeout: 20 }), { code: 'timeout' });
});

test('1012 (a clustered node drains): the client reconnects at once and resumes the session', async (t) => {
  // A backoff long enough that only an immediate retry opens the second socket in time.
  const { client, ws } = fake({ reconnectDelay: 60000, reconnectDelayMax: 60000 });
  t.after(() => client.close());
  const first = ws();
  first.welcome();
  first.receive({ event: 'a' });
  const retry = waitFor(client, 'reconnecting');
  first.drop(1012, 'service restart');
  assert.deepEqual((await retry)[0], { attempt: 1, delay: 0 });
  await FakeSocket.count(2, 500);
  const url = new URL(ws().url);
  assert.equal(url.searchParams.get('resume'), 'tok');
  assert.equal(url.searchParams.get('last'), '1');
  const back = waitFor(client, 'connect');
  ws().welcome({ resumed: true, missed: 0 });
  assert.equal((await back)[0].resumed, true);
});
