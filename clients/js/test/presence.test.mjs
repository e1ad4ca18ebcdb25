// Presence (PROTOCOL.md section 10) against the real `switchboard` server started with
// `--token-hmac-secret`, `--allow-anonymous` and `--presence 'chat-*'`: `client.presence(room)`
// lists the users with their token's `info` and socket counts (and the anonymous sockets),
// as `GET /api/rooms/{room}/presence` does; `$joined` comes when a user's first socket
// joins, `$left` when its last one goes; non-members and rooms without presence get
// `forbidden`. Tokens are HS256 JSON Web Tokens signed here with node:crypto.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect, SwitchboardError } from '../switchboard.js';
import { serverMissing, startServer, waitFor } from '../support/harness.mjs';

const skip = serverMissing() ?? false;
const SECRET = 'a test secret that is long enough for HS256';
const FAST = { reconnectDelay: 10, reconnectDelayMax: 100, jitter: false };

/** An HS256 token of `sub` valid for 10 minutes, with `info` when given. */
function token(sub, info) {
  const claims = { sub, exp: Math.floor(Date.now() / 1000) + 600 };
  if (info !== undefined) claims.info = info;
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

/** The presence answer with its users in a fixed order (the protocol names none). */
const sorted = (p) => ({ ...p, users: [...p.users].sort((a, b) => a.user.localeCompare(b.user)) });

/** Every `$joined` and `$left` on `client`: `[event, user, room]`, with `$joined`'s info. */
function presenceLog(client) {
  const log = [];
  client.on('$joined', (data, meta) => log.push(['$joined', data.user, meta.room, data.info]));
  client.on('$left', (data, meta) => log.push(['$left', data.user, meta.room]));
  return log;
}

describe('presence against the server', { skip }, () => {
  let server;
  const clients = [];

  /** A connected client: of user `sub` (with `info`), or anonymous when `sub` is null. */
  async function open(sub, info) {
    const client = connect(server.ws, { ...FAST, ...(sub ? { token: token(sub, info) } : {}) });
    clients.push(client);
    await waitFor(client, 'connect');
    assert.equal(client.user, sub);
    return client;
  }

  before(async () => {
    server = await startServer({
      args: ['--token-hmac-secret', SECRET, '--allow-anonymous', '--presence', 'chat-*'],
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  test('presence lists each user with its info and socket count, and the anonymous sockets', async () => {
    const ada = await open('ada', { name: 'Ada' });
    const ada2 = await open('ada', { name: 'Ada' });
    const bob = await open('bob');
    const anon = await open(null);
    for (const c of [ada, ada2, bob, anon]) await c.join('chat-list');

    const expected = {
      room: 'chat-list',
      users: [
        { user: 'ada', info: { name: 'Ada' }, sockets: 2 },
        { user: 'bob', info: null, sockets: 1 },
      ],
      anonymous: 1,
    };
    assert.deepEqual(sorted(await ada.presence('chat-list')), expected);
    assert.deepEqual(sorted(await anon.presence('chat-list', { timeout: 5000 })), expected);
    const res = await server.api('/api/rooms/chat-list/presence');
    assert.equal(res.status, 200);
    assert.deepEqual(sorted(await res.json()), expected);

    await ada2.leave('chat-list');
    await anon.leave('chat-list');
    assert.deepEqual(sorted(await bob.presence('chat-list')), {
      room: 'chat-list',
      users: [
        { user: 'ada', info: { name: 'Ada' }, sockets: 1 },
        { user: 'bob', info: null, sockets: 1 },
      ],
      anonymous: 0,
    });
    for (const c of [ada, ada2, bob, anon]) c.close();
  });

  test('$joined on a user\'s first socket only, $left when its last socket goes', async () => {
    const ada = await open('ada', { name: 'Ada' });
    const seen = presenceLog(ada);
    const own = waitFor(ada, '$joined', { filter: (d) => d.user === 'ada' });
    await ada.join('chat-live');
    // The joining socket gets its own user's $joined too, after its $join reply.
    const [mine, mineMeta] = await own;
    assert.deepEqual(mine, { user: 'ada', info: { name: 'Ada' } });
    assert.equal(mineMeta.room, 'chat-live');

    // Bob's first socket: Ada sees him come, with the info of his token.
    const bob1 = await open('bob', { name: 'Bob', color: 'teal' });
    const bobCame = waitFor(ada, '$joined', { filter: (d) => d.user === 'bob' });
    await bob1.join('chat-live');
    const [came, cameMeta] = await bobCame;
    assert.deepEqual(came, { user: 'bob', info: { name: 'Bob', color: 'teal' } });
    assert.equal(cameMeta.room, 'chat-live');

    // Bob's second socket: no second $joined. Ada's $presence is answered after anything
    // the hub sent her while it handled that join, so its answer is the barrier.
    const bob2 = await open('bob', { name: 'Bob', color: 'teal' });
    await bob2.join('chat-live');
    const both = sorted(await ada.presence('chat-live'));
    assert.deepEqual(both.users.map((u) => [u.user, u.sockets]), [['ada', 1], ['bob', 2]]);

    // One of Bob's two sockets leaves, the other closes: $left only for the last.
    await bob2.leave('chat-live');
    const one = sorted(await ada.presence('chat-live'));
    assert.deepEqual(one.users.map((u) => [u.user, u.sockets]), [['ada', 1], ['bob', 1]]);
    assert.deepEqual(seen, [
      ['$joined', 'ada', 'chat-live', { name: 'Ada' }],
      ['$joined', 'bob', 'chat-live', { name: 'Bob', color: 'teal' }],
    ]);
    const bobWent = waitFor(ada, '$left', { filter: (d) => d.user === 'bob' });
    bob1.close();
    const [went, wentMeta] = await bobWent;
    assert.deepEqual(went, { user: 'bob' });
    assert.equal(wentMeta.room, 'chat-live');
    assert.deepEqual((await ada.presence('chat-live')).users.map((u) => u.user), ['ada']);

    // A user whose only socket leaves the room (the socket stays connected) has left it.
    const cy = await open('cy');
    const cyCame = waitFor(ada, '$joined', { filter: (d) => d.user === 'cy' });
    await cy.join('chat-live');
    assert.deepEqual((await cyCame)[0], { user: 'cy', info: null });
    const cyWent = waitFor(ada, '$left', { filter: (d) => d.user === 'cy' });
    await cy.leave('chat-live');
    await cyWent;
    assert.equal(cy.state, 'connected');
    assert.deepEqual(seen.map(([event, user]) => `${event} ${user}`),
      ['$joined ada', '$joined bob', '$left bob', '$joined cy', '$left cy']);
    for (const c of [ada, bob2, cy]) c.close();
  });

  test('non-members and rooms without presence get forbidden; $presence needs an ack', async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    // Not a member of a room with presence.
    await bob.join('chat-closed');
    await assert.rejects(ada.presence('chat-closed'), (err) => {
      assert.ok(err instanceof SwitchboardError);
      assert.equal(err.code, 'forbidden');
      return true;
    });
    // A member of a room without presence: forbidden, and no $joined / $left there.
    const seen = presenceLog(ada);
    await ada.join('other-room');
    await bob.join('other-room');
    await assert.rejects(ada.presence('other-room'), { code: 'forbidden' });
    await bob.leave('other-room');
    await assert.rejects(bob.presence('other-room'), { code: 'forbidden' });
    await assert.rejects(ada.presence('other-room'), { code: 'forbidden' });
    assert.deepEqual(seen, []);
    // $presence without an ack: $error bad_message, and the link stays up.
    const bad = waitFor(ada, 'error', { filter: (e) => e.code === 'bad_message' });
    ada.emit('$presence', { room: 'chat-closed' });
    await bad;
    assert.equal(ada.state, 'connected');
    await ada.join('chat-closed');
    assert.deepEqual((await ada.presence('chat-closed')).users.map((u) => u.user).sort(), ['ada', 'bob']);
    ada.close();
    bob.close();
  });
});
