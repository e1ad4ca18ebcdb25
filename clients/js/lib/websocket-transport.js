/**
 * The WebSocket transport of the Switchboard browser client: one WebSocket connection
 * carrying JSON text frames (PROTOCOL.md sections 2 and 3).
 *
 * @module switchboard/lib/websocket-transport
 */

import { SwitchboardError } from './errors.js';
import { CloseCode } from './reconnect.js';

/*
 * A transport moves JSON texts for one link. Both (this one and `PollingTransport` in
 * polling-transport.js) offer the same shape:
 * `kind` ('websocket' | 'polling'), `send(text)`, `close(code, reason)` (ends the
 * session for good: a close frame, or a long-polling DELETE), `abandon()` (lets the link
 * go without ending the session, so that it can be resumed), `opened`, and the callbacks
 * `onOpen()`, `onMessage(text)`, `onClose(code, reason)`, `onError(err)`, and for
 * long-polling `onUnsent(texts)` (messages the hub never took, handed back to the client).
 * `onClose` is called at most once, never after `close` or `abandon`.
 */

/** One WebSocket connection carrying JSON text frames. */
export class WebSocketTransport {
  constructor(url, WebSocketImpl, callbacks) {
    this.kind = 'websocket';
    this.callbacks = callbacks;
    this.closed = false;
    this.opened = false;
    const ws = new WebSocketImpl(url);
    this.ws = ws;
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
      if (!this.opened) this.fail(CloseCode.ABNORMAL, 'handshake failed');
    };
    ws.onclose = (e) => this.finish(e.code, e.reason);
  }
  send(text) {
    this.ws.send(text);
  }
  /** Ends the link with a close frame (which ends the session); no `onClose`. */
  close(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    try {
      this.ws.close(code === CloseCode.NORMAL || (code >= 3000 && code <= 4999) ? code : undefined, reason);
    } catch { /* already closed */ }
  }
  /**
   * Lets the link go without a close frame (a close frame would end the session): the
   * handlers are detached, and the hub closes the socket with 4002 when the session is
   * resumed elsewhere. A socket that never opened has no session yet: it is failed at
   * once (no frame can be sent on it), so that a late open cannot take the session over.
   */
  abandon() {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    if (!this.opened) {
      try { this.ws.close(); } catch { /* already closed */ }
    }
  }
  /** After `abandon`: ends an abandoned socket that is still open with a close frame. */
  release() {
    try { this.ws.close(CloseCode.NORMAL, 'released'); } catch { /* already closed */ }
  }
  detach() {
    const ws = this.ws;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  }
  /** The link failed from our side: no frame, and `onClose(code, reason)` once. */
  fail(code, reason) {
    if (this.closed) return;
    this.abandon();
    this.callbacks.onClose(code, reason);
  }
  finish(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.callbacks.onClose(code || CloseCode.ABNORMAL, reason || '');
  }
}
