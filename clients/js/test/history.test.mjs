// Room history (PROTOCOL.md section 11) against the real `switchboard` server started with
// `--history 'feed-*'` and `--resume-window 0`, so that every reconnect lands on a new
// session: the client rejoins its history rooms with `since` and gets what it missed, in
// order and once (`recovered` true), or is told it cannot (`recovered` false). Links are cut
// with the TCP proxy of support/proxy.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../switchboard.js';
import { serverMissing, startServer, waitFor, within } from '../support/harness.mjs';
import { startProxy } from '../support/proxy.mjs';

const skip = serverMissing() ?? false;
const FAST = { reconnectDelay: 10, reconnectDelayMax: 100, jitter: false, transports: ['websocket'] };
const HISTORY = ['--history', 'feed-*', '--resume-window', '0'];

/** 1, 2, …, n. */
const upTo = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('room history recovery against the server', { skip }, () => {
  let roomy; // a history of 1000 messages
  let short; // a history of 2 messages
  let brief; // messages kept 150 ms
  const clients = [];
  const proxies = [];

  /** A client through a new proxy (or straight to `server` without `cut`), connected. */
  const open = async (server, { cut = true, ...options } = {}) => {
    const px = cut ? await startProxy(server) : null;
    if (px) proxies.push(px);
    const client = connect(px ? px.ws : server.ws, { ...FAST, ...options });
    clients.push(client);
    await waitFor(client, 'connect');
    const seen = [];
    client.on('n', (n) => seen.push(n));
    const recoveries = [];
    client.on('recovered', (info) => recoveries.push(info));
    return { client, px, seen, recoveries };
  };
  const publish = async (server, room, n) => {
    const res = await server.api('/api/publish', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'n', data: n, room }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const publishAll = async (server, room, numbers) => {
    for (const n of numbers) await publish(server, room, n);
  };
  /** Publishes `numbers` and waits until the client has seen the last. */
  const delivered = async (server, client, room, numbers) => {
    const last = waitFor(client, 'n', { filter: (n) => n === numbers[numbers.length - 1] });
    await publishAll(server, room, numbers);
    await last;
  };
  const epochOf = async (server, room) =>
    (await (await server.api(`/api/rooms/${room}/history?since=0&limit=1`)).json()).epoch;
  /** Waits until the client's position in `room` is `expected`. */
  const positionReaches = (client, room, expected) => within((async () => {
    while (JSON.stringify(client.roomPosition(room)) !== JSON.stringify(expected)) {
      await new Promise((r) => setTimeout(r, 5));
    }
  })(), 10000, `the position in ${room} to reach ${JSON.stringify(expected)}`);
  /**
   * Cuts the client's link and keeps it out while `away` runs; resolves with the `recovered`
   * info and the `connect` info of the new session.
   */
  const awayWhile = async (client, px, away) => {
    const down = waitFor(client, 'disconnect');
    px.blocked = true;
    px.sever();
    await down;
    await away();
    const recovered = waitFor(client, 'recovered');
    const back = waitFor(client, 'connect');
    px.blocked = false;
    const [[info], [connected]] = await Promise.all([recovered, back]);
    return { info, connected };
  };

  before(async () => {
    roomy = await startServer({ args: [...HISTORY, '--history-size', '1000'] });
    short = await startServer({ args: [...HISTORY, '--history-size', '2'] });
    brief = await startServer({ args: [...HISTORY, '--history-ttl', '150ms'] });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const p of proxies) await p.close();
    await Promise.all([roomy?.stop(), short?.stop(), brief?.stop()]);
  });

  test('a stream cut twice mid-way arrives whole, in order, once', async () => {
    const N = 300;
    const { client, px, seen, recoveries } = await open(roomy);
    const reply = await client.join('feed-stream');
    assert.deepEqual(reply, { room: 'feed-stream', epoch: '', offset: 0 });
    assert.deepEqual(client.roomPosition('feed-stream'), { epoch: '', offset: 0 });
    const last = waitFor(client, 'n', { filter: (n) => n === N, timeout: 30000 });
    // The server publishes all along; the links are cut while it does.
    const publisher = publishAll(roomy, 'feed-stream', upTo(1, N));
    await waitFor(client, 'n', { filter: (n) => n >= 80, timeout: 20000 });
    px.sever();
    await waitFor(client, 'n', { filter: (n) => n >= 180, timeout: 20000 });
    px.sever();
    await publisher;
    await last;
    assert.deepEqual(seen, upTo(1, N));
    assert.deepEqual(recoveries, [
      { room: 'feed-stream', recovered: true },
      { room: 'feed-stream', recovered: true },
    ]);
    assert.equal(client.reconnectCount, 2);
    await delivered(roomy, client, 'feed-stream', [N + 1]);
    assert.deepEqual(seen, upTo(1, N + 1), 'nothing twice');
    const epoch = await epochOf(roomy, 'feed-stream');
    assert.deepEqual(client.roomPosition('feed-stream'), { epoch, offset: N + 1 });
  });

  test('a recovery on a new session leaves out what this client relayed before', async () => {
    const room = 'feed-own';
    const { client, px, seen } = await open(roomy);
    const other = (await open(roomy, { cut: false })).client;
    await client.join(room);
    await other.join(room);
    const mine = [];
    client.on('chat', (text) => mine.push(text));
    const theirs = [];
    other.on('chat', (text) => theirs.push(text));
    await delivered(roomy, client, room, [1]); // offset 1
    // Kept at offset 2 with this session's id as `from`: the other member gets it, this
    // client does not (a relay is not sent back to its sender), so its position stays at 1.
    const relayed = waitFor(other, 'chat');
    await client.to(room).emitWithAck('chat', 'from me');
    await relayed;
    const { info, connected } = await awayWhile(client, px, async () => {
      await publish(roomy, room, 2); // offset 3
      await other.to(room).emitWithAck('chat', 'from the other'); // offset 4
    });
    // The new session recovers from offset 1: 2 to 4, less its own relay.
    assert.deepEqual([info.recovered, connected.resumed], [true, false]);
    await delivered(roomy, client, room, [3]); // offset 5
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(mine, ['from the other'], 'its own relay is not handed back to it');
    assert.deepEqual(theirs, ['from me']);
    const epoch = await epochOf(roomy, room);
    assert.deepEqual(client.roomPosition(room), { epoch, offset: 5 });
  });

  test('a room joined before its history began learns its epoch, and recovers past the history\'s start', async () => {
    const { client, px, seen } = await open(short);
    await client.join('feed-late');
    await client.join('plain');
    assert.equal(client.roomPosition('plain'), null, 'no history there');
    await delivered(short, client, 'feed-late', upTo(1, 5));
    const epoch = await epochOf(short, 'feed-late');
    // The client asked the room's epoch at the first message.
    await positionReaches(client, 'feed-late', { epoch, offset: 5 });
    // Two missed, two kept: only the client's own offset recovers (not the epoch's start).
    const { info, connected } = await awayWhile(client, px, () => publishAll(short, 'feed-late', [6, 7]));
    assert.deepEqual(info, { room: 'feed-late', recovered: true });
    assert.equal(connected.resumed, false);
    await delivered(short, client, 'feed-late', [8]);
    assert.deepEqual(seen, upTo(1, 8));
    assert.deepEqual([...client.rooms].sort(), ['feed-late', 'plain']);
  });

  test('too short a history: recovered is false and the client goes on from the room\'s latest', async () => {
    const { client, px, seen } = await open(short);
    await client.join('feed-lost');
    await delivered(short, client, 'feed-lost', [1, 2, 3]);
    const epoch = await epochOf(short, 'feed-lost');
    await positionReaches(client, 'feed-lost', { epoch, offset: 3 });
    // Five missed, two kept: the history no longer reaches back.
    const { info } = await awayWhile(client, px, () => publishAll(short, 'feed-lost', upTo(4, 8)));
    assert.deepEqual(info, { room: 'feed-lost', recovered: false });
    assert.deepEqual(client.roomPosition('feed-lost'), { epoch, offset: 8 });
    assert.equal(client.inRoom('feed-lost'), true);
    await delivered(short, client, 'feed-lost', [9, 10]);
    assert.deepEqual(seen, [1, 2, 3, 9, 10], 'nothing of 4..8');
  });

  test('a history that starts again while connected loses nothing', async () => {
    const { client, seen } = await open(brief, { cut: false });
    await client.join('feed-ttl');
    await delivered(brief, client, 'feed-ttl', [1, 2, 3]);
    const first = await epochOf(brief, 'feed-ttl');
    await positionReaches(client, 'feed-ttl', { epoch: first, offset: 3 });
    // Every message expires: the next starts a new epoch at offset 1.
    await new Promise((r) => setTimeout(r, 600));
    await delivered(brief, client, 'feed-ttl', [4, 5, 6]);
    assert.deepEqual(seen, upTo(1, 6), 'offsets going back are a new epoch, not duplicates');
    const second = await epochOf(brief, 'feed-ttl');
    assert.notEqual(second, first);
    await positionReaches(client, 'feed-ttl', { epoch: second, offset: 3 });
  });

  for (const transport of ['websocket', 'polling']) {
    test(`join with since recovers from a position the application kept, a page load (${transport})`, async () => {
      const room = `feed-kept-${transport}`;
      const options = { cut: false, transports: [transport] };
      const a = await open(roomy, options);
      await a.client.join(room);
      await delivered(roomy, a.client, room, upTo(1, 5));
      const epoch = await epochOf(roomy, room);
      await positionReaches(a.client, room, { epoch, offset: 5 });
      const kept = a.client.roomPosition(room);
      a.client.close();
      await publishAll(roomy, room, [6, 7, 8]);

      const b = await open(roomy, options);
      const reply = await b.client.join(room, { since: kept });
      assert.deepEqual(reply, { room, epoch, offset: 8, recovered: true });
      await delivered(roomy, b.client, room, [9]);
      assert.deepEqual(b.seen, [6, 7, 8, 9]);
      assert.deepEqual(b.recoveries, [{ room, recovered: true }]);

      // A position whose epoch was not known (joined before the history began): the whole
      // epoch is replayed and what had been received is dropped.
      const c = await open(roomy, options);
      assert.equal((await c.client.join(room, { since: { epoch: '', offset: 7 } })).recovered, true);
      await delivered(roomy, c.client, room, [10]);
      assert.deepEqual(c.seen, [8, 9, 10]);

      // Another epoch: not recovered, joined all the same, from the room's latest.
      const d = await open(roomy, options);
      const gone = await d.client.join(room, { since: { epoch: 'gone', offset: 3 } });
      assert.equal(gone.recovered, false);
      assert.deepEqual(d.client.roomPosition(room), { epoch, offset: 10 });
      await delivered(roomy, d.client, room, [11]);
      assert.deepEqual(d.seen, [11]);
      assert.deepEqual(d.recoveries, [{ room, recovered: false }]);
    });
  }
});
