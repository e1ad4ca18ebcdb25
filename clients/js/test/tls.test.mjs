// Headless Chromium against the real `switchboard` server serving TLS (`--tls-cert`,
// `--tls-key`): the demo page over https:// connects its client over wss://, and a page's
// own WebSocket to wss:// gets `$welcome` and an ack. The certificate is made for each run
// by the Rust test that runs this suite (crates/switchboard-server/tests/js_client.rs,
// which passes its files as TEST_TLS_CERT and TEST_TLS_KEY); Chromium trusts it through
// `--ignore-certificate-errors-spki-list` with the hash of its public key, and only it: a
// browser without the flag refuses the same page.
// Without chromium, playwright-core or the certificate the test is skipped with the
// reason, unless CI=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IN_CI, startServer } from '../support/harness.mjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumPrerequisites } from '../support/chromium.mjs';

const STEP = 20000; // ms for each wait on the page

const CERT = process.env.TEST_TLS_CERT;
const KEY = process.env.TEST_TLS_KEY;

function prerequisites(pre) {
  if (typeof pre === 'string') return pre;
  if (CERT && KEY) return false;
  const why = 'no test certificate (TEST_TLS_CERT and TEST_TLS_KEY): run it through '
    + '`cargo test -p switchboard-server --test js_client`, which makes one';
  if (IN_CI) throw new Error(why);
  console.log(`# skipped: ${why}`);
  return why;
}

const pre = await chromiumPrerequisites();
const skip = prerequisites(pre);

/** base64 of the SHA-256 of the server certificate's SubjectPublicKeyInfo (the first of the chain). */
function spkiHash(pemFile) {
  const cert = new X509Certificate(readFileSync(pemFile));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

describe('the server over TLS in headless Chromium', { skip }, () => {
  let browser;
  let server;

  before(async () => {
    server = await startServer({ args: ['--tls-cert', CERT, '--tls-key', KEY] });
    browser = await pre.chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(CERT)}`],
      headless: true,
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the demo page over https:// connects over wss://', async () => {
    assert.match(server.http, /^https:\/\//);
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(server.http + '/');
    await page
      .locator('#state[data-state="connected"][data-transport="websocket"]')
      .waitFor({ timeout: STEP });
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    const id = await page.evaluate(() => window.switchboardClient.id);
    assert.ok(id, 'the client has its id from $welcome');
    // An ack round trip through the page's client.
    const joined = await page.evaluate(() => window.switchboardClient.join('tls-room'));
    assert.equal(joined.room, 'tls-room', JSON.stringify(joined));
    const members = (await page.evaluate(async () => (await fetch('/api/rooms/tls-room')).json())).members;
    assert.deepEqual(members, [id]);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a WebSocket to wss:// gets $welcome and an ack', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.http + '/');
    const result = await page.evaluate(async (url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      const seen = [];
      const done = (outcome) => { clearTimeout(timer); resolve({ seen, ...outcome }); };
      const timer = setTimeout(() => done({ outcome: 'timeout' }), 15000);
      ws.onerror = () => seen.push('error');
      ws.onclose = (e) => done({ outcome: 'closed', code: e.code });
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        seen.push(m);
        if (m.event === '$welcome') {
          ws.send(JSON.stringify({ event: '$join', data: { room: 'wss-room' }, ack: 1 }));
        } else if (m.reply === 1) {
          done({ outcome: 'reply' });
          ws.close(1000);
        }
      };
    }), server.ws);
    await context.close();
    assert.match(server.ws, /^wss:\/\//);
    assert.equal(result.outcome, 'reply', JSON.stringify(result));
    assert.equal(result.seen[0].event, '$welcome');
    assert.equal(result.seen[1].data.room, 'wss-room', JSON.stringify(result.seen[1]));
  });

  test('a browser without the certificate\'s key hash refuses the page', async () => {
    const untrusting = await pre.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = await (await untrusting.newContext()).newPage();
      await assert.rejects(page.goto(server.http + '/'), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await untrusting.close();
    }
  });
});
