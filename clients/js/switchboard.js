/**
 * Switchboard browser client: a dependency-free ES module speaking the
 * Switchboard wire protocol, version 1 (PROTOCOL.md) over WebSocket.
 *
 * ```js
 * import { connect } from '/switchboard.js';
 * const client = connect('/ws');
 * client.on('chat', (data, meta) => console.log(meta.from, data));
 * await client.join('lobby');
 * client.to('lobby').emit('chat', { text: 'hello' });
 * ```
 *
 * Inside, three small parts: `Emitter` (local handlers), `WebSocketTransport`
 * (moves text frames; the seam for a long-polling transport) and `Client`
 * (session state: welcome, acks, rooms, queue, heartbeat, reconnect).
 *
 * @module switchboard
 */

/** Close codes after which the client does not reconnect (see `connect`). */
const FINAL_CLOSE_CODES = new Set([1000, 1008, 4000, 4002]);

/** Lifecycle event names; they never come from the hub. */
const LIFECYCLE = new Set(['connect', 'disconnect', 'reconnecting', 'error', 'state']);

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

// ---------------------------------------------------------------- emitter

/** Local event handlers: a map from name to a list of functions. */
class Emitter {
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

function report(err) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
  else console.error(err);
}

// -------------------------------------------------------------- transport

/**
 * One WebSocket connection carrying JSON text frames. A long-polling transport
 * would offer the same shape: `send(text)`, `close(code, reason)`, and the
 * callbacks `onOpen()`, `onMessage(text)`, `onClose(code, reason)`, `onError(err)`.
 */
class WebSocketTransport {
  constructor(url, WebSocketImpl, callbacks) {
    this.callbacks = callbacks;
    this.closed = false;
    const ws = new WebSocketImpl(url);
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      this.opened = true;
      if (!this.closed) callbacks.onOpen();
    };
    ws.onmessage = (e) => {
      if (this.closed) return;
      if (typeof e.data === 'string') callbacks.onMessage(e.data);
      else callbacks.onError(new SwitchboardError('bad_message', 'binary frame on the JSON codec'));
    };
    ws.onerror = () => {
      if (this.closed) return;
      callbacks.onError(new SwitchboardError('transport', 'WebSocket error'));
      // A handshake that failed is over (some WebSocket implementations never fire close then).
      if (!this.opened) this.close(1006, 'handshake failed');
    };
    ws.onclose = (e) => this.finish(e.code, e.reason);
  }
  send(text) {
    this.ws.send(text);
  }
  /** Closes the socket and reports `onClose(code, reason)` at once, exactly once. */
  close(code, reason) {
    if (this.closed) return;
    const ws = this.ws;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : undefined, reason);
    } catch { /* already closed */ }
    this.finish(code, reason);
  }
  finish(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.callbacks.onClose(code || 1006, reason || '');
  }
}

// ----------------------------------------------------------------- client

/**
 * @typedef {object} ConnectOptions
 * @property {typeof WebSocket} [WebSocket] - WebSocket class to use (default: the global one).
 * @property {string} [token] - sent as `token=` on the handshake (authentication hook).
 * @property {boolean} [reconnect=true] - reconnect after a lost link.
 * @property {number} [reconnectAttempts=Infinity] - reconnect attempts after a lost link or failed handshake before giving up (0: never retry).
 * @property {number} [reconnectDelay=1000] - first backoff ceiling in ms; it doubles each attempt.
 * @property {number} [reconnectDelayMax=30000] - largest backoff ceiling in ms.
 * @property {boolean} [jitter=true] - full jitter: wait a random time between 0 and the ceiling.
 * @property {number} [connectTimeout=20000] - ms for a handshake to reach `$welcome`.
 * @property {number} [ackTimeout=10000] - default `emitWithAck` timeout in ms.
 * @property {number} [maxQueue=100] - messages kept while disconnected (see `emit`).
 */

/**
 * A connection to a Switchboard hub. Create it with `connect`.
 *
 * Lifecycle events (through `on`): `connect` `{id, resumed}` after each `$welcome`
 * (after the rooms are rejoined on a new session); `disconnect` `{code, reason,
 * willReconnect}` when a live link closes or the client gives up; `reconnecting`
 * `{attempt, delay}` before each retry; `error` with `$error` data `{code, message}`
 * or a transport error; `state` with the new state.
 */
