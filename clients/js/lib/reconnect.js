/**
 * The reconnect policy of the Switchboard browser client: the named close codes, which of
 * them stop it, how long it waits before each attempt, and when it refreshes its token.
 *
 * @module switchboard/lib/reconnect
 */

/**
 * The WebSocket close codes of PROTOCOL.md section 3, by name: the one table the client
 * uses. `ABNORMAL` (1006) is never sent by the hub: the client reports it for a link that
 * dropped without a close frame.
 */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  RESTARTING: 1012,
  KICKED: 4000,
  SLOW_CONSUMER: 4001,
  SESSION_TAKEN_OVER: 4002,
  TOKEN_EXPIRED: 4003,
});

/**
 * Close codes after which the client does not reconnect (see `connect`): normal, policy,
 * kicked, taken over. `TOKEN_EXPIRED` (4003) is not one: the client resumes at once with a
 * fresh token.
 */
export const FINAL_CLOSE_CODES = new Set([
  CloseCode.NORMAL, CloseCode.POLICY, CloseCode.KICKED, CloseCode.SESSION_TAKEN_OVER,
]);

/** Long-polling `error.code` of a 410 answer → the close code it stands for (section 6). */
export const GONE_CLOSE_CODES = Object.freeze({
  kicked: CloseCode.KICKED,
  policy: CloseCode.POLICY,
  shutdown: CloseCode.GOING_AWAY,
  slow_consumer: CloseCode.SLOW_CONSUMER,
});

/**
 * The wait before reconnect attempt `attempt` (1, 2, …): a ceiling that starts at
 * `reconnectDelay` and doubles each attempt up to `reconnectDelayMax`; with `jitter`
 * (full jitter) a random time between 0 and that ceiling.
 * @param {number} attempt
 * @param {{reconnectDelay: number, reconnectDelayMax: number, jitter: boolean}} options
 * @returns {number} ms, rounded
 */
export function backoffDelay(attempt, { reconnectDelay, reconnectDelayMax, jitter }) {
  const ceiling = Math.min(reconnectDelayMax, reconnectDelay * 2 ** (attempt - 1));
  return Math.round(jitter ? Math.random() * ceiling : ceiling);
}

/**
 * Handshakes refused 401 in a row (each with a fresh token from the token function) before
 * the client stops; with a fixed token it stops at the first.
 */
export const MAX_UNAUTHORIZED = 3;

/** How many times a failed refresh is tried again while the token is valid. */
export const REFRESH_RETRIES = 3;

/**
 * The wait before refreshing a token that expires in `remaining` ms: the refresh comes
 * `margin` before the expiry, the larger of a fifth of the remaining lifetime and
 * `min(30 s, half of it)` (a token of an hour is refreshed after 48 minutes, one of 100 s
 * 30 s before it expires, one of 3 s after 1.5 s). A token already expired by the client's
 * clock (a clock ahead of the hub's) waits 1 s, so that a skewed clock cannot make the
 * client refresh in a loop.
 * @param {number} remaining - ms until `expires_at`
 * @returns {number} ms
 */
export function refreshDelay(remaining) {
  if (!(remaining > 0)) return 1000;
  const margin = Math.max(remaining / 5, Math.min(30000, remaining / 2));
  return Math.round(remaining - margin);
}

/**
 * The wait before retry `retry` (1, 2, …) of a failed refresh with `left` ms until the
 * token expires: 1 s, 2 s, 4 s, …, but never more than a third of what is left.
 * @param {number} retry
 * @param {number} left
 * @returns {number} ms
 */
export function refreshRetryDelay(retry, left) {
  return Math.round(Math.min(1000 * 2 ** (retry - 1), left / 3));
}
