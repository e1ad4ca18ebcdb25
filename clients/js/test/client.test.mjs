// The browser client against the real `switchboard` server (Node's global WebSocket).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, SwitchboardError } from '../switchboard.js';
import { serverMissing, startServer, waitFor, waitState, within } from '../support/harness.mjs';

const skip = serverMissing() ?? false;

/** A WebSocket class that records every frame the client sends (`frames`). */
function recordingWebSocket() {
  const frames = [];
  class Recording extends WebSocket {
    send(data) {
      frames.push(data);
      super.send(data);
    }
  }
  return { Recording, frames };
}

/** Opens a client and waits for its first `connect`. */
async function connected(url, options) {
  const client = connect(url, options);
  const [info] = await waitFor(client, 'connect');
  return { client, info };
}

describe('client against the server', { skip }, () => {
  let server;
  const clients = [];
  const open = async (options) => {
    const c = await connected(server.ws, options);
    clients.push(c.client);
    return c;
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  test('connects, gets $welcome and an id', async () => {
    const { client, info } = await open();
    assert.equal(client.state, 'connected');
    assert.equal(typeof client.id, 'string');
    assert.ok(client.id.length > 0);
    assert.deepEqual(info, { id: client.id, resumed: false, missed: 0, transport: 'websocket' });
    assert.match(client.session.token, /^[A-Za-z0-9_-]{22,}$/);
    assert.equal(client.session.received, 0);
  });

  test('emitWithAck on $join answers the room, and the API lists the member', async () => {
    const { client } = await open();
    assert.deepEqual(await client.emitWithAck('$join', { room: 'ack-room' }, { timeout: 5000 }), { room: 'ack-room' });
    assert.deepEqual(await client.join('ack-room-2'), { room: 'ack-room-2' });
    assert.deepEqual([...client.rooms].sort(), ['ack-room', 'ack-room-2']);
    const body = await (await server.api('/api/rooms/ack-room-2')).json();
    assert.deepEqual(body.members, [client.id]);
    assert.deepEqual(await client.leave('ack-room-2'), { room: 'ack-room-2' });
    assert.deepEqual([...client.rooms], ['ack-room']);
    assert.ok(client.session.received >= 3, 'replies count as received messages');
  });

  test('an error reply rejects with its code', async () => {
    const { client } = await open();
    await assert.rejects(client.emitWithAck('nobody-handles-this', 1), (err) =>
      err instanceof SwitchboardError && err.code === 'no_handler');
    // A relay to a room the client is not in is refused.
    await assert.rejects(client.to('not-a-member').emitWithAck('x', 1), { code: 'forbidden' });
  });

  test('relays between two clients with room and from; the sender gets no copy', async () => {
    const a = (await open()).client;
    const b = (await open()).client;
    await Promise.all([a.join('relay'), b.join('relay')]);
    const ownCopies = [];
    a.on('chat', (data) => ownCopies.push(data));
    const got = waitFor(b, 'chat');
    assert.equal(a.to('relay').emit('chat', { text: 'hi' }), true);
    const [data, meta] = await got;
    assert.deepEqual(data, { text: 'hi' });
    assert.deepEqual(meta, { room: 'relay', from: a.id });
    // An acked relay answers once the hub accepted it; had the hub sent A a copy,
    // it would have been queued before this reply.
    // Listen first: the hub queues B's copy before A's reply, so B may see it
    // before A's ack resolves.
    const again = waitFor(b, 'chat');
    await a.to('relay').emitWithAck('chat', { text: 'again' });
    await again;
    assert.deepEqual(ownCopies, []);
  });

  test('inRoom follows join and leave', async () => {
    const { client } = await open();
    assert.equal(client.inRoom('in-room'), false);
    const joining = client.join('in-room');
    assert.equal(client.inRoom('in-room'), false, 'not before the hub answered');
    await joining;
    assert.equal(client.inRoom('in-room'), true);
    assert.equal(client.inRoom('elsewhere'), false);
    const leaving = client.leave('in-room');
    assert.equal(client.inRoom('in-room'), false, 'no longer once asked to leave');
    await leaving;
    assert.equal(client.inRoom('in-room'), false);
    assert.deepEqual(await (await server.api('/api/rooms/in-room')).json().then((b) => b.members), []);
  });

  test('batching: messages made together go out as batch frames of at most maxMessages, in order', async () => {
    const b = (await open()).client;
    await b.join('batch');
    const seen = [];
    b.on('n', (data, meta) => seen.push([data, meta.from]));
    const { Recording, frames } = recordingWebSocket();
    const { client: a } = await open({ WebSocket: Recording, batching: { maxMessages: 3, maxDelay: 20 } });
    await a.join('batch'); // alone: one message, one frame (an object)
    assert.deepEqual(frames.map((f) => JSON.parse(f)), [{ event: '$join', data: { room: 'batch' }, ack: 1 }]);
    frames.length = 0;
    const last = waitFor(b, 'n', { filter: (d) => d === 7 });
    for (let n = 1; n <= 6; n++) assert.equal(a.to('batch').emit('n', n), true);
    const acked = a.to('batch').emitWithAck('n', 7); // the seventh waits maxDelay for company
    assert.equal(frames.length, 2, 'two full batches went out at once');
    await acked;
    await last;
    const sent = frames.map((f) => JSON.parse(f));
    assert.deepEqual(sent.map((f) => (Array.isArray(f) ? f.map((m) => m.data) : f.data)), [[1, 2, 3], [4, 5, 6], 7]);
    assert.ok(sent.slice(0, 2).every((f) => f.every((m) => m.room === 'batch')));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7].map((n) => [n, a.id]));
    // The hub's replies, acks the hub asked for, and lifecycle: all as usual.
    assert.equal(await a.emitWithAck('$join', { room: 'batch-2' }).then((r) => r.room), 'batch-2');
    assert.equal(a.inRoom('batch-2'), true);
  });

  test('batching: what waits in a batch goes out before close()', async () => {
    const b = (await open()).client;
    await b.join('batch-close');
    const seen = [];
    b.on('bye', (data) => seen.push(data));
    const { Recording, frames } = recordingWebSocket();
    const a = connect(server.ws, { WebSocket: Recording, batching: { maxMessages: 10, maxDelay: 60000 } });
    clients.push(a);
    // Queued before $welcome: sent right after it, not held for maxDelay.
    await within(a.join('batch-close'), 5000, 'queued join');
    const got = waitFor(b, 'bye', { filter: (d) => d === 2 });
    a.to('batch-close').emit('bye', 1);
    a.to('batch-close').emit('bye', 2);
    assert.equal(frames.length, 1, 'the relays wait in the batch');
    a.close();
    await got;
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(JSON.parse(frames[1]).map((m) => m.data), [1, 2]);
  });

  test('batching options are checked', () => {
    const WS = class { close() {} };
    assert.throws(() => connect(server.ws, { WebSocket: WS, batching: { maxMessages: 0 } }), RangeError);
    assert.throws(() => connect(server.ws, { WebSocket: WS, batching: { maxDelay: -1 } }), RangeError);
  });

  test('a kick through DELETE /api/sockets/{id} closes with 4000 and does not reconnect', async () => {
    const { client } = await open({ reconnectDelay: 10 });
    let reconnecting = 0;
    client.on('reconnecting', () => reconnecting++);
    const gone = waitFor(client, 'disconnect');
    const res = await server.api(`/api/sockets/${encodeURIComponent(client.id)}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    const [info] = await gone;
    assert.equal(info.code, 4000);
    assert.equal(info.willReconnect, false);
    assert.equal(client.state, 'closed');
    assert.equal(reconnecting, 0);
    await assert.rejects(client.emitWithAck('x'), { code: 'closed' });
  });

  test('ten bad messages close with 1008 and the client stops', async () => {
    const { client } = await open({ reconnectDelay: 10 });
    const errors = [];
    client.on('error', (e) => errors.push(e.code));
    const gone = waitFor(client, 'disconnect');
    for (let i = 0; i < 10; i++) client.emit('$not-allowed');
    const [info] = await gone;
    assert.equal(info.code, 1008);
    assert.equal(info.willReconnect, false);
    assert.equal(client.state, 'closed');
    assert.ok(errors.includes('bad_message'), `errors: ${errors}`);
  });

  test('emits queue while connecting, in order, up to maxQueue', async () => {
    const b = (await open()).client;
    await b.join('queue');
    const seen = [];
    b.on('m', (data) => seen.push(data));
    const a = connect(server.ws, { maxQueue: 3 });
    clients.push(a);
    assert.equal(a.state, 'connecting');
    const joined = a.join('queue'); // queued: 1
    assert.equal(a.to('queue').emit('m', 1), true); // 2
    assert.equal(a.to('queue').emit('m', 2), true); // 3
    const full = waitFor(a, 'error', { filter: (e) => e.code === 'queue_full' });
    assert.equal(a.to('queue').emit('m', 3), false); // dropped
    await full;
    await assert.rejects(a.emitWithAck('m', 4), { code: 'queue_full' });
    await within(joined, 5000, 'queued join');
    const fifth = waitFor(b, 'm', { filter: (d) => d === 5 });
    a.to('queue').emit('m', 5);
    await fifth;
    assert.deepEqual(seen, [1, 2, 5]);
  });

  test('a refused $join rejects with forbidden', { skip: false }, async () => {
    const strict = await startServer({ args: ['--rooms', 'ok-*'] });
    try {
      const { client } = await connected(strict.ws);
      try {
        assert.deepEqual(await client.join('ok-1'), { room: 'ok-1' });
        await assert.rejects(client.join('nope'), { code: 'forbidden' });
        assert.deepEqual([...client.rooms], ['ok-1']);
        assert.equal(client.inRoom('ok-1'), true);
        assert.equal(client.inRoom('nope'), false);
      } finally {
        client.close();
      }
    } finally {
      await strict.stop();
    }
  });
});

describe('reconnect against a restarted server', { skip }, () => {
  test('a restart gives a new session; the rooms are rejoined and relays work again', async () => {
    let server = await startServer();
    const port = server.port;
    const opts = { reconnectDelay: 50, reconnectDelayMax: 400 };
    const a = (await connected(server.ws, opts)).client;
    const b = (await connected(server.ws, opts)).client;
    try {
      await Promise.all([a.join('again'), b.join('again')]);
      assert.equal(a.reconnectCount, 0);
      const oldA = a.id;
      const aDown = waitFor(a, 'disconnect');
      const aBack = waitFor(a, 'connect', { timeout: 20000 });
      const bBack = waitFor(b, 'connect', { timeout: 20000 });
      const reconnecting = waitFor(a, 'reconnecting');
      await server.stop('SIGTERM'); // graceful: 1001
      const [down] = await aDown;
      assert.equal(down.code, 1001);
      assert.equal(down.willReconnect, true);
      await reconnecting;
      assert.equal(a.state, 'reconnecting');
      server = await startServer({ port });
      const [[infoA]] = await Promise.all([aBack, bBack]);
      assert.equal(infoA.resumed, false);
      assert.notEqual(a.id, oldA);
      assert.equal(a.state, 'connected');
      // A new session counts as a reconnect; the rooms were rejoined.
      assert.equal(a.reconnectCount, 1);
      assert.equal(b.reconnectCount, 1);
      assert.equal(a.inRoom('again'), true);
      const members = (await (await server.api('/api/rooms/again')).json()).members;
      assert.deepEqual(members.sort(), [a.id, b.id].sort());
      const got = waitFor(a, 'chat');
      b.to('again').emit('chat', 'back');
      const [data, meta] = await got;
      assert.equal(data, 'back');
      assert.deepEqual(meta, { room: 'again', from: b.id });
    } finally {
      a.close();
      b.close();
      await server.stop();
    }
  });

  test('backoff delays double up to the maximum, then the client gives up', async () => {
    const server = await startServer();
    const client = connect(server.ws, {
      reconnectDelay: 20, reconnectDelayMax: 100, jitter: false, reconnectAttempts: 5,
    });
    try {
      await waitFor(client, 'connect');
      const delays = [];
      client.on('reconnecting', ({ attempt, delay }) => delays.push([attempt, delay]));
      const gaveUp = waitFor(client, 'disconnect', { filter: (d) => !d.willReconnect, timeout: 15000 });
      await server.stop('SIGKILL'); // network loss
      const [info] = await gaveUp;
      assert.match(info.reason, /gave up after 5/);
      assert.deepEqual(delays, [[1, 20], [2, 40], [3, 80], [4, 100], [5, 100]]);
      assert.equal(client.state, 'closed');
    } finally {
      client.close();
    }
  });

  test('with jitter, each delay stays under its growing ceiling', async () => {
    // Nothing listens on a port that a stopped server just released.
    const server = await startServer();
    await server.stop();
    const client = connect(server.ws, { reconnectDelay: 10, reconnectDelayMax: 80, reconnectAttempts: 6 });
    const delays = [];
    client.on('reconnecting', ({ delay }) => delays.push(delay));
    const [info] = await waitFor(client, 'disconnect', { timeout: 15000 });
    assert.equal(info.willReconnect, false);
    assert.match(info.reason, /gave up after 6/);
    assert.equal(client.state, 'closed');
    const ceilings = [10, 20, 40, 80, 80, 80];
    assert.equal(delays.length, 6);
    delays.forEach((d, i) => assert.ok(d >= 0 && d <= ceilings[i], `delay ${i}: ${d}`));
  });
});
