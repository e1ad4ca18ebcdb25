// Headless Chromium (Debian `chromium`, driven by playwright-core) against the demo page
// served by the real `switchboard` server: two pages chat in one room, the server is
// killed and restarted on the same port, both pages reconnect and chat again; and a page
// behind a proxy that refuses WebSocket upgrades (support/proxy.mjs, a real 403 to the
// upgrade request) falls back to long-polling and chats with a page on WebSocket.
// A page also opens WebSockets naming the protocol's subprotocols (PROTOCOL.md section 1).
// Against a server started with --token-hmac-secret and --presence, a page signs in with a
// token minted by `switchboard token` and shows the room's presence: itself, and a second
// user (a Node client) coming, opening a second socket, and going.
// Without chromium or playwright-core the test is skipped with the reason, unless CI=true.
// Set SCREENSHOT_DIR to keep screenshots of both pages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '../switchboard.js';
import { SERVER_BIN, startServer, waitFor } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';
import { startProxy } from '../support/proxy.mjs';

const STEP = 20000; // ms for each wait on the page
const SECRET = 'a test secret that is long enough for HS256';

/** Resolves once `check()` resolves true (tried every 50 ms, for at most STEP ms). */
async function until(check) {
  for (const end = Date.now() + STEP; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (await check()) return;
  }
  throw new Error(`not true within ${STEP} ms: ${check}`);
}

/** A token minted the way the README shows: `switchboard token --sub … --secret …`. */
async function mint(...args) {
  const { stdout } = await promisify(execFile)(SERVER_BIN, ['token', ...args, '--secret', SECRET, '--ttl', '10m']);
  return stdout.trim();
}

const pre = await chromiumPrerequisites();
const skip = typeof pre === 'string' ? pre : false;

