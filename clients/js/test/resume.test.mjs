// Session resume (PROTOCOL.md 5) and the long-polling transport (PROTOCOL.md 6) against the
// real `switchboard` server, with the client behind a TCP proxy (support/proxy.mjs) that
// cuts links the way a network does: no close frame, no HTTP answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../switchboard.js';
import { serverMissing, startServer, waitFor, waitState, within } from '../support/harness.mjs';
import { startProxy } from '../support/proxy.mjs';

const skip = serverMissing() ?? false;
const FAST = { reconnectDelay: 10, reconnectDelayMax: 100, jitter: false };

/** Opens a client and waits for its first `connect`; returns the client and that info. */
async function connected(url, options) {
  const client = connect(url, options);
  const [info] = await waitFor(client, 'connect');
  return { client, info };
}

/** Collects the data of every `event` on `client`. */
function collect(client, event) {
  const seen = [];
  client.on(event, (data, meta) => seen.push({ data, meta }));
  return seen;
}

/** A seeded pseudo-random generator (mulberry32), so a failing run can be repeated. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('resume and long-polling against the server', { skip }, () => {
  let server;
  const clients = [];
  const proxies = [];
  const open = async (url, options) => {
    const c = await connected(url, options);
    clients.push(c.client);
    return c;
  };
  const proxy = async (opts) => {
    const p = await startProxy(server, opts);
    proxies.push(p);
    return p;
  };
  const publish = async (body) => {
    const res = await server.api('/api/publish', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const members = async (room) => (await (await server.api(`/api/rooms/${room}`)).json()).members;

  before(async () => {
    // Short heartbeats, for the test of a link that goes silent.
    server = await startServer({ args: ['--ping-interval', '1s', '--ping-timeout', '1s'] });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const p of proxies) await p.close();
    await server?.stop();
  });

  test('a cut WebSocket resumes: same id, rooms kept, what was published meanwhile arrives once, in order', async () => {
    const px = await proxy();
    const { client } = await open(px.ws, { ...FAST, transports: ['websocket'] });
    await client.join('cut');
    const id = client.id;
    const seen = collect(client, 'news');
    // Listen before publishing: the message can arrive before the API answers.
    const first = waitFor(client, 'news', { filter: (d) => d === 0 });
    await publish({ event: 'news', data: 0, room: 'cut' });
    await first;

    // Cut the link and keep the client out until three messages are published.
    const down = waitFor(client, 'disconnect');
    px.blocked = true;
    px.sever();
    const [info] = await down;
    assert.equal(info.code, 1006);
    assert.equal(info.willReconnect, true);
    for (const n of [1, 2, 3]) await publish({ event: 'news', data: n, room: 'cut' });
    const back = waitFor(client, 'connect');
    px.blocked = false;
    const [again] = await back;
    assert.deepEqual(again, { id, resumed: true, missed: 3, transport: 'websocket' });
    assert.equal(client.id, id);
    assert.equal(client.reconnectCount, 1, 'a resume is a reconnect');
    assert.equal(client.inRoom('cut'), true);
    const last = waitFor(client, 'news', { filter: (d) => d === 4 });
    await publish({ event: 'news', data: 4, room: 'cut' });
    await last;
    assert.deepEqual(seen.map((s) => s.data), [0, 1, 2, 3, 4]);
    assert.deepEqual(seen.map((s) => s.meta.room), ['cut', 'cut', 'cut', 'cut', 'cut']);
    // The rooms were kept by the hub, not rejoined: no $join went out, and the API agrees.
    assert.deepEqual(await members('cut'), [id]);
    assert.deepEqual([...client.rooms], ['cut']);
    assert.equal(client.session.received, 6); // the join's reply and five messages
  });

  test('a link that goes silent is abandoned without a close frame and resumed (the hub takes the old one over)', async () => {
    const px = await proxy();
    const { client, info } = await open(px.ws, { ...FAST, transports: ['websocket'] });
    assert.equal(client.session.pingInterval + client.session.pingTimeout, 2000);
    await client.join('silent');
    const seen = collect(client, 'n');
    // The server's frames stop reaching the client; the client's frames (its $pings, and
    // a close frame, had it sent one) still reach the server.
    px.freeze();
    const dropped = waitFor(client, 'disconnect', { timeout: 10000 });
    const resumed = waitFor(client, 'connect', { timeout: 20000 });
    await publish({ event: 'n', data: 1, room: 'silent' });
    const [down] = await dropped;
    assert.equal(down.reason, 'ping timeout');
    const [back] = await resumed;
    // Had the client sent a close frame, the session would have ended: resumed:false.
    assert.deepEqual(back, { id: info.id, resumed: true, missed: 1, transport: 'websocket' });
    const second = waitFor(client, 'n', { filter: (d) => d === 2 });
    await publish({ event: 'n', data: 2, room: 'silent' });
    await second;
    assert.deepEqual(seen.map((s) => s.data), [1, 2]);
    assert.equal(client.state, 'connected');
  });

  for (const transport of ['websocket', 'polling']) {
    test(`a numbered stream survives links cut at random points (${transport})`, async () => {
      const N = 300;
      const px = await proxy();
      const { client, info } = await open(px.ws, { ...FAST, transports: [transport] });
      assert.equal(info.transport, transport);
      const room = `stream-${transport}`;
      await client.join(room);
      const seen = [];
      client.on('n', (d) => seen.push(d));
      let resumes = 0;
      client.on('connect', (i) => {
        assert.equal(i.resumed, true, 'every reconnect resumes');
        resumes += 1;
      });
      const rnd = random(transport === 'polling' ? 7 : 3);
      const cuts = new Set();
      while (cuts.size < 5) cuts.add(1 + Math.floor(rnd() * (N - 1)));
      const last = waitFor(client, 'n', { filter: (d) => d === N, timeout: 30000 });
      let severed = 0;
      for (let n = 1; n <= N; n++) {
        if (cuts.has(n)) {
          // Cut a live link: two cuts a few messages apart could otherwise fall while the
          // client is still reconnecting from the first, and find nothing to cut.
          await waitState(client, 'connected');
          severed += px.sever() > 0 ? 1 : 0;
        }
        await publish({ event: 'n', data: n, room });
      }
      await last;
      assert.equal(severed, 5);
      assert.ok(resumes >= 1, `resumes: ${resumes}`);
      assert.equal(client.reconnectCount, resumes);
      assert.equal(seen.length, N, `got ${seen.length} messages`);
      assert.deepEqual(seen, Array.from({ length: N }, (_, i) => i + 1));
      assert.equal(client.id, info.id);
      assert.equal(client.transportName, transport);
    });
  }

  test('long-polling alone: acks, relays both ways with a WebSocket client, $error, close with DELETE', async () => {
    let deleted = null;
    const spy = (url, init) => {
      const res = fetch(url, init);
      if (init && init.method === 'DELETE') deleted = res;
      return res;
    };
    const { client: p, info } = await open(server.ws, { transports: ['polling'], fetch: spy });
    assert.equal(info.transport, 'polling');
    assert.equal(p.transportName, 'polling');
    const { client: w } = await open(server.ws, { transports: ['websocket'] });
    await Promise.all([p.join('mix'), w.join('mix')]);
    const gotW = collect(w, 'chat');
    const fifth = waitFor(w, 'chat', { filter: (d) => d === 5 });
    // Sends made together go out in order (one POST at a time, the rest batched).
    for (let i = 1; i <= 5; i++) p.to('mix').emit('chat', i);
    await fifth;
    assert.deepEqual(gotW.map((g) => g.data), [1, 2, 3, 4, 5]);
    assert.deepEqual(gotW[0].meta, { room: 'mix', from: p.id });
    const toP = waitFor(p, 'chat');
    w.to('mix').emit('chat', 'hi');
    assert.deepEqual(await toP, ['hi', { room: 'mix', from: w.id }]);
    await assert.rejects(p.emitWithAck('nobody', 1), { code: 'no_handler' });
    const bad = waitFor(p, 'error', { filter: (e) => e.code === 'bad_message' });
    p.emit('$nope');
    await bad;
    assert.deepEqual((await members('mix')).sort(), [p.id, w.id].sort());
    p.close();
    const res = await within(deleted, 5000, 'the DELETE');
    assert.equal(res.status, 204);
    // DELETE ended the session: it left its room.
    assert.deepEqual(await members('mix'), [w.id]);
  });

  test('a kick over long-polling (410 kicked) stops the client', async () => {
    const { client } = await open(server.ws, { ...FAST, transports: ['polling'] });
    const gone = waitFor(client, 'disconnect');
    const res = await server.api(`/api/sockets/${encodeURIComponent(client.id)}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    const [info] = await gone;
    assert.equal(info.code, 4000);
    assert.equal(info.willReconnect, false);
    assert.equal(client.state, 'closed');
  });

  test('a WebSocket refused at the upgrade falls back to long-polling, chats, and moves back to WebSocket when it can', async () => {
    const px = await proxy({ refuseUpgrades: true });
    const { client: p, info } = await open(px.ws, { ...FAST, upgradeRetry: 200 });
    assert.equal(info.transport, 'polling');
    assert.ok(px.refused >= 1, 'the WebSocket was tried first');
    const { client: w } = await open(server.ws, { transports: ['websocket'] });
    await Promise.all([p.join('fallback'), w.join('fallback')]);
    const toW = waitFor(w, 'chat');
    p.to('fallback').emit('chat', 'from polling');
    assert.deepEqual(await toW, ['from polling', { room: 'fallback', from: p.id }]);
    const toP = waitFor(p, 'chat');
    w.to('fallback').emit('chat', 'from websocket');
    assert.deepEqual(await toP, ['from websocket', { room: 'fallback', from: w.id }]);
    // The upgrade keeps failing while the proxy refuses it; the session stays on polling.
    await waitFor(px, 'refused', { timeout: 5000 }); // a later try
    await waitFor(px, 'refused', { timeout: 5000 }); // and another
    assert.equal(p.transportName, 'polling');
    assert.equal(p.state, 'connected');

    // WebSocket works again: the session moves over, nothing lost or doubled meanwhile.
    const seen = [];
    p.on('n', (d) => seen.push(d));
    const upgraded = waitFor(p, 'connect', { filter: (i) => i.transport === 'websocket', timeout: 10000 });
    px.refuseUpgrades = false;
    const N = 100;
    const last = waitFor(p, 'n', { filter: (d) => d === N, timeout: 20000 });
    for (let n = 1; n <= N; n++) await publish({ event: 'n', data: n, room: 'fallback' });
    const [up] = await upgraded;
    await last;
    assert.equal(up.id, info.id);
    assert.equal(up.resumed, true);
    assert.equal(p.transportName, 'websocket');
    assert.equal(p.reconnectCount, 0, 'an upgrade is not a reconnect');
    assert.deepEqual(seen, Array.from({ length: N }, (_, i) => i + 1));
    const toW2 = waitFor(w, 'chat');
    p.to('fallback').emit('chat', 'now on websocket');
    assert.deepEqual(await toW2, ['now on websocket', { room: 'fallback', from: p.id }]);
    const toP2 = waitFor(p, 'chat');
    w.to('fallback').emit('chat', 'hello again');
    assert.deepEqual(await toP2, ['hello again', { room: 'fallback', from: w.id }]);
    assert.deepEqual((await members('fallback')).sort(), [p.id, w.id].sort());
  });

  test('a WebSocket that never opens falls back after connectTimeout', async () => {
    const px = await proxy({ hangUpgrades: true }); // upgrade requests are never answered
    const { info } = await open(px.ws, { ...FAST, connectTimeout: 500, upgradeRetry: 60000 });
    assert.equal(info.transport, 'polling');
  });
});

describe('transport options', () => {
  test('the long-polling URL derives from the WebSocket URL', async () => {
    const { pollingUrl } = await import('../switchboard.js');
    assert.equal(pollingUrl('ws://h:1/ws'), 'http://h:1/ws/poll');
    assert.equal(pollingUrl('wss://h/hub/?token=t&codec=json&resume=x'), 'https://h/hub/poll?token=t');
  });

  test('a client with no usable transport throws', () => {
    assert.throws(() => connect('ws://h/ws', { transports: [], WebSocket: class {} }), /no usable transport/);
  });
});
