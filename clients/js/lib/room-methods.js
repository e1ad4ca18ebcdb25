/**
 * The rooms a client joined, on the live link: the application's `$join`s, the rejoins of
 * a new session, and each history room's position (PROTOCOL.md section 11), which every
 * message of the room moves on. Methods of `Client` (installed on its prototype by
 * `client.js`).
 *
 * @module switchboard/lib/room-methods
 */

import { message } from './message.js';

/** How many earlier session ids a client remembers, to know its own relays in a replay. */
const PAST_IDS = 16;

/** `Client`'s methods for its rooms. */
export const roomMethods = {
  /**
   * A `$join` of the application's (`join`, `emitWithAck('$join')`): the room is remembered
   * once answered, its position taken from the reply; with `given`, recovering from it.
   */
  _join(room, given, timeout) {
    const since = given ? this.positions.seed(room, given) : null;
    const joined = (data) => {
      this.rooms.add(room);
      this._onJoined(room, data, since);
    };
    return this._request(message('$join', since ? { room, since } : { room }), timeout, joined)
      .catch((err) => {
        if (!this.rooms.has(room)) this.positions.remove(room);
        throw err;
      });
  },

  /** A rejoin on a new session: with `since` the client's position in a history room. */
  _rejoin(room) {
    const since = this.positions.since(room);
    const joined = (data) => this._onJoined(room, data, since);
    return this._request(message('$join', since ? { room, since } : { room }), undefined, joined).catch((err) => {
      if (err.code === 'forbidden') {
        this.rooms.delete(room);
        this.positions.remove(room);
        this.emitter.fire('error', { code: err.code, message: `rejoin of ${room} refused`, room });
      }
    });
  },

  /** A `$join` answered `data`: the room's position, and `recovered` when it sent `since`. */
  _onJoined(room, data, since) {
    const recovered = this.positions.onJoinReply(room, data, since);
    if (recovered !== null) this.emitter.fire('recovered', { room, recovered });
  },

  /**
   * Whether a hub event goes on to the handlers: a message of a history room moves the
   * room's position on, and one received already (a recovery's replay) is dropped, as is
   * one this client relayed in an earlier session (the hub never sends a relay back to its
   * sender live). A room whose epoch is not known is asked it with a quiet `$join` (its
   * reply is ordered with the room's messages).
   */
  _admit(msg) {
    if (typeof msg.room !== 'string' || typeof msg.offset !== 'number') return true;
    // This client's own relay from an earlier session, in a recovery's replay: it moves the
    // position on, but is not handed back to the client that sent it.
    const own = typeof msg.from === 'string' && this.pastIds.includes(msg.from);
    const verdict = this.positions.onMessage(msg.room, msg.offset);
    if (verdict === 'duplicate') return false;
    if (verdict === 'locate') {
      const room = msg.room;
      const located = (data) => this.positions.onLocated(room, data);
      // A failure is not asked again until the room's next $join reply.
      this._request(message('$join', { room }), undefined, located).catch(() => {});
    }
    return !own;
  },

  /**
   * A `$welcome` named the session `id`: a new session's predecessor joins the earlier ids,
   * whose relays a room's history may replay (see `_admit`).
   */
  _rememberPastId(id) {
    if (this.session.id === null || this.session.id === id) return;
    this.pastIds.push(this.session.id);
    if (this.pastIds.length > PAST_IDS) this.pastIds.shift();
  },
};
