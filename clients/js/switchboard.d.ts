/**
 * Type declarations of the Switchboard browser client (`switchboard.js`), hand-written.
 * They cover everything the entry module exports: `connect` (also the default export),
 * `Client`, `CloseCode`, `SwitchboardError` and `pollingUrl`, with the options, events
 * (presence's `$joined` and `$left` among them), error codes and results they use
 * (room history's positions among them). The modules in `lib/` are internal and not declared.
 *
 * They need no `lib: ["dom"]` and no Node types: the WebSocket class and `fetch` an
 * option may pass are described by their shape (`WebSocketLike`, `FetchLike`).
 *
 * `types-test/example.ts` uses this API the way an application would; CI checks it
 * with `tsc -p clients/js/types-test`.
 *
 * @module switchboard
 */

// ------------------------------------------------------------------ transports

/** A transport: a WebSocket, or long-polling over `fetch` (PROTOCOL.md section 6). */
export type TransportName = 'websocket' | 'polling';

/** The client's connection state (`client.state`, the `state` event). */
export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * What the client needs of a WebSocket object: the browser's `WebSocket`, Node's global
 * one (Node 22+, or 20 with `--experimental-websocket`) and the `ws` package's fit.
 */
export interface WebSocketLike {
  onopen: ((event: any) => any) | null;
  onmessage: ((event: any) => any) | null;
  onerror: ((event: any) => any) | null;
  onclose: ((event: any) => any) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class (`options.WebSocket`): constructed with the handshake URL. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What long-polling needs of `fetch` (`options.fetch`); the global `fetch` fits. */
export type FetchLike = (
  url: string,
  init?: any,
) => Promise<{ readonly status: number; text(): Promise<string> }>;

// ------------------------------------------------------------------ options

/** The reconnect policy (part of `ConnectOptions`). */
export interface ReconnectOptions {
  /** Reconnect after a lost link. Default `true`. */
  reconnect?: boolean;
  /**
   * Reconnect attempts after a drop or a failed handshake before giving up (state
   * `closed`; `disconnect` says why). `0`: never retry. Default `Infinity`.
   */
  reconnectAttempts?: number;
  /** The first backoff ceiling in ms; it doubles each attempt. Default `1000`. */
  reconnectDelay?: number;
  /** The largest backoff ceiling in ms. Default `30000`. */
  reconnectDelayMax?: number;
  /** Full jitter: each wait is random between 0 and the ceiling. Default `true`. */
  jitter?: boolean;
}

/** Batching (`options.batching`): several messages in one frame (PROTOCOL.md section 2). */
export interface BatchingOptions {
  /** The most messages in one batch frame (an integer >= 1). Default `32`. */
  maxMessages?: number;
  /** How long, in ms, the first message of a batch waits for others. Default `5`. */
  maxDelay?: number;
}

/** The options of `connect` (and of `new Client`). Every one is optional. */
export interface ConnectOptions extends ReconnectOptions {
  /** The WebSocket class to use. Default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** The `fetch` long-polling uses. Default: the global `fetch`. */
  fetch?: FetchLike;
  /** The transports to use, the first tried first. Default `['websocket', 'polling']`. */
  transports?: readonly TransportName[];
  /** While on long-polling, ms between tries to move to a WebSocket. Default `30000`. */
  upgradeRetry?: number;
  /**
   * The token of every handshake, sent as `token=` (the hub checks it, PROTOCOL.md
   * section 10, and hands it to the authentication hook): a fixed string, or a function
   * returning a fresh one (or a Promise of one), called for every handshake (the first
   * connect, every reconnect and resume, the move to a WebSocket) and every refresh. With a
   * function the client refreshes the token before it expires and retries a handshake
   * refused 401 with a fresh token (3 refusals in a row stop it); a fixed token refused
   * 401 stops the client at once.
   */
  token?: string | TokenFunction;
  /** Ms for a handshake to reach `$welcome` before it counts as failed. Default `20000`. */
  connectTimeout?: number;
  /** The default `emitWithAck` timeout in ms. Default `10000`. */
  ackTimeout?: number;
  /** Messages kept while not connected; past it they are dropped. Default `100`. */
  maxQueue?: number;
  /**
   * Send messages made within `maxDelay` ms of each other, up to `maxMessages`, as one
   * batch frame; `true` takes the defaults. Default: off (one frame per message).
   */
  batching?: boolean | BatchingOptions | null;
}

/** A function returning a fresh token (`options.token`). */
export type TokenFunction = () => string | PromiseLike<string>;

/** Options of one `emitWithAck`. */
export interface AckOptions {
  /** Ms before the promise rejects with code `timeout`. Default: `options.ackTimeout`. */
  timeout?: number;
}

// ------------------------------------------------------------------ events

/** Where a hub event came from: the room of a broadcast or relay, the relaying socket. */
export interface EventMeta {
  /** The room the event was broadcast or relayed to, if any. */
  room?: string;
  /** The socket id of the client that relayed it, if any. */
  from?: string;
}

/**
 * A handler of a hub event. If the hub asked for an ack, the first handler's return
 * value (or the value its promise resolves to) is the reply, a throw (or rejection)
 * replies `{"code":"internal"}`.
 */
export type EventHandler<T = any> = (data: T, meta: EventMeta) => unknown;

/** `connect`: a session is live (after each `$welcome`; on a new session, once rejoined). */
export interface ConnectInfo {
  /** The socket id. */
  id: string;
  /** Whether the session was resumed (same id and rooms, nothing lost). */
  resumed: boolean;
  /** On a resume, how many missed messages the hub replays; else `0`. */
  missed: number;
  /** The transport of the link. */
  transport: TransportName;
}

/** `disconnect`: a live link closed, or the client gave up. */
export interface DisconnectInfo {
  /** The close code (see `CloseCode`); `1006` for a link lost without a close frame. */
  code: number;
  /** Why. */
  reason: string;
  /** Whether the client reconnects. */
  willReconnect: boolean;
  /**
   * When the client stopped because the hub refused its token (a handshake answered 401):
   * the hub's error, code `unauthorized` or `token_expired`.
   */
  error?: { code: ErrorCode; message: string };
}

/** `reconnecting`: a reconnect attempt is scheduled. */
export interface ReconnectingInfo {
  /** The attempt's number, from 1 since the last live link. */
  attempt: number;
  /** The wait before it, in ms. */
  delay: number;
}

/** `error`: the hub's `$error` data, or a client-side problem that did not end the link. */
export interface ErrorInfo {
  /**
   * A hub code (`bad_message`, `rate_limited`, `unauthorized` and `token_expired` for a
   * handshake refused 401, …) or a client one (`transport`, `queue_full`, `refresh` for a
   * failed token refresh, `token` for a failed token function).
   */
  code: ErrorCode;
  message?: string;
  /** With `queue_full`: the event that was dropped. */
  event?: string;
  /** With a refused rejoin (`forbidden`): the room. */
  room?: string;
}

/**
 * `recovered`: the hub answered a `$join` that asked to recover a history room
 * (PROTOCOL.md section 11): the client's own rejoin on a new session, or
 * `join(room, {since})`. Fired before the recovered messages reach their handlers.
 */
export interface RecoveredInfo {
  /** The room. */
  room: string;
  /**
   * `true`: the messages missed follow, in order, as ordinary events. `false`: they are
   * lost (the history no longer reaches back, its epoch changed, or too many were missed);
   * the client goes on from the room's latest message (`roomPosition`).
   */
  recovered: boolean;
}

/** The lifecycle events and their handlers. The hub never delivers events of these names. */
export interface LifecycleEvents {
  connect: (info: ConnectInfo) => void;
  disconnect: (info: DisconnectInfo) => void;
  reconnecting: (info: ReconnectingInfo) => void;
  error: (error: ErrorInfo) => void;
  state: (state: ClientState) => void;
  recovered: (info: RecoveredInfo) => void;
}

/** A lifecycle event's name. */
export type LifecycleEvent = keyof LifecycleEvents;

/**
 * `N` when it names a hub event, `never` when it is a lifecycle event's name or a
 * presence event's (those have handlers typed of their own).
 */
export type HubEventName<N extends string> = N extends LifecycleEvent | PresenceEvent ? never : N;

// ------------------------------------------------------------------ presence

/**
 * One user present in a room (PROTOCOL.md section 10): every socket connected with the
 * same token `sub`. `I` is the type of the token's `info` claim, which the application
 * chooses.
 */
export interface PresenceUser<I = unknown> {
  /** The user id: the `sub` of the user's token. */
  user: string;
  /** The token's `info` claim (any JSON), or null without one. */
  info: I | null;
  /** How many of the user's sockets are in the room. */
  sockets: number;
}

/** The answer of `client.presence(room)`, and of `GET /api/rooms/{room}/presence`. */
export interface Presence<I = unknown> {
  room: string;
  /** The users in the room (at least one socket each). */
  users: PresenceUser<I>[];
  /** How many sockets without a user (anonymous) are in the room. */
  anonymous: number;
}

/** `$joined`: a user's first socket joined the room (the joining socket gets its own). */
export interface JoinedData<I = unknown> {
  user: string;
  /** The token's `info` claim, or null. */
  info: I | null;
}

/** `$left`: a user's last socket left the room, or ended. */
export interface LeftData {
  user: string;
}

/** The meta of a presence event: always the room it is about. */
export interface PresenceMeta extends EventMeta {
  room: string;
}

/** A presence event's name: `client.on('$joined', …)`, `client.on('$left', …)`. */
export type PresenceEvent = '$joined' | '$left';

// ------------------------------------------------------------------ room history

/**
 * Where a client stands in a history room (PROTOCOL.md section 11): `client.roomPosition`,
 * and the `since` of `client.join(room, {since})`.
 */
export interface HistoryPosition {
  /**
   * The room's epoch: its offsets are strictly increasing within it. `''` while the client
   * does not know it (the room had no history yet when it joined, or its history started
   * again).
   */
  epoch: string;
  /** The offset of the last message of the room received (or the room's latest at the join). */
  offset: number;
}

/** Options of one `join`. */
export interface JoinOptions extends AckOptions {
  /** Recover the messages of a history room that followed this position (one `roomPosition` gave). */
  since?: HistoryPosition | null;
}

/** The answer to `join`: the room, and in a history room its place. */
export interface JoinReply {
  room: string;
  /** In a history room: its epoch (`''` while it has no history yet). */
  epoch?: string;
  /** In a history room: the offset of its latest message (`0` while it has none). */
  offset?: number;
  /** With `since`, in a history room: whether the messages that followed it come next. */
  recovered?: boolean;
}

// ------------------------------------------------------------------ errors and close codes

/**
 * An error code: the hub's (PROTOCOL.md) or the client's own (`timeout`,
 * `disconnected`, `closed`, `queue_full`, `transport`, `too_large`). Applications'
 * handlers may answer with codes of their own.
 */
export type ErrorCode =
  | 'forbidden'
  | 'no_handler'
  | 'internal'
  | 'bad_message'
  | 'rate_limited'
  | 'timeout'
  | 'disconnected'
  | 'closed'
  | 'queue_full'
  | 'transport'
  | 'too_large'
  | 'unauthorized'
  | 'token_expired'
  | 'unavailable'
  | 'refresh'
  | 'token'
  | (string & {});

/** The error every rejected promise of the client carries. */
export declare class SwitchboardError extends Error {
  constructor(code: ErrorCode, message?: string);
  readonly name: 'SwitchboardError';
  /** The hub's error code, or the client's own. */
  readonly code: ErrorCode;
}

/** The WebSocket close codes of PROTOCOL.md section 3, by name. */
export declare const CloseCode: {
  readonly NORMAL: 1000;
  readonly GOING_AWAY: 1001;
  readonly PROTOCOL_ERROR: 1002;
  /** Never sent by the hub: the client reports it for a link lost without a close frame. */
  readonly ABNORMAL: 1006;
  readonly INVALID_PAYLOAD: 1007;
  readonly POLICY: 1008;
  readonly TOO_BIG: 1009;
  readonly INTERNAL: 1011;
  readonly RESTARTING: 1012;
  readonly KICKED: 4000;
  readonly SLOW_CONSUMER: 4001;
  readonly SESSION_TAKEN_OVER: 4002;
  readonly TOKEN_EXPIRED: 4003;
};

/** One of the named close codes. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

// ------------------------------------------------------------------ the client

/** The session (PROTOCOL.md sections 3 and 5): what a resume sends, and the heartbeat. */
export interface SessionInfo {
  /** The socket id (null before the first `$welcome`). */
  readonly id: string | null;
  /** The session token a resume sends (null before the first `$welcome`). */
  readonly token: string | null;
  /** The count of counted messages received on this session. */
  readonly received: number;
  /** The hub's heartbeat interval in ms. */
  readonly pingInterval: number;
  /** How long past the interval the link may stay silent, in ms. */
  readonly pingTimeout: number;
  /** The user of the latest `$welcome` (null before it, and for an anonymous socket). */
  readonly user: string | null;
  /** When the token expires, Unix seconds (null without a token). */
  readonly expiresAt: number | null;
}

/** Relays to one room (`client.to(room)`). */
export interface RoomOperator {
  /** Relays to the room's other members; `false` if dropped because the queue is full. */
  emit(event: string, data?: unknown): boolean;
  /** Relays and waits for the hub to accept it (rejects `forbidden` when not a member). */
  emitWithAck<R = unknown>(event: string, data?: unknown, opts?: AckOptions): Promise<R>;
}

/** A connection to a Switchboard hub. Create it with `connect`. */
export declare class Client {
  /**
   * @param url `ws(s)://…`, `http(s)://…` or a path on the page's origin (default `/ws`)
   */
  constructor(url?: string, options?: ConnectOptions);

