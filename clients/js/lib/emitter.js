/**
 * Local event handlers of the Switchboard browser client: the `on`/`off` side of a
 * `Client`, for hub events and lifecycle events alike.
 *
 * @module switchboard/lib/emitter
 */

/** Local event handlers: a map from name to a list of functions. */
export class Emitter {
  constructor() {
    /** @type {Map<string, Function[]>} */
    this.handlers = new Map();
  }
  add(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('handler must be a function');
    const list = this.handlers.get(event) || [];
    this.handlers.set(event, [...list, fn]);
  }
  remove(event, fn) {
    const list = this.handlers.get(event);
    if (!list) return;
    const rest = fn ? list.filter((f) => f !== fn) : [];
    if (rest.length) this.handlers.set(event, rest);
    else this.handlers.delete(event);
  }
  list(event) {
    return this.handlers.get(event) || [];
  }
  /** Calls every handler; a throwing handler is reported, never propagated. */
  fire(event, ...args) {
    for (const fn of this.list(event)) {
      try {
        const r = fn(...args);
        if (r && typeof r.catch === 'function') r.catch(report);
      } catch (err) {
        report(err);
      }
    }
  }
}

/** Reports an error a handler threw (or rejected with) without propagating it. */
export function report(err) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
  else console.error(err);
}
