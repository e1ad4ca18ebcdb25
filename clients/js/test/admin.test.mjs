// The admin dashboard (/admin, issue 21) in headless Chromium (Debian `chromium`, driven by
// playwright-core) against the real `switchboard` server started with --admin-password:
// login refused then accepted; the overview's numbers and charts move when 100 sockets
// connect and messages are published; room search finds a room; a kick from the UI closes
// the socket with 4000; a publish from the UI reaches a client; logout ends the session; a
// fifth tab of one login says the server refused its live stream, until a tab is closed.
// Screenshots (overview, room page, the overview at phone width) go to a temporary folder,
// or to docs/images/ with UPDATE_SCREENSHOTS=1 (the README shows those).
// Without chromium or playwright-core the test is skipped with the reason, unless CI=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../switchboard.js';
import { SERVER_BIN, startServer, waitFor } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';

const STEP = 20000; // ms for each wait on the page
const PASSWORD = 'a dashboard password for the test';
const SECRET = 'a test secret that is long enough for HS256';
const SOCKETS = 100;
const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1'
  ? resolve(here, '..', '..', '..', 'docs', 'images')
  : mkdtempSync(join(tmpdir(), 'switchboard-admin-'));

/** Resolves once `check()` resolves true (tried every 100 ms, for at most STEP ms). */
async function until(check, what = String(check)) {
  for (const end = Date.now() + STEP; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (await check()) return;
  }
  throw new Error(`not true within ${STEP} ms: ${what}`);
}

async function mint(sub) {
  const { stdout } = await promisify(execFile)(SERVER_BIN, ['token', '--sub', sub, '--secret', SECRET, '--ttl', '1h']);
  return stdout.trim();
}

const pre = await chromiumPrerequisites();
const skip = typeof pre === 'string' ? pre : false;