describe('the demo page in headless Chromium', { skip }, () => {
  let browser;
  let server;

  before(async () => {
    browser = await pre.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    server = await startServer();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function openAs(name, room, origin = server.http) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(origin + '/');
    await page.locator('#state[data-state="connected"]').waitFor({ timeout: STEP });
    await page.fill('#name', name);
    await page.fill('#room', room);
    await page.click('#join');
    await page.locator('#chat').waitFor({ state: 'visible', timeout: STEP });
    return { page, problems };
  }

  const member = (page, name) => page.locator('#members .member-name', { hasText: name });
  const message = (page, text) => page.locator('#messages .message:not(.mine) .text', { hasText: text });

  async function say(page, text) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  async function shot(page, file) {
    if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, file) });
  }

  test('two pages chat, survive a server restart on the same port, and chat again', async () => {
    const a = await openAs('Ada', 'demo-room');
    const b = await openAs('Bob <b>&amp;</b>', 'demo-room');

    // Both see each other in the member list (the API's ids named by presence events).
    await member(a.page, 'Bob <b>&amp;</b>').waitFor({ timeout: STEP });
    await member(b.page, 'Ada').waitFor({ timeout: STEP });

    // This server keeps no presence: the page says so, quietly.
    await a.page.locator('#presence-off').waitFor({ state: 'visible', timeout: STEP });
    assert.equal(await a.page.locator('#presence .member').count(), 0);
    assert.equal(await a.page.locator('#join-error').isHidden(), true);

    await say(a.page, 'hello from <i>Ada</i>');
    await message(b.page, 'hello from <i>Ada</i>').waitFor({ timeout: STEP });
    // User text is shown as text, never parsed as HTML.
    assert.equal(await b.page.locator('#messages i').count(), 0);
    assert.equal(await a.page.locator('#members b').count(), 0);
    await shot(a.page, 'demo-a.png');
    await shot(b.page, 'demo-b.png');

    // Kill the server (no close frame: a lost link) and bring it back on the same port.
    const oldIds = await Promise.all([a.page, b.page].map((p) => p.evaluate(() => window.switchboardClient.id)));
    const port = server.port;
    await server.stop('SIGKILL');
    for (const p of [a.page, b.page]) {
      await p.locator('#state[data-state="reconnecting"]').waitFor({ timeout: STEP });
    }
    await shot(a.page, 'demo-reconnecting.png');
    server = await startServer({ port });
    for (const p of [a.page, b.page]) {
      await p.locator('#state[data-state="connected"]').waitFor({ timeout: STEP });
    }

    // Rejoined: each page lists the other under its new id (from the API, named by the
    // presence event the other sent after its rejoin), and the API agrees.
    const idA = await a.page.evaluate(() => window.switchboardClient.id);
    const idB = await b.page.evaluate(() => window.switchboardClient.id);
    assert.notEqual(idA, oldIds[0]);
    assert.notEqual(idB, oldIds[1]);
    await a.page.locator(`#members .member[data-id="${idB}"] .member-name`, { hasText: 'Bob' }).waitFor({ timeout: STEP });
    await b.page.locator(`#members .member[data-id="${idA}"] .member-name`, { hasText: 'Ada' }).waitFor({ timeout: STEP });
    const members = (await (await server.api('/api/rooms/demo-room')).json()).members;
    assert.deepEqual(members.sort(), [idA, idB].sort());

    await say(b.page, 'back again');
    await message(a.page, 'back again').waitFor({ timeout: STEP });
    await shot(a.page, 'demo-after-restart.png');

    assert.deepEqual([...a.problems, ...b.problems], []);
  });

  test('signed in with a minted token, the page shows presence: itself, a user coming, a second socket, going', async () => {
    const tokens = await startServer({ args: ['--token-hmac-secret', SECRET, '--presence', 'demo-*'] });
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    const nodeClients = [];
    try {
      const page = await context.newPage();
      const problems = [];
      page.on('pageerror', (err) => problems.push(String(err)));
      await page.goto(tokens.http + '/');
      // No token: the server refuses the anonymous connection, and the page asks for one.
      await page.locator('#state[data-state="closed"]').waitFor({ timeout: STEP });
      await page.locator('#token-note', { hasText: 'asks for a token' }).waitFor({ timeout: STEP });

      // A token that is not one: refused, said so.
      await page.fill('#name', 'Nobody');
      await page.fill('#room', 'demo-presence');
      await page.fill('#token', 'not-a-token');
      await page.click('#join');
      await page.locator('#join-error', { hasText: 'refused the token (unauthorized)' }).waitFor({ timeout: STEP });

      // Alice's token: pasting it suggests her name (the token's info.name); joining connects.
      const alice = await mint('--sub', 'alice', '--info', '{"name":"Alice"}');
      await page.fill('#name', '');
      await page.fill('#token', alice);
      assert.equal(await page.inputValue('#name'), 'Alice');
      await page.click('#join');
      await page.locator('#chat').waitFor({ state: 'visible', timeout: STEP });
      await page.locator('#state[data-state="connected"]').waitFor({ timeout: STEP });
      assert.equal(await page.evaluate(() => window.switchboardClient.user), 'alice');
      await page.locator('#token-note', { hasText: 'Signed in as alice.' }).waitFor({ timeout: STEP });
      assert.equal(await page.locator('#join-error').isHidden(), true);

      const row = (user) => page.locator(`#presence .member[data-user="${user}"]`);
      await row('alice').waitFor({ timeout: STEP });
      assert.equal(await row('alice').locator('.member-name').textContent(), 'Alice');
      assert.equal(await row('alice').locator('.you').count(), 1);
      assert.equal(await row('alice').locator('.sockets').textContent(), '1 socket');
      assert.equal(await page.locator('#presence-off').isHidden(), true);

      // Bob, a Node client with a token of his own, joins: the page shows him come ($joined).
      const bob = await mint('--sub', 'bob', '--info', '{"name":"Bob <b>&amp;</b>"}');
      const open = async () => {
        const c = connect(tokens.ws, { token: bob });
        nodeClients.push(c);
        await waitFor(c, 'connect');
        await c.join('demo-presence');
        return c;
      };
      const bob1 = await open();
      await row('bob').waitFor({ timeout: STEP });
      assert.equal(await row('bob').locator('.member-name').textContent(), 'Bob <b>&amp;</b>');
      assert.equal(await row('bob').locator('.user').textContent(), '@bob');
      assert.equal(await page.locator('#presence b').count(), 0);
      assert.equal(await page.locator('#presence-count').textContent(), '2');

      // Bob's second socket says hello as a page does: the page counts his sockets again.
      const bob2 = await open();
      bob2.to('demo-presence').emit('hello', { name: 'Bob' });
      await row('bob').locator('.sockets', { hasText: '2 sockets' }).waitFor({ timeout: STEP });
      assert.equal(await page.locator('#presence .member').count(), 2);
      await shot(page, 'demo-presence.png');

      // His second socket goes: he is still there, with one socket (counted after a hello).
      bob2.close();
      await until(async () => {
        const users = (await (await tokens.api('/api/rooms/demo-presence/presence')).json()).users;
        return users.find((u) => u.user === 'bob')?.sockets === 1;
      });
      bob1.to('demo-presence').emit('hello', { name: 'Bob' });
      await row('bob').locator('.sockets', { hasText: '1 socket' }).waitFor({ timeout: STEP });

      // His last socket goes: the page shows him leave ($left).
      bob1.close();
      await row('bob').waitFor({ state: 'detached', timeout: STEP });
      assert.equal(await page.locator('#presence-count').textContent(), '1');
      await row('alice').waitFor({ timeout: STEP });
      assert.deepEqual(problems, []);
    } finally {
      for (const c of nodeClients) c.close();
      await context.close();
      await tokens.stop();
    }
  });

  // PROTOCOL.md section 1: a browser may name the codec with the WebSocket subprotocol.
  async function openWithSubprotocols(protocols, binary = false) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.http + '/');
    const result = await page.evaluate(async ({ url, protocols, binary }) => new Promise((resolve) => {
      const ws = new WebSocket(url, protocols);
      ws.binaryType = 'arraybuffer';
      const seen = [];
      const done = (outcome) => { clearTimeout(timer); resolve({ protocol: ws.protocol, seen, ...outcome }); };
      const timer = setTimeout(() => done({ outcome: 'timeout' }), 15000);
      ws.onerror = () => seen.push('error');
      ws.onclose = (e) => done({ outcome: 'closed', code: e.code });
      ws.onmessage = (e) => {
        if (binary) {
          // MessagePack: only the frame type is checked here.
          done({ outcome: 'message', binaryFrame: e.data instanceof ArrayBuffer });
          ws.close(1000);
          return;
        }
        const m = JSON.parse(e.data);
        seen.push(m);
        if (m.event === '$welcome') {
          ws.send(JSON.stringify({ event: '$join', data: { room: 'subprotocol-room' }, ack: 1 }));
        } else if (m.reply === 1) {
          done({ outcome: 'message' });
          ws.close(1000);
        }
      };
    }), { url: server.ws, protocols, binary });
    await context.close();
    return result;
  }

  test('new WebSocket(url, ["switchboard.v1"]) gets that subprotocol and a round trip', async () => {
    const r = await openWithSubprotocols(['switchboard.v1']);
    assert.equal(r.outcome, 'message', JSON.stringify(r));
    assert.equal(r.protocol, 'switchboard.v1');
    assert.equal(r.seen[0].event, '$welcome');
    assert.equal(r.seen[1].reply, 1);
    assert.equal(r.seen[1].data.room, 'subprotocol-room', JSON.stringify(r.seen[1]));

    // The first offered name the hub speaks is selected, and the codec follows it.
    const m = await openWithSubprotocols(['graphql-ws', 'switchboard.v1.msgpack', 'switchboard.v1'], true);
    assert.equal(m.outcome, 'message', JSON.stringify(m));
    assert.equal(m.protocol, 'switchboard.v1.msgpack');
    assert.equal(m.binaryFrame, true);

    // Only unknown names: the hub upgrades without a subprotocol (PROTOCOL.md), and the
    // browser then fails the connection itself (the WebSocket standard requires a
    // subprotocol in the answer when the page asked for some).
    const u = await openWithSubprotocols(['graphql-ws']);
    assert.equal(u.outcome, 'closed', JSON.stringify(u));
    assert.equal(u.code, 1006);
    assert.equal(u.protocol, '');
  });

  test('a page whose WebSocket is refused falls back to long-polling and still chats', async () => {
    // The page is served through a proxy that answers every WebSocket upgrade 403.
    const proxy = await startProxy(server, { refuseUpgrades: true });
    try {
      const p = await openAs('Pat', 'fallback-room', proxy.http);
      const w = await openAs('Wes', 'fallback-room');
      assert.ok(proxy.refused >= 1, 'the page tried WebSocket first');
      await p.page.locator('#state[data-state="connected"][data-transport="polling"]').waitFor({ timeout: STEP });
      assert.equal(await p.page.locator('#state').textContent(), 'connected · polling');
      await w.page.locator('#state[data-state="connected"][data-transport="websocket"]').waitFor({ timeout: STEP });
      assert.equal(await p.page.evaluate(() => window.switchboardClient.transportName), 'polling');
      await shot(p.page, 'demo-polling.png');

      await member(p.page, 'Wes').waitFor({ timeout: STEP });
      await member(w.page, 'Pat').waitFor({ timeout: STEP });
      await say(p.page, 'sent over long-polling');
      await message(w.page, 'sent over long-polling').waitFor({ timeout: STEP });
      await say(w.page, 'received over long-polling');
      await message(p.page, 'received over long-polling').waitFor({ timeout: STEP });
      const ids = await Promise.all([p.page, w.page].map((pg) => pg.evaluate(() => window.switchboardClient.id)));
      const members = (await (await server.api('/api/rooms/fallback-room')).json()).members;
      assert.deepEqual(members.sort(), ids.sort());
      assert.deepEqual([...p.problems, ...w.problems], []);
    } finally {
      await proxy.close();
    }
  });
});
