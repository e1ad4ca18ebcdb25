/**
 * The session of the Switchboard browser client: `Client` keeps its state (welcome,
 * resume, acks, rooms, queue, heartbeat, reconnect, fallback and upgrade) over the
 * links its transports open.
 *
 * @module switchboard/lib/client
 */

import { Emitter, report } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { Positions } from './history.js';
import { withDefaults } from './options.js';
import { PollingTransport } from './polling-transport.js';
import { backoffDelay, CloseCode, FINAL_CLOSE_CODES } from './reconnect.js';
import { pollingHandshakeUrl, pollingUrl, resolveUrl, sessionUrl, websocketUrl } from './urls.js';
import { tokenMethods } from './token-refresh.js';
import { probeMethods } from './upgrade-probe.js';
import { message } from './message.js';
import { roomMethods } from './room-methods.js';
import { WebSocketTransport } from './websocket-transport.js';

/** @typedef {import('./options.js').ConnectOptions} ConnectOptions */

/** Lifecycle event names; they never come from the hub. */
const LIFECYCLE = new Set(['connect', 'disconnect', 'reconnecting', 'error', 'state', 'recovered']);

/** Abandoned WebSockets kept to be released (closed) once a new session makes them stale. */
const MAX_ABANDONED = 8;

/**
 * A connection to a Switchboard hub. Create it with `connect`.
 *
 * Lifecycle events (through `on`): `connect` `{id, resumed, missed, transport}` after each
 * `$welcome` (after the rooms are rejoined on a new session); `disconnect` `{code, reason,
 * willReconnect}` when a live link closes or the client gives up (with `error` `{code,
 * message}` when the hub refused the token: `unauthorized` or `token_expired`);
 * `reconnecting` `{attempt, delay}` before each retry; `error` with `$error` data `{code,
 * message}`, a transport error, a failed refresh (code `refresh`), a failed token function
 * (code `token`) or a handshake refused 401 (`unauthorized`, `token_expired`); `state` with
 * the new state; `recovered` `{room, recovered}` when the hub answers a `$join` that asked to
 * recover a history room (a rejoin on a new session, or `join(room, {since})`).
 */
export class Client {
  /**
   * @param {string} url
   * @param {ConnectOptions} [options]
   */
  constructor(url, options = {}) {
    this.url = resolveUrl(url);
    this.options = withDefaults(options);
    this.WebSocket = this.options.WebSocket || globalThis.WebSocket;
    this.fetch = this.options.fetch || globalThis.fetch;
    /** The usable transports, in the order they are tried. */
    this.kinds = [...new Set(this.options.transports)].filter((kind) =>
      (kind === 'websocket' && this.WebSocket) || (kind === 'polling' && this.fetch));
    if (!this.kinds.length) {
      throw new Error(`no usable transport among ${JSON.stringify(this.options.transports)}: pass options.WebSocket or options.fetch`);
    }
    this.emitter = new Emitter();
    /** @type {'connecting'|'connected'|'reconnecting'|'closed'} */
    this._state = 'connecting';
    /**
     * The session (PROTOCOL.md sections 3 and 5): `token` and `received` (the count of
     * counted messages) are what a resume sends.
     */
    this.session = {
      id: null, token: null, received: 0, pingInterval: 25000, pingTimeout: 20000,
      user: null, expiresAt: null,
    };
    /** The token function, or null for a fixed token (or none). */
    this.tokenFn = typeof this.options.token === 'function' ? this.options.token : null;
    this.unauthorized = 0; // handshakes refused 401 in a row
    this.attempt = 0; // the number of the latest handshake attempt (a token may arrive late)
    this.refreshRun = 0; // the number of the refresh schedule of the live link
    this.cursor = 0; // the number of the latest counted message on the current link
    this.rooms = new Set(); // rooms joined through this client, rejoined on a new session
    this.positions = new Positions(); // where the client stands in its history rooms
    this.pending = new Map(); // ack number -> {resolve, reject, timer}
    this.queue = []; // messages waiting for a live session
    this.nextAck = 1;
    this.retries = 0; // reconnect attempts since the last $welcome
    this.reconnects = 0; // sessions gone live again after the first (see `reconnectCount`)
    this.batching = batchingOf(this.options.batching); // null: one frame per message
    this.batch = []; // {msg, ackId} waiting to go out as one batch frame
    this.everConnected = false;
    this.timers = {};
    this.transport = null;
    this.welcomed = false;
    this.switching = false; // moving a live session from long-polling to a WebSocket
    this.probe = null; // a WebSocket being tried while on long-polling
    this.probeToken = null; // set while the token function runs for a probe
    this.wsBlocked = false; // WebSocket failed where long-polling worked: go straight to polling
    this.fallingBack = false; // this attempt fell back from WebSocket to long-polling
    this.abandoned = []; // WebSockets let go without a close frame (see `_linkDead`)
    this.pastIds = []; // the ids of this client's earlier sessions, the latest last
    this._open();
  }

