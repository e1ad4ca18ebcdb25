/**
 * The client's tokens: a fresh one for a handshake or a refresh (from the token function,
 * bounded in time), the refresh before expiry with its retries, and a handshake refused 401.
 * Methods of `Client` (installed on its prototype by `client.js`).
 *
 * @module switchboard/lib/token-refresh
 */

import { SwitchboardError } from './errors.js';
import { CloseCode, MAX_UNAUTHORIZED, REFRESH_RETRIES, refreshDelay, refreshRetryDelay } from './reconnect.js';

/** `Client`'s methods for tokens. */
export const tokenMethods = {
  /**
   * A token for a handshake or a refresh: the token function's (bounded by `timeout` ms),
   * else the fixed one (or undefined).
   * @returns {Promise<string|undefined>}
   */
  async _freshToken(timeout) {
    if (!this.tokenFn) return this.options.token;
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the token function took over ${timeout} ms`)), timeout);
    });
    try {
      const token = await Promise.race([Promise.resolve().then(() => this.tokenFn()), late]);
      if (typeof token !== 'string' || !token) throw new TypeError('the token function returned no string');
      return token;
    } finally {
      clearTimeout(timer);
    }
  },

  /**
   * Schedules the refresh of the token that expires at `expiresAt` (Unix seconds), with a
   * token function (a fixed token cannot be refreshed): see `refreshDelay`.
   */
  _scheduleRefresh(expiresAt) {
    clearTimeout(this.timers.refresh);
    const run = ++this.refreshRun;
    if (!this.tokenFn || typeof expiresAt !== 'number') return;
    this._timer('refresh', refreshDelay(expiresAt * 1000 - Date.now()), () => this._refresh(run, expiresAt, 0));
  },

  /**
   * Sends `$refresh` with a fresh token; on success schedules the next refresh from the
   * reply's `expires_at`. A failure (an error reply, the function's error, no reply within
   * `ackTimeout`) fires `error` (code `refresh`) and is tried again `REFRESH_RETRIES` times
   * while the token is valid; after that the hub closes the link 4003 at the expiry and the
   * client resumes with a fresh token.
   */
  async _refresh(run, expiresAt, retry) {
    try {
      const token = await this._freshToken(this.options.ackTimeout);
      if (run !== this.refreshRun) return;
      const reply = await this._request({ event: '$refresh', data: { token } });
      if (run !== this.refreshRun) return;
      const at = reply && reply.expires_at;
      if (typeof at !== 'number') throw new Error(`the reply has no expires_at: ${JSON.stringify(reply)}`);
      this.session.expiresAt = at;
      this._scheduleRefresh(at);
    } catch (err) {
      if (run !== this.refreshRun || this._state === 'closed') return;
      const why = err instanceof SwitchboardError ? `${err.code}: ${err.message}` : String((err && err.message) || err);
      this.emitter.fire('error', { code: 'refresh', message: `refreshing the token failed: ${why}` });
      const left = expiresAt * 1000 - Date.now();
      if (retry + 1 > REFRESH_RETRIES || left <= 0) return;
      this._timer('refresh', refreshRetryDelay(retry + 1, left), () => this._refresh(run, expiresAt, retry + 1));
    }
  },

  /**
   * A handshake refused 401: with a token function, tried again (after the backoff) with a
   * fresh token, up to `MAX_UNAUTHORIZED` refusals in a row; with a fixed token (or none)
   * the client stops. `error` fires with the hub's code either way.
   */
  _onUnauthorized({ code = 'unauthorized', message: text = '' }) {
    this.unauthorized += 1;
    this.emitter.fire('error', { code, message: `the hub refused the token: ${text}` });
    const retry = this.tokenFn && this.unauthorized < MAX_UNAUTHORIZED;
    this._onClose(CloseCode.ABNORMAL, `handshake refused (401 ${code}): ${text}`, retry ? null : { code, message: text });
  },
};
