/**
 * The reconnect policy of the Switchboard browser client: the named close codes, which of
 * them stop it, and how long it waits before each attempt.
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
 * kicked, taken over.
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
