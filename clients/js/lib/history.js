/**
 * Where the Switchboard browser client stands in each history room it joined (PROTOCOL.md
 * section 11): the room's epoch and the offset of the last message received, what a rejoin
 * on a new session sends as `since`, and which recovered messages repeat ones received.
 *
 * Messages carry their offset but not their epoch, so the client knows the epoch only from
 * a `$join` reply. Two cases leave it unknown (kept as `''`): the room had no history yet
 * when it was joined (the first message starts an epoch), and an offset that goes back
 * outside a recovery (the room's history expired whole, or was lost, and a new epoch
 * started at 1). In both the client asks the hub with a quiet `$join` of the room
 * (`onMessage` answers `'locate'`); until the answer, a rejoin sends
 * `since: {epoch: '', offset: 0}` ("from the start of the epoch that followed") and drops
 * the replayed messages up to the last one received.
 *
 * @module switchboard/lib/history
 */

/**
 * A room's place.
 * @typedef {object} Place
 * @property {string} epoch - the room's epoch; `''` while it is not known
 * @property {number} offset - the offset of the last message received (or the room's
 *   latest at the last `$join` reply)
 * @property {number|null} replayUntil - during a recovery, the room's latest offset when
 *   the hub answered: replayed messages up to it not past `offset` were received already
 * @property {boolean} asked - a quiet `$join` asking the epoch is in flight (or failed):
 *   not asked again until the room's next `$join` reply
 */

/** The places of the history rooms joined through a client. */
export class Positions {
  constructor() {
    /** @type {Map<string, Place>} */
    this.rooms = new Map();
  }

  /**
   * The room's position for the application, or null.
   * @param {string} room
   * @returns {{epoch: string, offset: number}|null}
   */
  get(room) {
    const place = this.rooms.get(room);
    return place ? { epoch: place.epoch, offset: place.offset } : null;
  }

  /**
   * The `since` a `$join` of `room` sends to recover what followed the last message
   * received, or null for a room without a position. An unknown epoch sends
   * `{epoch: '', offset: 0}`: the whole epoch that followed, the messages received already
   * dropped as they come.
   * @param {string} room
   * @returns {{epoch: string, offset: number}|null}
   */
  since(room) {
    const place = this.rooms.get(room);
    return place ? wireSince(place) : null;
  }

  /**
   * Takes a position the application gives (`join(room, {since})`), unless the room is
   * tracked already (its own is as recent); returns the `since` to send.
   * @param {string} room
   * @param {{epoch: string, offset: number}} position
   * @returns {{epoch: string, offset: number}}
   */
  seed(room, position) {
    if (!this.rooms.has(room)) this.rooms.set(room, at(position.epoch, position.offset));
    return wireSince(this.rooms.get(room));
  }

  /** Forgets `room` (left, refused, or it keeps no history). @param {string} room */
  remove(room) {
    this.rooms.delete(room);
  }

  /**
   * A `$join` of `room` was answered with `data` (the client's own join, a rejoin, or a
   * quiet one asking the epoch); `since` is what it sent, if anything. A reply without
   * `epoch` is a room without history: its position is dropped. With `recovered: true`
   * the client stays where it was, in the reply's epoch, and the replay that follows moves
   * it on; otherwise it stands at the room's latest offset.
   * @param {string} room
   * @param {*} data
   * @param {{epoch: string, offset: number}|null} since
   * @returns {boolean|null} whether the hub recovered, when `since` was sent
   */
  onJoinReply(room, data, since) {
    const recovered = since ? Boolean(data && data.recovered === true) : null;
    const epoch = data && data.epoch;
    const latest = data && data.offset;
    if (typeof epoch !== 'string' || !Number.isInteger(latest)) {
      this.rooms.delete(room);
      return recovered === null ? null : false;
    }
    if (!recovered) {
      this.rooms.set(room, at(epoch, latest));
      return recovered;
    }
    // What was received already: in the same epoch, or in an unknown one no further on
    // than the room (the epoch that followed).
    const old = this.rooms.get(room);
    let received = 0;
    if (old && (old.epoch === epoch || (old.epoch === '' && old.offset <= latest))) received = old.offset;
    else if (!old && since.epoch === epoch) received = since.offset;
    // The hub replays what followed `since` in its epoch, or the whole epoch.
    const after = since.epoch === epoch ? since.offset : 0;
    this.rooms.set(room, { ...at(epoch, received), replayUntil: after < latest ? latest : null });
    return true;
  }

  /**
   * The answer to a quiet `$join` asking `room`'s epoch: the room's epoch and latest
   * offset, which every message received before the answer reached already. Ignored for
   * a room left meanwhile.
   * @param {string} room
   * @param {*} data
   */
  onLocated(room, data) {
    if (this.rooms.has(room)) this.onJoinReply(room, data, null);
  }

  /**
   * A message of `room` with `offset` arrived: `'deliver'` it, `'locate'` (deliver it and
   * ask the room's epoch, not known) or drop a `'duplicate'` (a recovered message received
   * already). Untracked rooms are delivered as they are.
   * @param {string} room
   * @param {number} offset
   * @returns {'deliver'|'locate'|'duplicate'}
   */
  onMessage(room, offset) {
    const place = this.rooms.get(room);
    if (!place) return 'deliver';
    const replaying = place.replayUntil !== null;
    if (replaying && offset >= place.replayUntil) place.replayUntil = null;
    if (offset <= place.offset) {
      if (replaying) return 'duplicate';
      // Outside a recovery the hub sends a room's messages once, in the order of their
      // offsets: going back means a new epoch.
      place.epoch = '';
    }
    place.offset = offset;
    if (place.epoch === '' && !place.asked) {
      place.asked = true;
      return 'locate';
    }
    return 'deliver';
  }

  /** A new session: quiet `$join`s and replays in flight were lost with the old one. */
  forgetInFlight() {
    for (const place of this.rooms.values()) {
      place.asked = false;
      place.replayUntil = null;
    }
  }
}

/** A place at `epoch` and `offset`, nothing in flight. */
function at(epoch, offset) {
  return { epoch, offset, replayUntil: null, asked: false };
}

/** What a `$join` sends to recover from `place`. */
function wireSince(place) {
  return { epoch: place.epoch, offset: place.epoch === '' ? 0 : place.offset };
}