  /** The hub URL, resolved to `ws(s)://`. */
  readonly url: string;
  /** The socket id from the latest `$welcome` (null before the first). */
  readonly id: string | null;
  /**
   * The user the hub named in the latest `$welcome`: the `sub` of the client's token
   * (PROTOCOL.md section 10); null before the first `$welcome` and for an anonymous socket.
   */
  readonly user: string | null;
  /**
   * When the hub counts the token as expired, Unix seconds: the latest `$welcome`'s
   * `expires_at`, moved on by each refresh; null without a token.
   */
  readonly expiresAt: number | null;
  /** The connection state. */
  readonly state: ClientState;
  /** The transport of the current link, or null. */
  readonly transportName: TransportName | null;
  /** The rooms joined through this client (rejoined after a new session). */
  readonly rooms: ReadonlySet<string>;
  /** The session: token and count a resume sends. */
  readonly session: SessionInfo;
  /**
   * How many times a session went live again after the first (resumed or new); a move
   * from long-polling to WebSocket is not a reconnect.
   */
  readonly reconnectCount: number;

  /** Whether the client is in `room` (joined through it and not left). */
  inRoom(room: string): boolean;
  /**
   * Where the client stands in a history room it joined (its epoch, and the offset of the
   * last message received); null for a room not joined through it or without history.
   */
  roomPosition(room: string): HistoryPosition | null;