export class Client {
  /**
   * @param {string} url
   * @param {ConnectOptions} [options]
   */
  constructor(url, options = {}) {
    this.url = resolveUrl(url);
    this.options = {
      reconnect: true, reconnectAttempts: Infinity, reconnectDelay: 1000,
      reconnectDelayMax: 30000, jitter: true, connectTimeout: 20000,
      ackTimeout: 10000, maxQueue: 100, ...options,
    };
    this.WebSocket = this.options.WebSocket || globalThis.WebSocket;
    if (!this.WebSocket) throw new Error('no WebSocket class: pass options.WebSocket');
    this.emitter = new Emitter();
    /** @type {'connecting'|'connected'|'reconnecting'|'closed'} */
    this._state = 'connecting';
    /** The session (PROTOCOL.md section 3): `token` and `received` are what a resume needs. */
    this.session = { id: null, token: null, received: 0, pingInterval: 25000, pingTimeout: 20000 };
    this.rooms = new Set(); // rooms joined through this client, rejoined on a new session
    this.pending = new Map(); // ack number -> {resolve, reject, timer}
    this.queue = []; // messages waiting for a live session
    this.nextAck = 1;
    this.retries = 0; // reconnect attempts since the last $welcome
    this.everConnected = false;
    this.timers = {};
    this.transport = null;
    this._open();
  }

  /** The socket id from the latest `$welcome` (null before the first). @type {string|null} */
  get id() {
    return this.session.id;
  }

  /** `'connecting' | 'connected' | 'reconnecting' | 'closed'`. @type {string} */
  get state() {
    return this._state;
  }

  /**
   * Adds a handler. Hub events call it as `fn(data, meta)`, `meta` = `{room, from}`
   * (each may be undefined). If the hub asked for an ack, the first handler's return
   * value (or resolved promise) is the reply; a throw replies error `internal`.
   * @param {string} event
   * @param {Function} fn
   * @returns {Client} this client
   */
  on(event, fn) {
    this.emitter.add(event, fn);
    return this;
  }

  /**
   * Removes a handler, or every handler of `event` when `fn` is omitted.
   * @param {string} event
   * @param {Function} [fn]
   * @returns {Client} this client
   */
  off(event, fn) {
    this.emitter.remove(event, fn);
    return this;
  }

  /**
   * Sends an event. While disconnected it is queued (up to `maxQueue` messages, sent in
   * order after the next `$welcome`); when the queue is full the event is dropped,
   * `error` fires with code `queue_full`, and `emit` returns false.
   * @param {string} event
   * @param {*} [data]
   * @returns {boolean} false if the event was dropped
   */
  emit(event, data) {
    return this._send(message(event, data), null) !== 'dropped';
  }

  /**
   * Sends an event asking for a reply.
   * @param {string} event
   * @param {*} [data]
   * @param {{timeout?: number}} [opts] - ms before rejecting with code `timeout`
   * @returns {Promise<*>} the reply's data; rejects with a `SwitchboardError` on an
   *   error reply (its code), a timeout, a disconnect while waiting, `close()`, or a full queue
   */
  emitWithAck(event, data, opts = {}) {
    const reply = this._request(message(event, data), opts.timeout);
    const room = data && data.room;
    if (event === '$join' && typeof room === 'string') return reply.then((r) => (this.rooms.add(room), r));
    if (event === '$leave' && typeof room === 'string') this.rooms.delete(room);
    return reply;
  }

  /**
   * Joins a room (an ack'd `$join`). Joined rooms are rejoined after a new session.
   * @param {string} room
   * @returns {Promise<{room: string}>} rejects with code `forbidden` when refused
   */
  join(room) {
    return this.emitWithAck('$join', { room });
  }

  /**
   * Leaves a room (an ack'd `$leave`); it is no longer rejoined.
   * @param {string} room
   * @returns {Promise<{room: string}>}
   */
  leave(room) {
    return this.emitWithAck('$leave', { room });
  }

  /**
   * Relays to the other members of a room (the sender must be a member).
   * @param {string} room
   * @returns {{emit: (event: string, data?: *) => boolean, emitWithAck: (event: string, data?: *, opts?: {timeout?: number}) => Promise<*>}}
   */
  to(room) {
    return {
      emit: (event, data) => this._send({ ...message(event, data), room }, null) !== 'dropped',
      emitWithAck: (event, data, opts = {}) => this._request({ ...message(event, data), room }, opts.timeout),
    };
  }

  /** Closes the connection for good (close code 1000); pending and queued acks reject with `closed`. */
  close() {
    if (this._state === 'closed') return;
    const wasLive = this.session.id !== null && this._state === 'connected';
    this._setState('closed');
    this._stopTimers();
    if (this.transport) this.transport.close(1000, 'client closed');
    this._failPending('closed', 'the client was closed', true);
    if (wasLive) this.emitter.fire('disconnect', { code: 1000, reason: 'client closed', willReconnect: false });
  }

