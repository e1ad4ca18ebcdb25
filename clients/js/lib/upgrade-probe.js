/**
 * The move back from long-polling to a WebSocket: after `upgradeRetry` a probe WebSocket
 * resumes the session, and once it opens the session goes on over it. Methods of `Client`
 * (installed on its prototype by `client.js`).
 *
 * @module switchboard/lib/upgrade-probe
 */

/** `Client`'s methods for the WebSocket probe. */
export const probeMethods = {
  /** On long-polling: try a WebSocket again after `upgradeRetry`. */
  _scheduleProbe() {
    if (!this.kinds.includes('websocket') || this._state === 'closed') return;
    this._timer('upgrade', this.options.upgradeRetry, () => this._startProbe());
  },

  /**
   * Tries a WebSocket that resumes the long-polling session. Once it opens, the hub has
   * taken the session over (a held GET answers 409 `session_taken_over`): the polling
   * link is let go and the WebSocket's `$welcome` goes on from there.
   */
  _startProbe() {
    const current = this.transport;
    if (this._state !== 'connected' || !this.welcomed || !current || current.kind !== 'polling' || this.probe || this.probeToken) return;
    if (!this.tokenFn) {
      this._startProbeWith(this.options.token);
      return;
    }
    // No other probe while the token function runs; `_cancelProbe` calls it off.
    const ask = this.probeToken = {};
    this._freshToken(this.options.connectTimeout).then((token) => {
      if (this.probeToken !== ask) return;
      this.probeToken = null;
      if (this._state === 'connected' && this.welcomed && this.transport === current) this._startProbeWith(token);
    }, () => {
      if (this.probeToken !== ask) return;
      this.probeToken = null;
      this._scheduleProbe();
    });
  },

  /** `_startProbe` with `token`. */
  _startProbeWith(token) {
    const probe = this._makeTransport('websocket', token, (self) => ({
      onOpen: () => this.probe === self() && this._switchTo(self()),
      onMessage: (text) => self() === this.transport && this._onFrame(text),
      onError: (err) => self() === this.transport &&
        this.emitter.fire('error', { code: err.code, message: err.message }),
      onClose: (code, reason) => {
        if (self() === this.transport) this._onLinkClosed(self(), code, reason);
        else if (this.probe === self()) {
          this.probe = null;
          clearTimeout(this.timers.probe);
          this._scheduleProbe();
        }
      },
      onUnsent: () => {},
    }));
    this.probe = probe;
    this._timer('probe', this.options.connectTimeout, () => {
      if (this.probe !== probe) return;
      this.probe = null;
      probe.abandon();
      this._scheduleProbe();
    });
  },

  /** Moves the session from the long-polling link to the opened probe WebSocket. */
  _switchTo(probe) {
    clearTimeout(this.timers.probe);
    this.probe = null;
    const old = this.transport;
    this.transport = probe;
    this.welcomed = false; // sends queue until the resumed $welcome
    this.switching = true;
    this._unbatch();
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.watchdog);
    if (old) old.abandon(); // no DELETE: the session goes on over the WebSocket
    this._timer('connect', this.options.connectTimeout, () => probe.fail(4900, 'connect timeout'));
  },

  _cancelProbe() {
    clearTimeout(this.timers.probe);
    this.probeToken = null;
    if (this.probe) {
      const probe = this.probe;
      this.probe = null;
      probe.abandon();
    }
  },
};