  /** Adds a lifecycle handler. */
  on<E extends LifecycleEvent>(event: E, fn: LifecycleEvents[E]): this;
  /**
   * Adds a handler of `$joined`, which members of a room with presence get when a user's
   * first socket joins it (`I`: the type of the token's `info`).
   */
  on<I = unknown>(event: '$joined', fn: (data: JoinedData<I>, meta: PresenceMeta) => unknown): this;
  /** Adds a handler of `$left`: a user's last socket left the room or ended. */
  on(event: '$left', fn: (data: LeftData, meta: PresenceMeta) => unknown): this;
  /**
   * Adds a handler of hub event `event` (any name but a lifecycle one); its return value
   * answers the hub's ack.
   */
  on<T = any, N extends string = string>(event: HubEventName<N>, fn: EventHandler<T>): this;
  /** Removes a handler, or every handler of `event` when `fn` is omitted. */
  off<E extends LifecycleEvent>(event: E, fn?: LifecycleEvents[E]): this;
  off<I = unknown>(event: '$joined', fn?: (data: JoinedData<I>, meta: PresenceMeta) => unknown): this;
  off(event: '$left', fn?: (data: LeftData, meta: PresenceMeta) => unknown): this;
  off(event: string, fn?: EventHandler<any>): this;

  /** Sends an event (queued while not connected); `false` if dropped because the queue is full. */
  emit(event: string, data?: unknown): boolean;
  /**
   * Sends an event asking for a reply; resolves with the reply's data. Rejects with a
   * `SwitchboardError`: the reply's error code, `timeout`, `disconnected`, `closed` or
   * `queue_full`.
   */
  emitWithAck<R = unknown>(event: string, data?: unknown, opts?: AckOptions): Promise<R>;
  /**
   * Joins a room (an ack'd `$join`); rejects with code `forbidden` when refused. A history
   * room's position is tracked from then on, and a new session recovers what it missed
   * (`recovered` event). With `since`, recovers what followed a position the application
   * kept; the reply's `recovered` says whether it did.
   */
  join(room: string, opts?: JoinOptions): Promise<JoinReply>;
  /** Leaves a room (an ack'd `$leave`); it is no longer rejoined. */
  leave(room: string): Promise<{ room: string }>;
  /**
   * Who is in a room (an ack'd `$presence`): its users, each with its token's `info` and
   * its number of sockets there, and the number of anonymous sockets. Rejects with code
   * `forbidden` when the client is not a member or the server keeps no presence of the
   * room (`--presence GLOB`). `I`: the type of the tokens' `info`.
   */
  presence<I = unknown>(room: string, opts?: AckOptions): Promise<Presence<I>>;
  /** Relays to the other members of a room the client is in. */
  to(room: string): RoomOperator;
  /** Closes for good: ends the session; pending and queued acks reject with `closed`. */
  close(): void;
}

/**
 * The long-polling URL of a hub URL: `ws:` → `http:`, `wss:` → `https:`, the path plus
 * `/poll`, only the `token` query parameter kept.
 */
export declare function pollingUrl(wsUrl: string): string;

/**
 * Connects to a Switchboard hub; the client reconnects and resumes by itself.
 * @param url `ws(s)://…`, `http(s)://…` or a path on the page's origin (default `/ws`)
 */
export declare function connect(url?: string, options?: ConnectOptions): Client;

export default connect;