describe('the admin dashboard in headless Chromium', { skip }, () => {
  let browser;
  let server;
  const clients = [];

  before(async () => {
    browser = await pre.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    server = await startServer({
      args: ['--admin-password', PASSWORD, '--token-hmac-secret', SECRET, '--allow-anonymous', '--presence', 'lobby'],
    });
  });
  after(async () => {
    for (const client of clients) client.close();
    await browser?.close();
    await server?.stop();
  });

  async function open(token) {
    const client = connect(server.ws, { reconnect: false, token });
    clients.push(client);
    await waitFor(client, 'connect', { timeout: STEP });
    return client;
  }

  const text = (page, selector) => page.locator(selector).textContent();
  const count = async (page, selector) => Number((await text(page, selector)).replace(/[^\d.]/g, ''));

  test('login, live overview, rooms, kick, publish and logout', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('dialog', (dialog) => dialog.accept());

    // Login refused, then accepted.
    await page.goto(`${server.http}/admin`);
    await page.locator('#login:not([hidden])').waitFor({ timeout: STEP });
    await page.fill('#password', 'not the password at all');
    await page.click('#login-button');
    await page.locator('#login-error:not([hidden])').waitFor({ timeout: STEP });
    assert.match(await text(page, '#login-error'), /wrong password/i);
    await page.fill('#password', PASSWORD);
    await page.click('#login-button');
    await page.locator('#overview:not([hidden])').waitFor({ timeout: STEP });
    await page.locator('#live-state', { hasText: 'live' }).waitFor({ timeout: STEP });
    assert.equal(await count(page, '#stat-connections'), 0);

    // 100 sockets, in rooms, and traffic: the numbers and the charts move.
    const users = await Promise.all(['ada', 'grace', 'linus'].map(mint));
    for (const token of users) await (await open(token)).join('lobby');
    const anonymous = [];
    for (let i = users.length; i < SOCKETS; i++) {
      const client = await open();
      await client.join(i % 2 ? 'lobby' : `room-${i % 7}`);
      anonymous.push(client);
    }
    const publish = (body) => server.api('/api/publish', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) publish({ event: 'tick', data: { i }, room: 'lobby' }).catch(() => {});
      publish({ event: 'tick', data: 0, room: 'room-3' }).catch(() => {});
    }, 100);
    try {
      await until(async () => (await count(page, '#stat-connections')) >= SOCKETS, 'connections shown');
      await until(async () => Number(await page.locator('#chart-connections').getAttribute('data-max')) >= SOCKETS,
        'the connections chart reaches 100');
      await until(async () => (await count(page, '#stat-deliveries')) > 0, 'deliveries per second shown');
      await until(async () => Number(await page.locator('#chart-messages').getAttribute('data-max')) > 0,
        'the messages chart moves');
      await page.locator('#top-rooms td a', { hasText: 'lobby' }).waitFor({ timeout: STEP });
      // A few more seconds of history, for the picture.
      await until(async () => Number(await page.locator('#chart-messages').getAttribute('data-points')) >= 8,
        'eight samples drawn');
      await page.screenshot({ path: join(SHOTS, 'admin-overview.png') });

      // Room search finds a room; its page lists members with user, transport, address.
      await page.click('#nav a[data-view="rooms"]');
      await page.fill('#room-search', 'LOBB');
      await until(async () => (await page.locator('#rooms-table tbody tr').count()) === 1, 'only the lobby listed');
      await page.locator('#rooms-table td a', { hasText: 'lobby' }).waitFor({ timeout: STEP });
      assert.match(await text(page, '#rooms-count'), /^1 room /);
      await page.click('#rooms-table td a');
      await page.locator('#room-title', { hasText: 'lobby' }).waitFor({ timeout: STEP });
      await page.locator('#room-members td a', { hasText: 'grace' }).waitFor({ timeout: STEP });
      await page.locator('#room-presence li', { hasText: 'ada' }).waitFor({ timeout: STEP });
      assert.ok((await page.locator('#room-members tbody tr').count()) >= 50);
      await page.screenshot({ path: join(SHOTS, 'admin-room.png') });
    } finally {
      clearInterval(traffic);
    }

    // A kick from the UI closes the socket with 4000.
    const victim = anonymous.find((c) => c.rooms.has('lobby'));
    const gone = waitFor(victim, 'disconnect', { timeout: STEP });
    await page.click(`#room-members tr[data-socket="${victim.id}"] .kick`);
    const [info] = await gone;
    assert.equal(info.code, 4000);
    await page.locator(`#room-members tr[data-socket="${victim.id}"]`).waitFor({ state: 'detached', timeout: STEP });

    // A publish from the UI reaches a client; bad JSON is refused in the page first.
    const listener = anonymous.find((c) => c !== victim && c.rooms.has('lobby'));
    await page.click('#nav a[data-view="publish"]');
    await page.selectOption('#publish-kind', 'room');
    await page.fill('#publish-target', 'lobby');
    await page.fill('#publish-event', 'announcement');
    await page.fill('#publish-data', '{"text": oops}');
    await page.locator('#publish-data-error:not([hidden])').waitFor({ timeout: STEP });
    assert.equal(await page.locator('#publish-button').isDisabled(), true);
    await page.fill('#publish-data', '{"text": "maintenance at noon"}');
    assert.equal(await page.locator('#publish-button').isDisabled(), false);
    const heard = waitFor(listener, 'announcement', { timeout: STEP });
    await page.click('#publish-button');
    const [data] = await heard;
    assert.deepEqual(data, { text: 'maintenance at noon' });
    await page.locator('#publish-result', { hasText: 'Published' }).waitFor({ timeout: STEP });

    // The overview at phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('#nav a[data-view="overview"]');
    await page.locator('#overview:not([hidden])').waitFor({ timeout: STEP });
    await page.evaluate(() => { document.getElementById('flash').hidden = true; });
    await page.screenshot({ path: join(SHOTS, 'admin-phone.png'), fullPage: true });

    // Logout ends the session: the login form is back and the API refuses.
    await page.click('#logout');
    await page.locator('#login:not([hidden])').waitFor({ timeout: STEP });
    const status = await page.evaluate(async () => (await fetch('/admin/api/session')).status);
    assert.equal(status, 401);
    await page.reload();
    await page.locator('#login:not([hidden])').waitFor({ timeout: STEP });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a fifth tab of one login is told the server refused its live stream', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const pages = [await context.newPage()];
    await pages[0].goto(`${server.http}/admin`);
    await pages[0].fill('#password', PASSWORD);
    await pages[0].click('#login-button');
    await pages[0].locator('#live-state', { hasText: /^live$/ }).waitFor({ timeout: STEP });
    for (let tab = 2; tab <= 4; tab++) {
      const page = await context.newPage();
      await page.goto(`${server.http}/admin`);
      await page.locator('#live-state', { hasText: /^live$/ }).waitFor({ timeout: STEP });
      pages.push(page);
    }
    const fifth = await context.newPage();
    await fifth.goto(`${server.http}/admin`);
    await fifth.locator('#live-state', { hasText: 'refused' }).waitFor({ timeout: STEP });
    // A tab closed gives its place back.
    await pages.pop().close();
    const again = await context.newPage();
    await until(async () => {
      await again.goto(`${server.http}/admin`);
      return (await again.locator('#live-state', { hasText: /^live$/ })
        .waitFor({ timeout: 2000 }).then(() => true, () => false));
    }, 'a closed tab\'s place given back');
    await context.close();
  });
});
