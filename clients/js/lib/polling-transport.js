/**
 * The long-polling transport of the Switchboard browser client (PROTOCOL.md section 6),
 * used where a WebSocket cannot be opened. It offers the same shape as the WebSocket
 * transport (see `websocket-transport.js`), plus `onUnsent(texts)`.
 *
 * @module switchboard/lib/polling-transport
 */

import { SwitchboardError } from './errors.js';
import { CloseCode, GONE_CLOSE_CODES } from './reconnect.js';
import { sessionUrl } from './urls.js';

/** Wait before retrying a `GET` answered 409 (another `GET` still held by the hub). */
const POLL_CONFLICT_RETRY_MS = 200;

/**
 * One long-polling link (PROTOCOL.md section 6) over `fetch`: `POST P/poll` opens or
 * resumes the session, one `GET P/poll?sid=` is held at a time, sends are `POST
 * P/poll?sid=` one at a time (what queues up meanwhile goes in one array body), and
 * `DELETE` ends the session.
 */
export class PollingTransport {
  /**
   * @param {string} url - `http(s)://host/P/poll`, with `token=` if any
   * @param {{token: string, last: number}|null} resume
   * @param {typeof fetch} fetchImpl
   * @param {object} callbacks
   */
  constructor(url, resume, fetchImpl, callbacks) {
    this.kind = 'polling';
    this.url = url;
    this.fetch = (...args) => fetchImpl(...args); // a bare `fetch` must not be called as a method
    this.callbacks = callbacks;
    this.closed = false;
    this.opened = false;
    this.sid = null;
    this.outbox = []; // texts waiting for the POST in flight
    this.posting = false;
    this.aborts = new Set();
    this.handshake(resume);
  }

  /**
   * `fetch` and read the body. With `abortable` (the handshake and the GET), `abandon` aborts
   * it and it resolves to null once this transport is closed; a POST is never aborted, its
   * answer always comes back.
   */
  async request(url, init, abortable = true) {
    const controller = abortable ? new AbortController() : null;
    if (controller) this.aborts.add(controller);
    try {
      const res = await this.fetch(url, { cache: 'no-store', ...init, signal: controller ? controller.signal : undefined });
      const text = await res.text();
      return abortable && this.closed ? null : { status: res.status, text };
    } catch (err) {
      if (abortable && this.closed) return null;
      throw err;
    } finally {
      if (controller) this.aborts.delete(controller);
    }
  }

  sidUrl() {
    return sessionUrl(this.url, this.sid);
  }

