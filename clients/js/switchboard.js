/**
 * Switchboard browser client: a dependency-free ES module speaking the
 * Switchboard wire protocol, version 1 (PROTOCOL.md) over WebSocket, or over
 * long-polling where a WebSocket cannot be opened; a dropped link resumes its session.
 *
 * ```js
 * import { connect } from '/switchboard.js';
 * const client = connect('/ws');
 * client.on('chat', (data, meta) => console.log(meta.from, data));
 * await client.join('lobby');
 * client.to('lobby').emit('chat', { text: 'hello' });
 * ```
 *
 * This is the entry module; the parts live in `lib/`, imported by relative paths (so the
 * client loads from the file system and from the server, which serves each at
 * `/lib/<name>.js`): `emitter.js` (`Emitter`, local handlers), `errors.js`
 * (`SwitchboardError`), `websocket-transport.js` and `polling-transport.js`
 * (`WebSocketTransport` and `PollingTransport` move JSON texts for one link),
 * `client.js` (`Client`, the session state: welcome, resume, acks, rooms, queue,
 * heartbeat, reconnect, fallback), `upgrade-probe.js` (its move back to a WebSocket),
 * `token-refresh.js` (its tokens and their refresh), `history.js` (`Positions`, its place in
 * each history room), `options.js` (the options and their
 * defaults), `reconnect.js` (`CloseCode`, the named close codes; which are final; backoff) and `urls.js`.
 *
 * @module switchboard
 */

import { Client } from './lib/client.js';
import { SwitchboardError } from './lib/errors.js';
import { CloseCode } from './lib/reconnect.js';
import { pollingUrl } from './lib/urls.js';

export { Client, CloseCode, SwitchboardError, pollingUrl };

/** @typedef {import('./lib/options.js').ConnectOptions} ConnectOptions */

/**
 * Connects to a Switchboard hub. The client reconnects by itself after a lost link,
 * waiting a random time up to a ceiling that doubles from `reconnectDelay` to
 * `reconnectDelayMax`, and resumes its session (`resume=&last=`); it stops on close codes
 * 1000 (the hub closed it), 1008 (policy), 4000 (kicked) and 4002 (taken over), and after
 * `reconnectAttempts` consecutive failed handshakes, firing `disconnect` with the reason.
 * `options.token` is a string or a function returning a fresh token (or a Promise of one),
 * called for every handshake and refresh: with a function the client refreshes the token
 * before each `expires_at`, and after 4003 (the token expired) it reconnects at once and
 * resumes with a fresh token; a handshake refused 401 stops a fixed token's client at once
 * and a function's after 3 refusals in a row (`disconnect` carries the hub's `error`).
 * A WebSocket that cannot be opened (an error before open, or no open within
 * `connectTimeout`) makes that attempt use long-polling; while on long-polling the client
 * tries a WebSocket again every `upgradeRetry` ms and moves the session over when it opens.
 * @param {string} [url] - `ws://host/ws`, `http://host/ws`, or a path such as `/ws` on the page's origin
 * @param {ConnectOptions} [options]
 * @returns {Client}
 */
export function connect(url, options) {
  return new Client(url, options);
}

export default connect;
