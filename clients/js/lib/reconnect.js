/**
 * The reconnect policy of the Switchboard browser client: which close codes stop it, and
 * how long it waits before each attempt.
 *
 * @module switchboard/lib/reconnect
 */

/** Close codes after which the client does not reconnect (see `connect`). */
export const FINAL_CLOSE_CODES = new Set([1000, 1008, 4000, 4002]);

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
