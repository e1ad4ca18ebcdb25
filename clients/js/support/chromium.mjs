// Headless Chromium for the browser tests: where it is, how it is started, and whether
// this machine can run it (Debian `chromium`, driven by playwright-core).
import { existsSync } from 'node:fs';
import { IN_CI, serverMissing } from './harness.mjs';

/** The browser binary (override with CHROMIUM). */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Headless, sandbox-free, and quiet on the network. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];

/**
 * What a browser test needs: `{ chromium }` (playwright-core's launcher), or the reason it
 * cannot run (a string; the test is skipped with it). Under CI=true a missing tool throws.
 */
export async function chromiumPrerequisites() {
  const missing = serverMissing();
  if (missing) return missing;
  let why = null;
  let chromium = null;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    why = 'playwright-core is not installed (run `npm ci` in clients/js)';
  }
  if (!why && !existsSync(CHROMIUM)) why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
  if (why && IN_CI) throw new Error(why);
  if (why) console.log(`# skipped: ${why}`);
  return why ? why : { chromium };
}