  async handshake(resume) {
    let res;
    try {
      res = await this.request(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: resume ? JSON.stringify({ resume: resume.token, last: resume.last }) : '',
      });
    } catch (err) {
      this.fail(CloseCode.ABNORMAL, `long-polling handshake failed: ${(err && err.message) || err}`);
      return;
    }
    if (!res) return;
    if (res.status !== 200) {
      // What the hub said (a refused token: 401 `unauthorized` or `token_expired`).
      this.refused = { status: res.status, code: errorCode(res.text), message: errorMessage(res.text) };
      this.fail(CloseCode.ABNORMAL, `long-polling handshake answered ${res.status}`);
      return;
    }
    let welcome;
    try {
      welcome = JSON.parse(res.text);
    } catch { /* checked below */ }
    const sid = Array.isArray(welcome) && welcome[0] && welcome[0].data && welcome[0].data.session;
    if (typeof sid !== 'string') {
      this.fail(CloseCode.PROTOCOL_ERROR, 'long-polling handshake without $welcome');
      return;
    }
    this.sid = sid;
    this.opened = true;
    this.callbacks.onOpen();
    if (this.closed) return;
    this.callbacks.onMessage(res.text);
    if (this.closed) return;
    this.pollLoop();
    this.pump();
  }

  async pollLoop() {
    while (!this.closed) {
      let res;
      try {
        res = await this.request(this.sidUrl(), { method: 'GET' });
      } catch (err) {
        this.fail(CloseCode.ABNORMAL, `long-polling GET failed: ${(err && err.message) || err}`);
        return;
      }
      if (!res) return;
      if (res.status === 200) {
        this.callbacks.onMessage(res.text);
        continue;
      }
      const code = errorCode(res.text);
      if (res.status === 409 && code !== 'session_taken_over') {
        // A GET of ours is still held by the hub (say, one the network lost): retry shortly.
        await new Promise((r) => setTimeout(r, POLL_CONFLICT_RETRY_MS));
        continue;
      }
      this.gone(res.status, code);
      return;
    }
  }

  /**
   * The session cannot go on on this link: 401 (the token expired: the session waits for a
   * resume with a fresh one, reported as 4003), 503 unavailable (a clustered node drains: the
   * session waits for a resume on another node, reported as 1012), 404, 409 taken over, 410,
   * or another status.
   */
  gone(status, code) {
    if (status === 401) this.fail(CloseCode.TOKEN_EXPIRED, code || 'token_expired');
    else if (status === 410) this.fail(GONE_CLOSE_CODES[code] || CloseCode.INTERNAL, code || 'gone');
    else if (status === 409) this.fail(CloseCode.SESSION_TAKEN_OVER, code);
    else if (status === 503 && code === 'unavailable') this.fail(CloseCode.RESTARTING, code);
    else if (status === 404) this.fail(CloseCode.ABNORMAL, 'session not found (404)');
    else this.fail(CloseCode.ABNORMAL, `long-polling answered ${status}`);
  }

  send(text) {
    if (this.closed) return;
    this.outbox.push(text);
    this.pump();
  }

  /** Posts what is in the outbox, one POST at a time, in order. */
  async pump() {
    if (this.posting || !this.opened || this.closed || !this.outbox.length) return;
    this.posting = true;
    const texts = this.outbox.splice(0);
    const messages = texts.flatMap((t) => JSON.parse(t));
    const body = JSON.stringify(messages.length === 1 ? messages[0] : messages);
    let res;
    try {
      res = await this.request(this.sidUrl(), {
        method: 'POST', headers: { 'content-type': 'application/json' }, body,
      }, false);
    } catch (err) {
      // Whether the hub took the body is unknown: at most once, as on a WebSocket.
      this.posting = false;
      this.fail(CloseCode.ABNORMAL, `long-polling POST failed: ${(err && err.message) || err}`);
      return;
    }
    this.posting = false;
    const code = errorCode(res.text);
    if (res.status === 401 || res.status === 404 || res.status === 409 || res.status === 410) {
      // The hub did not take the body: hand it back, ahead of what queued up meanwhile.
      if (this.closed) {
        this.callbacks.onUnsent([body]);
        return;
      }
      this.outbox.unshift(body);
      this.gone(res.status, code);
      return;
    }
    if (res.status === 400 || res.status === 413) {
      // The session stays open; the body is lost.
      this.callbacks.onError(new SwitchboardError(res.status === 413 ? 'too_large' : 'bad_message',
        `long-polling POST answered ${res.status}: ${errorMessage(res.text)}`));
    } else if (res.status !== 204 && res.status !== 200) {
      this.callbacks.onError(new SwitchboardError('transport', `long-polling POST answered ${res.status}`));
    }
    this.pump();
  }

  /** Ends the session for good: `DELETE P/poll?sid=`; no `onClose`. */
  close() {
    if (this.closed) return;
    const sid = this.sid;
    this.abandon();
    if (sid) this.fetch(this.sidUrl(), { method: 'DELETE' }).catch(() => {});
  }

  /** Stops polling without ending the session; texts never posted go to `onUnsent`. */
  abandon() {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.aborts) c.abort();
    this.aborts.clear();
    const unsent = this.outbox.splice(0);
    if (unsent.length) this.callbacks.onUnsent(unsent);
  }

  release() {}

  fail(code, reason) {
    if (this.closed) return;
    this.abandon();
    this.callbacks.onClose(code, reason);
  }
}

function errorBody(text) {
  try {
    const body = JSON.parse(text);
    return (body && body.error) || {};
  } catch {
    return {};
  }
}
const errorCode = (text) => errorBody(text).code;
const errorMessage = (text) => errorBody(text).message || text;
