/**
 * The options of `connect` and their defaults.
 *
 * @module switchboard/lib/options
 */

/**
 * @typedef {object} ConnectOptions
 * @property {typeof WebSocket} [WebSocket] - WebSocket class to use (default: the global one).
 * @property {typeof fetch} [fetch] - `fetch` for long-polling (default: the global one).
 * @property {string[]} [transports=['websocket','polling']] - transports to use, the first tried first.
 * @property {number} [upgradeRetry=30000] - ms between tries to move a long-polling session to WebSocket.
 * @property {string|(() => string|Promise<string>)} [token] - sent as `token=` on every
 *   handshake (the hub checks it, PROTOCOL.md section 10, and hands it to the authentication
 *   hook): a fixed string, or a function returning a fresh token (or a Promise of one), called
 *   for every handshake (the first connect, every reconnect and resume, the move from
 *   long-polling to a WebSocket) and every refresh. With a function, the client refreshes the
 *   token before each `expires_at` by itself and retries a handshake refused 401 with a fresh
 *   token (see `connect`).
 * @property {boolean} [reconnect=true] - reconnect after a lost link.
 * @property {number} [reconnectAttempts=Infinity] - reconnect attempts after a lost link or failed handshake before giving up (0: never retry).
 * @property {number} [reconnectDelay=1000] - first backoff ceiling in ms; it doubles each attempt.
 * @property {number} [reconnectDelayMax=30000] - largest backoff ceiling in ms.
 * @property {boolean} [jitter=true] - full jitter: wait a random time between 0 and the ceiling.
 * @property {number} [connectTimeout=20000] - ms for a handshake to reach `$welcome`.
 * @property {number} [ackTimeout=10000] - default `emitWithAck` timeout in ms.
 * @property {number} [maxQueue=100] - messages kept while disconnected (see `emit`).
 * @property {boolean|{maxMessages?: number, maxDelay?: number}|null} [batching=null] - send
 *   messages made within `maxDelay` ms (default 5) of each other, up to `maxMessages` (default
 *   32), as one batch frame (PROTOCOL.md section 2); `true` takes the defaults; off by default.
 */

/**
 * The options given, over the defaults (a new object each call: nothing is shared
 * between clients).
 * @param {ConnectOptions} [options]
 * @returns {ConnectOptions & {transports: string[]}}
 */
export function withDefaults(options = {}) {
  return {
    reconnect: true, reconnectAttempts: Infinity, reconnectDelay: 1000,
    reconnectDelayMax: 30000, jitter: true, connectTimeout: 20000,
    ackTimeout: 10000, maxQueue: 100, transports: ['websocket', 'polling'],
    upgradeRetry: 30000, batching: null, ...options,
  };
}
