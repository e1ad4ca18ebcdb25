/**
 * The error type of the Switchboard browser client.
 *
 * @module switchboard/lib/errors
 */

/**
 * The error every rejected promise of this client carries.
 * @extends Error
 */
export class SwitchboardError extends Error {
  /**
   * @param {string} code - a PROTOCOL.md error code (`forbidden`, `no_handler`, `internal`,
   *   `bad_message`, `rate_limited`) or a client code: `timeout`, `disconnected`, `closed`, `queue_full`.
   * @param {string} [message]
   */
  constructor(code, message) {
    super(message || code);
    this.name = 'SwitchboardError';
    /** @type {string} */
    this.code = code;
  }
}
