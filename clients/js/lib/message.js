/**
 * The message objects the client sends.
 *
 * @module switchboard/lib/message
 */

/** Builds a message object; `data` is omitted when undefined. */
export function message(event, data) {
  if (typeof event !== 'string' || !event) throw new TypeError('event must be a non-empty string');
  return data === undefined ? { event } : { event, data };
}
