// Headless Chromium (Debian `chromium`, driven by playwright-core) against the demo page
// served by the real `switchboard` server: two pages chat in one room, the server is
// killed and restarted on the same port, both pages reconnect and chat again; and a page
// behind a proxy that refuses WebSocket upgrades (support/proxy.mjs, a real 403 to the
// upgrade request) falls back to long-polling and chats with a page on WebSocket.
// A page also opens WebSockets naming the protocol's subprotocols (PROTOCOL.md section 1).
// Without chromium or playwright-core the test is skipped with the reason, unless CI=true.
// Set SCREENSHOT_DIR to keep screenshots of both pages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';
import { startProxy } from '../support/proxy.mjs';

const STEP = 20000; // ms for each wait on the page


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