  // ------------------------------------------------------------ internals

  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this.emitter.fire('state', state);
  }

  /** Opens a transport. The seam for resume (URL) and a long-polling fallback (transport). */
  _open() {
    const url = new URL(this.url);
    if (this.options.token != null) url.searchParams.set('token', this.options.token);
    // Resume (later issue): url.searchParams.set('resume', token) and ('last', received).
    this.welcomed = false;
    this.transport = new WebSocketTransport(url.href, this.WebSocket, {
      onOpen: () => {},
      onMessage: (text) => this._onFrame(text),
      onError: (err) => this.emitter.fire('error', { code: err.code, message: err.message }),
      onClose: (code, reason) => this._onClose(code, reason),
    });
    this._timer('connect', this.options.connectTimeout, () =>
      this.transport.close(4900, 'connect timeout'));
  }

  _onFrame(text) {
    this._watchdog();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.emitter.fire('error', { code: 'bad_message', message: 'a frame that is not JSON' });
      return;
    }
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
      if (!msg || typeof msg !== 'object') continue;
      if (msg.event === '$welcome' && msg.reply === undefined) {
        this._onWelcome(msg.data || {});
        continue;
      }
      if (msg.event !== '$pong') this.session.received += 1; // PROTOCOL.md section 5
      if (typeof msg.reply === 'number') this._onReply(msg);
      else if (msg.event === '$error') this.emitter.fire('error', msg.data || {});
      else if (typeof msg.event === 'string' && msg.event !== '$pong') this._onEvent(msg);
    }
  }

  _onWelcome(data) {
    clearTimeout(this.timers.connect);
    const resumed = data.resumed === true;
    this.session.id = data.id;
    this.session.token = data.session;
    if (!resumed) this.session.received = 0;
    this.session.pingInterval = data.ping_interval_ms || 25000;
    this.session.pingTimeout = data.ping_timeout_ms || 20000;
    this.welcomed = true;
    this.retries = 0;
    this._setState('connected');
    this._startHeartbeat();
    // A new session after a reconnect has no rooms: rejoin in the same batch, ahead of
    // the queued messages (the hub handles a batch in order).
    const rejoins = !resumed && this.everConnected
      ? [...this.rooms].map((room) => this._rejoin(room)) : [];
    this.everConnected = true;
    this._flush();
    Promise.all(rejoins).then(() => {
      if (this.session.id === data.id && this._state === 'connected') {
        this.emitter.fire('connect', { id: data.id, resumed });
      }
    });
  }

  _rejoin(room) {
    return this._request(message('$join', { room })).catch((err) => {
      if (err.code === 'forbidden') {
        this.rooms.delete(room);
        this.emitter.fire('error', { code: err.code, message: `rejoin of ${room} refused`, room });
      }
    });
  }

  _onReply(msg) {
    const entry = this.pending.get(msg.reply);
    if (!entry) return;
    this.pending.delete(msg.reply);
    clearTimeout(entry.timer);
    if (msg.error) entry.reject(new SwitchboardError(msg.error.code || 'internal', msg.error.message));
    else entry.resolve(msg.data === undefined ? null : msg.data);
  }

  _onEvent(msg) {
    const meta = { room: msg.room, from: msg.from };
    const data = msg.data === undefined ? null : msg.data;
    if (LIFECYCLE.has(msg.event)) return; // those names are the client's own
    const handlers = this.emitter.list(msg.event);
    if (typeof msg.ack !== 'number') {
      this.emitter.fire(msg.event, data, meta);
      return;
    }
    const answer = (body) => this._send({ reply: msg.ack, ...body }, null);
    if (!handlers.length) {
      answer({ error: { code: 'no_handler', message: `no handler for ${msg.event}` } });
      return;
    }
    let first;
    try {
      first = Promise.resolve(handlers[0](data, meta));
    } catch (err) {
      first = Promise.reject(err);
    }
    for (const fn of handlers.slice(1)) {
      try { fn(data, meta); } catch (err) { report(err); }
    }
    first.then(
      (value) => answer({ data: value === undefined ? null : value }),
      (err) => answer({ error: { code: 'internal', message: String((err && err.message) || err) } }),
    );
  }

  /** Sends or queues one message; returns 'sent', 'queued' or 'dropped'. */
  _send(msg, ackId) {
    if (this._state === 'closed') return 'dropped';
    if (this.welcomed && this._state === 'connected') {
      this.transport.send(JSON.stringify(msg));
      return 'sent';
    }
    if (this.queue.length >= this.options.maxQueue) {
      this.emitter.fire('error', { code: 'queue_full', message: `queue full (${this.options.maxQueue})`, event: msg.event });
      return 'dropped';
    }
    this.queue.push({ msg, ackId });
    return 'queued';
  }

  /** Sends a message with an `ack` and waits for the reply. */
  _request(msg, timeout = this.options.ackTimeout) {
    return new Promise((resolve, reject) => {
      if (this._state === 'closed') {
        reject(new SwitchboardError('closed', 'the client is closed'));
        return;
      }
      const ack = this.nextAck++;
      const entry = { resolve, reject, timer: null };
      entry.timer = setTimeout(() => {
        this.pending.delete(ack);
        this.queue = this.queue.filter((q) => q.ackId !== ack);
        reject(new SwitchboardError('timeout', `no reply to ${msg.event} within ${timeout} ms`));
      }, timeout);
      this.pending.set(ack, entry);
      if (this._send({ ...msg, ack }, ack) === 'dropped') {
        clearTimeout(entry.timer);
        this.pending.delete(ack);
        reject(new SwitchboardError('queue_full', 'the client queue is full'));
      }
    });
  }

  /** Sends the queued messages as one batch frame (after the rejoins, sent just before). */
  _flush() {
    const batch = this.queue.map((q) => q.msg);
    this.queue = [];
    if (batch.length) this.transport.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
  }

  _startHeartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (this._state === 'connected') this.transport.send('{"event":"$ping"}');
    }, this.session.pingInterval);
    this._watchdog();
  }

  /** Restarts the dead-link timer: any frame is life. */
  _watchdog() {
    if (!this.welcomed) return;
    this._timer('watchdog', this.session.pingInterval + this.session.pingTimeout, () =>
      this.transport.close(4901, 'ping timeout'));
  }

  _timer(name, ms, fn) {
    clearTimeout(this.timers[name]);
    this.timers[name] = setTimeout(fn, ms);
  }

  _stopTimers() {
    clearInterval(this.timers.ping);
    for (const name of ['connect', 'watchdog', 'retry']) clearTimeout(this.timers[name]);
  }

  /** Rejects the in-flight acks; with `all`, also the queued ones and the queue. */
  _failPending(code, text, all) {
    const queued = new Set(this.queue.map((q) => q.ackId));
    for (const [ack, entry] of this.pending) {
      if (!all && queued.has(ack)) continue;
      clearTimeout(entry.timer);
      this.pending.delete(ack);
      entry.reject(new SwitchboardError(code, text));
    }
    if (all) this.queue = [];
  }

  _onClose(code, reason) {
    this._stopTimers();
    if (this._state === 'closed') return;
    const wasLive = this.welcomed;
    this.welcomed = false;
    this._failPending('disconnected', `connection closed (${code})`, false);
    // Kicked, policy, normal close by the hub, or taken over: the hub meant it.
    const final = wasLive && FINAL_CLOSE_CODES.has(code);
    const exhausted = this.retries >= this.options.reconnectAttempts;
    const willReconnect = this.options.reconnect && !final && !exhausted;
    if (wasLive) this.emitter.fire('disconnect', { code, reason, willReconnect });
    if (!willReconnect) {
      this._setState('closed');
      this._failPending('closed', 'the client stopped', true);
      if (!wasLive) {
        const why = `gave up after ${this.retries} reconnect attempt(s)`;
        this.emitter.fire('disconnect', { code, reason: why, willReconnect: false });
      }
      return;
    }
    this._setState(this.everConnected ? 'reconnecting' : 'connecting');
    const attempt = ++this.retries;
    const ceiling = Math.min(this.options.reconnectDelayMax,
      this.options.reconnectDelay * 2 ** (attempt - 1));
    const delay = Math.round(this.options.jitter ? Math.random() * ceiling : ceiling);
    this.emitter.fire('reconnecting', { attempt, delay });
    this._timer('retry', delay, () => this._state !== 'closed' && this._open());
  }
}

/** Builds a message object; `data` is omitted when undefined. */
function message(event, data) {
  if (typeof event !== 'string' || !event) throw new TypeError('event must be a non-empty string');
  return data === undefined ? { event } : { event, data };
}

/** `ws(s)://` as given; `http(s)://` and relative paths become `ws(s)://` on the page's origin. */
function resolveUrl(url) {
  const base = globalThis.location && globalThis.location.href;
  const u = new URL(url || '/ws', base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.href;
}

/**
 * Connects to a Switchboard hub. The client reconnects by itself after a lost link,
 * waiting a random time up to a ceiling that doubles from `reconnectDelay` to
 * `reconnectDelayMax`; it stops on close codes 1000 (the hub closed it), 1008 (policy),
 * 4000 (kicked) and 4002 (taken over), and after `reconnectAttempts` consecutive failed
 * handshakes, firing `disconnect` with the reason.
 * @param {string} [url] - `ws://host/ws`, `http://host/ws`, or a path such as `/ws` on the page's origin
 * @param {ConnectOptions} [options]
 * @returns {Client}
 */
export function connect(url, options) {
  return new Client(url, options);
}

export default connect;