  /** The socket id from the latest `$welcome` (null before the first). @type {string|null} */
  get id() {
    return this.session.id;
  }

  /**
   * The user the hub named in the latest `$welcome`: the `sub` of the client's token
   * (PROTOCOL.md section 10). null before the first `$welcome` and for an anonymous socket.
   * @type {string|null}
   */
  get user() {
    return this.session.user;
  }

  /**
   * When the hub counts the token as expired, Unix seconds: the `expires_at` of the latest
   * `$welcome`, moved on by each successful refresh. null without a token.
   * @type {number|null}
   */
  get expiresAt() {
    return this.session.expiresAt;
  }

  /** `'connecting' | 'connected' | 'reconnecting' | 'closed'`. @type {string} */
  get state() {
    return this._state;
  }

  /** The transport of the current link: `'websocket'`, `'polling'`, or null. @type {string|null} */
  get transportName() {
    return this.transport ? this.transport.kind : null;
  }

  /**
   * How many times a session went live again after the first one: each reconnect that
   * reached `$welcome`, resumed or new (a move from long-polling to WebSocket is not a
   * reconnect). 0 until the first link is lost and regained.
   * @type {number}
   */
  get reconnectCount() {
    return this.reconnects;
  }

  /**
   * Whether the client is in `room`: joined through this client (the `join` was
   * answered) and not left since. Rooms survive a resume and are rejoined on a new
   * session; a rejoin the hub refuses removes the room.
   * @param {string} room
   * @returns {boolean}
   */
  inRoom(room) {
    return this.rooms.has(room);
  }

  /**
   * Where the client stands in a history room it joined (PROTOCOL.md section 11): the
   * room's epoch and the offset of the last message received (or the room's latest when it
   * joined). null for a room not joined through this client or that keeps no history. The
   * epoch is `''` while the client does not know it (the room had no history yet when it
   * joined, or its history started again); the client asks the hub at the first message.
   * Keep it to recover later with `join(room, {since})`.
   * @param {string} room
   * @returns {{epoch: string, offset: number}|null}
   */
  roomPosition(room) {
    return this.positions.get(room);
  }

  /**
   * Adds a handler. Hub events call it as `fn(data, meta)`, `meta` = `{room, from}`
   * (each may be undefined). If the hub asked for an ack, the first handler's return
   * value (or resolved promise) is the reply; a throw replies error `internal`. The hub's
   * presence events arrive the same way: `$joined` `{user, info}` and `$left` `{user}`,
   * with the room in `meta.room` (`$welcome`, `$error` and `$pong` are the client's own).
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
   *   error reply (its code), a timeout, a lost session, `close()`, or a full queue
   */
  emitWithAck(event, data, opts = {}) {
    const room = data && data.room;
    if (event === '$join' && typeof room === 'string') return this._join(room, data.since || null, opts.timeout);
    const reply = this._request(message(event, data), opts.timeout);
    if (event === '$leave' && typeof room === 'string') {
      this.rooms.delete(room);
      this.positions.remove(room);
    }
    return reply;
  }

