// Headless Chromium (Debian `chromium`, driven by playwright-core) against the demo page
// served by the real `switchboard` server: two pages chat in one room, the server is
// killed and restarted on the same port, both pages reconnect and chat again; and a page
// behind a proxy that refuses WebSocket upgrades (support/proxy.mjs, a real 403 to the
// upgrade request) falls back to long-polling and chats with a page on WebSocket.
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
