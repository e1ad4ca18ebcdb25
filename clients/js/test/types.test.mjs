// The hand-written declarations (switchboard.d.ts) against the module itself: every export,
// every public member of `Client`, every option and every close code is declared, and
// nothing is declared that the module does not have. `tsc -p types-test` (CI) checks the
// declarations' types; this keeps their names in step with the code. No server needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as entry from '../switchboard.js';
import { Client, CloseCode } from '../switchboard.js';
import { withDefaults } from '../lib/options.js';

const dts = readFileSync(new URL('../switchboard.d.ts', import.meta.url), 'utf8')
  .replace(/\/\*[\s\S]*?\*\//g, '') // comments out
  .replace(/\/\/.*$/gm, '');

/** The body of `export (declare) class|interface NAME … {…}` (no nested braces at depth 1 needed). */
function block(kind, name) {
  const start = dts.search(new RegExp(`export (declare )?${kind} ${name}\\b`));
  assert.ok(start >= 0, `${kind} ${name} is declared`);
  const open = dts.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < dts.length; i++) {
    if (dts[i] === '{') depth++;
    if (dts[i] === '}' && --depth === 0) return dts.slice(open + 1, i);
  }
  throw new Error(`unbalanced ${name}`);
}

/** The member names declared at the top level of a block: `name(`, `name?:`, `readonly name:`, `name<`. */
function members(body) {
  const names = new Set();
  let depth = 0;
  for (const line of body.split('\n')) {
    if (depth === 0) {
      const m = /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*[(:<]/.exec(line);
      if (m) names.add(m[1]);
    }
    for (const ch of line) {
      if (ch === '{') depth++;
      if (ch === '}') depth--;
    }
  }
  return names;
}

test('every export of switchboard.js is declared, and nothing more', () => {
  const declared = new Set(
    [...dts.matchAll(/export declare (?:class|function|const) ([A-Za-z_$][\w$]*)/g)].map((m) => m[1]),
  );
  const runtime = new Set(Object.keys(entry).filter((k) => k !== 'default'));
  assert.deepEqual([...declared].sort(), [...runtime].sort());
  assert.match(dts, /export default connect;/);
  assert.equal(entry.default, entry.connect);
});

test('the public members of Client are declared, and every declared one exists', () => {
  const client = new Client('ws://127.0.0.1:9/ws', {
    // A WebSocket that never opens: nothing leaves this process.
    WebSocket: class { close() {} },
    transports: ['websocket'],
    reconnect: false,
  });
  try {
    const proto = Object.getOwnPropertyNames(Client.prototype)
      .filter((n) => n !== 'constructor' && !n.startsWith('_'));
    const documentedFields = ['url', 'rooms', 'session']; // public instance fields (README)
    const declared = members(block('class', 'Client'));
    declared.delete('constructor');
    assert.deepEqual([...declared].sort(), [...proto, ...documentedFields].sort());
    for (const name of declared) assert.ok(name in client, `client.${name} exists`);
    assert.deepEqual([...members(block('interface', 'SessionInfo'))].sort(), Object.keys(client.session).sort());
  } finally {
    client.close();
  }
});

test('the declared options are the ones the client reads', () => {
  const declared = new Set([
    ...members(block('interface', 'ConnectOptions')),
    ...members(block('interface', 'ReconnectOptions')),
  ]);
  // The options with a default, and those without one (read where used).
  const known = new Set([...Object.keys(withDefaults({})), 'WebSocket', 'fetch', 'token']);
  assert.deepEqual([...declared].sort(), [...known].sort());
  assert.deepEqual([...members(block('interface', 'BatchingOptions'))].sort(), ['maxDelay', 'maxMessages']);
});

test('CloseCode is declared with the same names and values', () => {
  const start = dts.indexOf('export declare const CloseCode');
  const body = dts.slice(dts.indexOf('{', start) + 1, dts.indexOf('};', start));
  const declared = Object.fromEntries([...body.matchAll(/readonly (\w+): (\d+);/g)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(declared, { ...CloseCode });
});
