// Headless Chromium (Debian `chromium`, driven by playwright-core): a page served from a
// second origin (another port) that the server allows with `--allow-origin` talks to the
// hub across origins: a client forced onto long-polling (CORS preflight, then
// Access-Control-Allow-Origin on every answer) and a WebSocket client, in one room, relay
// to each other. A server that does not allow the page's origin refuses its long-polling.
// Without chromium or playwright-core the test is skipped with the reason, unless CI=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';

const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>another origin</title>
<script type="module">import { connect } from '/switchboard.js'; window.connect = connect;</script>`;

/** Serves the page and the client's modules (`/switchboard.js`, `/lib/*.js`) on 127.0.0.1. */
function startPageServer() {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    const file = normalize(join(CLIENT_DIR, path));
    const servable = path === '/switchboard.js' || (path.startsWith('/lib/') && path.endsWith('.js'));
    if (!servable || !file.startsWith(CLIENT_DIR) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const origin = `http://127.0.0.1:${server.address().port}`;
      resolve({ origin, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const pre = await chromiumPrerequisites();
const skip = typeof pre === 'string' ? pre : false;

describe('a page on another allowed origin', { skip }, () => {
  let browser;
  let site;
  let allowing;
  let strict;

  before(async () => {
    browser = await pre.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    site = await startPageServer();
    allowing = await startServer({ args: ['--allow-origin', site.origin] });
    strict = await startServer();
  });
  after(async () => {
    await browser?.close();
    await allowing?.stop();
    await strict?.stop();
    await site?.close();
  });

  test('uses long-polling (CORS) and a WebSocket to the hub, relaying both ways', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(`${site.origin}/`);
    await page.waitForFunction(() => typeof window.connect === 'function');
    const result = await page.evaluate(async (hub) => {
      const once = (client, event) => new Promise((resolve) => client.on(event, (data) => resolve(data)));
      const polling = window.connect(hub, { transports: ['polling'], reconnect: false });
      const ws = window.connect(hub, { transports: ['websocket'], reconnect: false });
      await Promise.all([once(polling, 'connect'), once(ws, 'connect')]);
      await polling.join('cors-room');
      await ws.join('cors-room');
      const toWs = once(ws, 'hello');
      polling.to('cors-room').emit('hello', 'over long-polling');
      const toPolling = once(polling, 'back');
      const fromWs = await toWs;
      ws.to('cors-room').emit('back', 'over a WebSocket');
      const fromPolling = await toPolling;
      const out = {
        pollingTransport: polling.transportName,
        wsTransport: ws.transportName,
        fromWs,
        fromPolling,
        ids: [polling.id, ws.id],
      };
      polling.close();
      ws.close();
      return out;
    }, allowing.ws);
    assert.equal(result.pollingTransport, 'polling');
    assert.equal(result.wsTransport, 'websocket');
    assert.equal(result.fromWs, 'over long-polling');
    assert.equal(result.fromPolling, 'over a WebSocket');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a server that does not allow the origin refuses its long-polling', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.origin}/`);
    const answers = await page.evaluate(async ([allowed, refused]) => {
      const open = async (base) => {
        try {
          const res = await fetch(`${base}/ws/poll`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: '',
          });
          return res.status;
        } catch (err) {
          return err.name; // the browser withheld the answer (TypeError)
        }
      };
      return [await open(allowed), await open(refused)];
    }, [allowing.http, strict.http]);
    assert.deepEqual(answers, [200, 'TypeError']);
    await context.close();
  });
});