  /**
   * Joins a room (an ack'd `$join`). Joined rooms are rejoined after a new session. In a
   * room that keeps history (PROTOCOL.md section 11) the client tracks its position from
   * then on (`roomPosition`), and a rejoin on a new session recovers the messages it missed
   * (`recovered` event). With `since`, a position `roomPosition` gave and the application
   * kept (e.g. across a page load), the messages that followed it come next as ordinary
   * events, in order, those received already dropped; the reply's `recovered` says whether
   * they do (false: the history no longer reaches back, its epoch changed, too many were
   * missed, or the room keeps no history), and so does a `recovered` event. In a room the
   * client is in already, its own position is used instead of `since`.
   * @param {string} room
   * @param {{since?: {epoch: string, offset: number}|null, timeout?: number}} [opts]
   * @returns {Promise<{room: string, epoch?: string, offset?: number, recovered?: boolean}>}
   *   rejects with code `forbidden` when refused
   */
  join(room, opts = {}) {
    return this._join(room, opts.since || null, opts.timeout);
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
   * Who is in a room (an ack'd `$presence`, PROTOCOL.md section 10): for rooms the server
   * keeps presence of (`--presence GLOB`), asked by a member. The hub also sends members
   * `$joined` `{user, info}` when a user's first socket joins and `$left` `{user}` when
   * its last one goes: `client.on('$joined', (data, meta) => …)`, the room in `meta.room`.
   * @param {string} room
   * @param {{timeout?: number}} [opts] - ms before rejecting with code `timeout`
   * @returns {Promise<{room: string, users: Array<{user: string, info: *, sockets: number}>, anonymous: number}>}
   *   rejects with code `forbidden` when the client is not a member or the room has no presence
   */
  presence(room, opts = {}) {
    return this._request(message('$presence', { room }), opts.timeout);
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

  /**
   * Closes the connection and ends the session for good (a close frame 1000 on a
   * WebSocket, `DELETE` on long-polling; a session waiting for a resume is ended with a
   * `DELETE` when long-polling is allowed); pending and queued acks reject with `closed`.
   */
  close() {
    if (this._state === 'closed') return;
    const wasLive = this.session.id !== null && this._state === 'connected';
    // Messages waiting in a batch were accepted as sent: they go out before the close frame.
    if (wasLive && this.welcomed) this._sendBatch();
    this._setState('closed');
    this._stopTimers();
    this._cancelProbe();
    const t = this.transport;
    if (t && t.opened && !t.closed) {
      t.close(CloseCode.NORMAL, 'client closed');
    } else {
      if (t) t.abandon();
      if (this.session.token && this.kinds.includes('polling')) {
        this.fetch(sessionUrl(pollingUrl(this.url), this.session.token), { method: 'DELETE' }).catch(() => {});
      }
    }
    for (const old of this.abandoned.splice(0)) old.release();
    this._failPending('closed', 'the client was closed', true);
    if (wasLive) this.emitter.fire('disconnect', { code: CloseCode.NORMAL, reason: 'client closed', willReconnect: false });
  }

  // ------------------------------------------------------------ internals

  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this.emitter.fire('state', state);
  }

  /** The transport an attempt starts with. */
  _firstKind() {
    if (this.kinds[0] === 'websocket' && !this.wsBlocked) return 'websocket';
    return this.kinds.includes('polling') ? 'polling' : 'websocket';
  }

  /**
   * Makes a transport with `token`; with a session token it resumes (`resume=&last=`, or the
   * long-polling handshake body). `cb(t)` builds the callbacks for transport `t`.
   */
  _makeTransport(kind, token, cb) {
    const resume = this.session.token ? { token: this.session.token, last: this.session.received } : null;
    const holder = {};
    const callbacks = cb(() => holder.t);
    let t;
    if (kind === 'websocket') {
      t = new WebSocketTransport(websocketUrl(this.url, token, resume), this.WebSocket, callbacks);
    } else {
      t = new PollingTransport(pollingHandshakeUrl(this.url, token), resume, this.fetch, callbacks);
    }
    t.resumeLast = resume ? resume.last : null;
    holder.t = t;
    return t;
  }

  /**
   * Opens a link for an attempt (a new session, or a resume when a session token is known);
   * with a token function, once it gave a token (a fixed token opens it at once).
   */
  _open(kind = this._firstKind()) {
    this.welcomed = false;
    this.switching = false;
    const attempt = ++this.attempt;
    if (!this.tokenFn) {
      this._openWith(kind, this.options.token);
      return;
    }
    this._freshToken(this.options.connectTimeout).then((token) => {
      if (this._state !== 'closed' && attempt === this.attempt) this._openWith(kind, token);
    }, (err) => {
      if (this._state === 'closed' || attempt !== this.attempt) return;
      const why = `the token function failed: ${(err && err.message) || err}`;
      this.emitter.fire('error', { code: 'token', message: why });
      this._onClose(CloseCode.ABNORMAL, why);
    });
  }

  /** Opens a link with `token`. */
  _openWith(kind, token) {
    const t = this._makeTransport(kind, token, (self) => ({
      onOpen: () => {},
      onMessage: (text) => self() === this.transport && this._onFrame(text),
      onError: (err) => self() === this.transport &&
        this.emitter.fire('error', { code: err.code, message: err.message }),
      onClose: (code, reason) => self() === this.transport && this._onLinkClosed(self(), code, reason),
      onUnsent: (texts) => this._requeue(texts),
    }));
    this.transport = t;
    this._timer('connect', this.options.connectTimeout, () => t.fail(4900, 'connect timeout'));
  }

  /** The current link ended (never after the client closed or abandoned it). */
  _onLinkClosed(t, code, reason) {
    // The hub refused the token (the long-polling handshake shows the status; a browser's
    // WebSocket cannot, so a WebSocket refused 401 falls back to long-polling, below).
    if (t.refused && t.refused.status === 401) {
      this._onUnauthorized(t.refused);
      return;
    }
    // Fallback: a WebSocket that could not be opened (an error before open, or no open
    // within connectTimeout): this attempt goes on over long-polling at once.
    if (t.kind === 'websocket' && !t.opened && !this.switching && this.kinds.includes('polling')) {
      this.fallingBack = true;
      this._open('polling');
      return;
    }
    // The hub handed the long-polling session to the WebSocket we are trying: switch.
    if (t.kind === 'polling' && code === CloseCode.SESSION_TAKEN_OVER && this.probe) {
      this._switchTo(this.probe);
      return;
    }
    this._onClose(code, reason);
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
    const t = this.transport;
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
      if (t !== this.transport) return; // a handler closed the client or the link
      if (!msg || typeof msg !== 'object') continue;
      if (msg.event === '$welcome' && msg.reply === undefined) {
        this._onWelcome(msg.data || {});
        continue;
      }
      if (msg.event !== '$pong') {
        // PROTOCOL.md section 5: counted messages are numbered; after a resume from an
        // older count, the ones already received are skipped.
        this.cursor += 1;
        if (this.cursor <= this.session.received) continue;
        this.session.received = this.cursor;
      }
      if (typeof msg.reply === 'number') this._onReply(msg);
      else if (msg.event === '$error') this.emitter.fire('error', msg.data || {});
      else if (typeof msg.event === 'string' && msg.event !== '$pong') this._onEvent(msg);
    }
  }

  _onWelcome(data) {
    const t = this.transport;
    clearTimeout(this.timers.connect);
    const resumed = data.resumed === true;
    if (resumed) {
      // The missed messages follow under their original numbers, from the `last` sent.
      this.cursor = t.resumeLast ?? this.session.received;
    } else {
      this.cursor = 0;
      this.session.received = 0;
      // Replies still awaited from the lost session will never come.
      if (this.everConnected) this._failPending('disconnected', 'the session was lost', false);
    }
    // A reconnect that went live again; a move from long-polling to WebSocket is not one.
    if (this.everConnected && !this.switching) this.reconnects += 1;
    // A new session: the old id's relays, replayed by a room's history, are this client's
    // own, which the hub never sends back to their sender live (see `_admit`).
    this._rememberPastId(data.id);
    this.session.id = data.id;
    this.session.token = data.session;
    this.session.user = typeof data.user === 'string' ? data.user : null;
    this.session.expiresAt = typeof data.expires_at === 'number' ? data.expires_at : null;
    this.unauthorized = 0;
    this.session.pingInterval = data.ping_interval_ms || 25000;
    this.session.pingTimeout = data.ping_timeout_ms || 20000;
    this.welcomed = true;
    this.switching = false;
    this.retries = 0;
    if (t.kind === 'polling' && this.fallingBack) this.wsBlocked = true;
    if (t.kind === 'websocket') this.wsBlocked = false;
    this.fallingBack = false;
    // Abandoned WebSockets: on a resume the hub closes them (4002); a new session makes
    // them stale, so end theirs.
    for (const old of this.abandoned.splice(0)) if (!resumed) old.release();
    this._setState('connected');
    this._startHeartbeat();
    this._scheduleRefresh(this.session.expiresAt);
    if (t.kind === 'polling') this._scheduleProbe();
    // A new session after a reconnect has no rooms: rejoin in the same batch, ahead of
    // the queued messages (the hub handles a batch in order).
    if (!resumed && this.everConnected) this.positions.forgetInFlight();
    const rejoins = !resumed && this.everConnected
      ? [...this.rooms].map((room) => this._rejoin(room)) : [];
    this.everConnected = true;
    this._unbatch(); // with batching the rejoins wait in the batch: they go first
    this._flush();
    const info = { id: data.id, resumed, missed: resumed ? Number(data.missed) || 0 : 0, transport: t.kind };
    Promise.all(rejoins).then(() => {
      if (this.session.id === data.id && this._state === 'connected' && this.transport === t) {
        this.emitter.fire('connect', info);
      }
    });
  }

  _onReply(msg) {
    const entry = this.pending.get(msg.reply);
    if (!entry) return;
    this.pending.delete(msg.reply);
    clearTimeout(entry.timer);
    if (msg.error) {
      entry.reject(new SwitchboardError(msg.error.code || 'internal', msg.error.message));
      return;
    }
    const data = msg.data === undefined ? null : msg.data;
    // Before the next message of the same frame (a promise's callbacks would run after it).
    if (entry.onData) entry.onData(data);
    entry.resolve(data);
  }

  _onEvent(msg) {
    const meta = { room: msg.room, from: msg.from };
    const data = msg.data === undefined ? null : msg.data;
    if (LIFECYCLE.has(msg.event)) return; // those names are the client's own
    if (!this._admit(msg)) return;
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
      if (this.batching) this._addToBatch(msg, ackId);
      else this.transport.send(JSON.stringify(msg));
      return 'sent';
    }
    if (this.queue.length >= this.options.maxQueue) {
      this.emitter.fire('error', { code: 'queue_full', message: `queue full (${this.options.maxQueue})`, event: msg.event });
      return 'dropped';
    }
    this.queue.push({ msg, ackId });
    return 'queued';
  }

  /**
   * Messages a long-polling link posted but the hub did not take (404, 409, 410), or never
   * posted: back to the front of the queue, sent again on the next live link.
   */
  _requeue(texts) {
    if (this._state === 'closed') return;
    const back = texts.flatMap((text) => [].concat(JSON.parse(text))).map((msg) => ({
      msg, ackId: typeof msg.ack === 'number' && this.pending.has(msg.ack) ? msg.ack : null,
    }));
    this.queue.unshift(...back);
    if (this.welcomed && this._state === 'connected' && this.transport && !this.transport.closed) this._flush();
  }

  /**
   * Sends a message with an `ack` and waits for the reply. `onData`, if given, is called
   * with a successful reply's data as soon as it is handled, in order with the messages
   * around it.
   */
  _request(msg, timeout = this.options.ackTimeout, onData = null) {
    return new Promise((resolve, reject) => {
      if (this._state === 'closed') {
        reject(new SwitchboardError('closed', 'the client is closed'));
        return;
      }
      const ack = this.nextAck++;
      const entry = { resolve, reject, timer: null, onData };
      entry.timer = setTimeout(() => {
        this.pending.delete(ack);
        this.queue = this.queue.filter((q) => q.ackId !== ack);
        this.batch = this.batch.filter((q) => q.ackId !== ack);
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

  /**
   * Sends the queued messages as one batch (after the rejoins, sent just before); with
   * `batching`, in batches of at most `maxMessages`.
   */
  _flush() {
    const msgs = this.queue.map((q) => q.msg);
    this.queue = [];
    const size = this.batching ? this.batching.maxMessages : msgs.length;
    for (let i = 0; i < msgs.length; i += size) this._sendFrame(msgs.slice(i, i + size));
  }

  /** One frame: a single message as an object, several as a batch (a JSON array). */
  _sendFrame(msgs) {
    if (msgs.length) this.transport.send(JSON.stringify(msgs.length === 1 ? msgs[0] : msgs));
  }

  /**
   * With `batching`: adds a message to the batch, which goes out as one frame when it
   * holds `maxMessages`, or `maxDelay` ms after its first message.
   */
  _addToBatch(msg, ackId) {
    this.batch.push({ msg, ackId });
    if (this.batch.length >= this.batching.maxMessages) this._sendBatch();
    else if (!this.timers.batch) {
      this.timers.batch = setTimeout(() => this._sendBatch(), this.batching.maxDelay);
    }
  }

  /** Sends what the batch holds now, as one frame. */
  _sendBatch() {
    clearTimeout(this.timers.batch);
    this.timers.batch = null;
    const msgs = this.batch.splice(0).map((b) => b.msg);
    if (msgs.length && this.transport) this._sendFrame(msgs);
  }

  /** The link is no longer live: messages still waiting in the batch go back to the front of the queue. */
  _unbatch() {
    clearTimeout(this.timers.batch);
    this.timers.batch = null;
    if (this.batch.length) this.queue.unshift(...this.batch.splice(0));
  }

  /** WebSocket: `$ping` every ping_interval_ms (long-polling's held GETs are its heartbeat). */
  _startHeartbeat() {
    clearInterval(this.timers.ping);
    if (this.transport.kind === 'websocket') {
      this.timers.ping = setInterval(() => {
        if (this._state === 'connected' && this.welcomed) this.transport.send('{"event":"$ping"}');
      }, this.session.pingInterval);
    }
    this._watchdog();
  }

  /** Restarts the dead-link timer: any frame (any long-polling answer) is life. */
  _watchdog() {
    if (!this.welcomed) return;
    this._timer('watchdog', this.session.pingInterval + this.session.pingTimeout, () =>
      this._linkDead('ping timeout'));
  }

  /**
   * The current link is dead as far as the client can tell. It is let go without a close
   * frame (a close frame from the client would end the session, PROTOCOL.md section 3),
   * so that the next attempt resumes the session; the hub closes the old socket with 4002.
   */
  _linkDead(reason) {
    const t = this.transport;
    if (!t) return;
    if (t.kind === 'websocket' && t.opened) {
      this.abandoned.push(t);
      if (this.abandoned.length > MAX_ABANDONED) this.abandoned.shift();
    }
    t.fail(4901, reason);
  }

  _timer(name, ms, fn) {
    clearTimeout(this.timers[name]);
    this.timers[name] = setTimeout(fn, ms);
  }

  _stopTimers() {
    clearInterval(this.timers.ping);
    for (const name of ['connect', 'watchdog', 'retry', 'upgrade', 'probe', 'refresh']) clearTimeout(this.timers[name]);
    this.refreshRun += 1; // a refresh in flight belongs to the link that ended
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

  /**
   * The link ended (or an attempt failed): reconnect, or stop. `refused` (the hub's error
   * `{code, message}`) stops the client: its token was refused.
   */
  _onClose(code, reason, refused = null) {
    this._stopTimers();
    this._cancelProbe();
    this._unbatch();
    if (this._state === 'closed') return;
    const wasLive = this.welcomed || this.switching;
    this.welcomed = false;
    this.switching = false;
    this.fallingBack = false;
    // Kicked, policy, normal close by the hub, or taken over: the hub meant it.
    const final = (wasLive && FINAL_CLOSE_CODES.has(code)) || refused !== null;
    const exhausted = this.retries >= this.options.reconnectAttempts;
    const willReconnect = this.options.reconnect && !final && !exhausted;
    if (wasLive) this.emitter.fire('disconnect', { code, reason, willReconnect });
    if (!willReconnect) {
      // Replies awaited on the link are lost; with a reconnect, a resume may still bring them.
      this._failPending('disconnected', `connection closed (${code})`, false);
      this._setState('closed');
      this._failPending('closed', 'the client stopped', true);
      if (refused) {
        this.emitter.fire('disconnect', { code, reason, willReconnect: false, error: refused });
      } else if (!wasLive) {
        const why = `gave up after ${this.retries} reconnect attempt(s)`;
        this.emitter.fire('disconnect', { code, reason: why, willReconnect: false });
      }
      return;
    }
    this._setState(this.everConnected ? 'reconnecting' : 'connecting');
    const attempt = ++this.retries;
    // The token expired unrefreshed, or a clustered node drains (1012): the session waits for a
    // resume (with a fresh token; on another node), at once on the first attempt.
    const atOnce = code === CloseCode.TOKEN_EXPIRED || code === CloseCode.RESTARTING;
    const delay = atOnce && attempt === 1 ? 0 : backoffDelay(attempt, this.options);
    this.emitter.fire('reconnecting', { attempt, delay });
    this._timer('retry', delay, () => this._state !== 'closed' && this._open());
  }
}

// The WebSocket probe (`upgrade-probe.js`) and tokens (`token-refresh.js`) are methods of
// `Client` kept in files of their own.
Object.assign(Client.prototype, probeMethods, tokenMethods, roomMethods);

/**
 * The `batching` option as `{maxMessages, maxDelay}`, or null when off (false, null or
 * absent); `true` takes the defaults.
 */
function batchingOf(option) {
  if (!option) return null;
  const { maxMessages = 32, maxDelay = 5 } = option === true ? {} : option;
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RangeError('batching.maxMessages must be an integer >= 1');
  if (typeof maxDelay !== 'number' || !(maxDelay >= 0)) throw new RangeError('batching.maxDelay must be a number of ms >= 0');
  return { maxMessages, maxDelay };
}
