// The client's API used the way an application would, checked (never run) by
// `tsc -p clients/js/types-test` in CI. It imports the package by its name, so the
// `exports` map and its `types` condition are what resolve it. Each `@ts-expect-error`
// line is a wrong use the declarations must reject (tsc fails if one is accepted).
import connect, {
  Client,
  CloseCode,
  SwitchboardError,
  pollingUrl,
  connect as namedConnect,
  type AckOptions,
  type BatchingOptions,
  type ClientState,
  type ConnectInfo,
  type ConnectOptions,
  type DisconnectInfo,
  type ErrorInfo,
  type EventMeta,
  type HistoryPosition,
  type JoinOptions,
  type JoinReply,
  type JoinedData,
  type LeftData,
  type Presence,
  type PresenceMeta,
  type PresenceUser,
  type ReconnectOptions,
  type RecoveredInfo,
  type RoomOperator,
  type TokenFunction,
  type TransportName,
} from 'switchboard-client';

interface Chat {
  text: string;
}

const reconnect: ReconnectOptions = {
  reconnect: true,
  reconnectAttempts: 10,
  reconnectDelay: 500,
  reconnectDelayMax: 10_000,
  jitter: false,
};
const batching: BatchingOptions = { maxMessages: 16, maxDelay: 2 };
const options: ConnectOptions = {
  ...reconnect,
  token: 'secret',
  transports: ['websocket', 'polling'],
  upgradeRetry: 5000,
  connectTimeout: 3000,
  ackTimeout: 2000,
  maxQueue: 50,
  batching,
  WebSocket, // the DOM's class fits
  fetch, // and so does the DOM's fetch
};

export async function main(): Promise<void> {
  const client: Client = connect('ws://127.0.0.1:8080/ws', options);
  const other = namedConnect('/ws');
  const third = new Client(undefined, { batching: true, transports: ['polling'] });
  // Tokens: a function returning a fresh one (or a Promise of one) for every handshake
  // and refresh.
  const signIn: TokenFunction = async () => {
    const res = await fetch('/token');
    return res.text();
  };
  const fourth = connect('/ws', { token: signIn });
  const fifth = connect('/ws', { token: () => 'fixed-but-from-a-function' });

  // Lifecycle events are typed by name.
  client.on('connect', (info: ConnectInfo) => {
    const transport: TransportName = info.transport;
    console.log(info.id, info.resumed, info.missed, transport, client.reconnectCount);
  });
  client.on('disconnect', ({ code, reason, willReconnect, error }: DisconnectInfo) => {
    if (code === CloseCode.KICKED) console.log('kicked', reason, willReconnect);
    if (error && error.code === 'token_expired') console.log('sign in again:', error.message);
  });
  client.on('reconnecting', ({ attempt, delay }) => console.log(attempt, delay));
  client.on('error', (e: ErrorInfo) => console.log(e.code, e.message));
  client.on('state', (s: ClientState) => console.log(s));

  // Hub events: data typed by the handler, meta from the hub; the return value is the ack reply.
  client.on<Chat>('chat', (chat, meta: EventMeta) => {
    console.log(meta.room, meta.from, chat.text.toUpperCase());
  });
  const onEcho = (n: number) => n + 1;
  client.on('echo', onEcho).off('echo', onEcho).off('chat');

  // Rooms.
  const joined: { room: string } = await client.join('lobby');
  const inLobby: boolean = client.inRoom(joined.room);
  const rooms: ReadonlySet<string> = client.rooms;
  console.log(inLobby, rooms.size);
  const lobby: RoomOperator = client.to('lobby');
  const delivered: boolean = lobby.emit('chat', { text: 'hi' });
  await lobby.emitWithAck('chat', { text: 'acked' }, { timeout: 1000 });
  await client.leave('lobby');

  // Room history: the position to keep, a join that recovers from it, and the outcome of
  // each recovery (a rejoin on a new session, or a join with since).
  client.on('recovered', ({ room, recovered }: RecoveredInfo) => {
    if (!recovered) console.log('messages of', room, 'were lost');
  });
  const kept: HistoryPosition | null = client.roomPosition('feed-1');
  const fromKept: JoinOptions = { since: kept, timeout: 1000 };
  const back: JoinReply = await client.join('feed-1', fromKept);
  const epoch: string | undefined = back.epoch;
  const recoveredAll: boolean = back.recovered === true && (back.offset ?? 0) >= 0;
  console.log(epoch, recoveredAll, (await client.join('feed-2', { since: null })).room);

  // Presence: who is in a room, and who comes and goes (the room in meta.room).
  interface Profile {
    name: string;
  }
  const present: Presence<Profile> = await client.presence<Profile>('lobby', { timeout: 1000 });
  const first: PresenceUser<Profile> | undefined = present.users[0];
  const shown: string | undefined = first?.info?.name;
  const anonymous: number = present.anonymous + (first ? first.sockets : 0);
  console.log(present.room, shown, anonymous);
  const onJoined = (data: JoinedData<Profile>, meta: PresenceMeta) => {
    const room: string = meta.room;
    console.log(room, data.user, data.info ? data.info.name : data.user);
  };
  client.on<Profile>('$joined', onJoined).off('$joined', onJoined);
  client.on('$left', ({ user }: LeftData, { room }) => console.log(user, 'left', room));
  const loose: Presence = await client.presence('lobby');
  const info: unknown = loose.users.map((u) => u.info);
  console.log(info);

  // Events and acks.
  const sent: boolean = client.emit('typing');
  const ack: AckOptions = { timeout: 500 };
  const reply = await client.emitWithAck<{ sum: number }>('add', [1, 2], ack);
  const sum: number = reply.sum;
  try {
    await client.emitWithAck('nobody', 1);
  } catch (err) {
    if (err instanceof SwitchboardError && err.code === 'no_handler') console.log(err.message);
  }

  // State.
  const id: string | null = client.id;
  const state: ClientState = client.state;
  const transport: TransportName | null = client.transportName;
  const token: string | null = client.session.token;
  const received: number = client.session.received;
  const user: string | null = client.user;
  const expiresAt: number | null = client.expiresAt;
  console.log(user, expiresAt, client.session.user, client.session.expiresAt);
  const code: CloseCode = CloseCode.SESSION_TAKEN_OVER;
  const poll: string = pollingUrl(client.url);
  console.log(delivered, sent, sum, id, state, transport, token, received, code, poll);

  client.close();
  other.close();
  third.close();
  fourth.close();
  fifth.close();

  // ------------------------------------------------------------ what must not compile

  // @ts-expect-error: an unknown transport
  connect('/ws', { transports: ['carrier-pigeon'] });
  // @ts-expect-error: a number of ms, not a string
  connect('/ws', { reconnectDelay: '1s' });
  // @ts-expect-error: no such option
  connect('/ws', { reconectAttempts: 3 });
  // @ts-expect-error: batching takes maxMessages, not size
  connect('/ws', { batching: { size: 4 } });
  // @ts-expect-error: `connect` info has no `code`
  client.on('connect', (info) => info.code);
  // @ts-expect-error: the state event gives a ClientState, not a number
  client.on('state', (s: number) => s);
  // @ts-expect-error: the event name is a string
  client.emit(42);
  // @ts-expect-error: a room is a string
  client.inRoom(7);
  // @ts-expect-error: reconnectCount is read-only
  client.reconnectCount = 0;
  // @ts-expect-error: the rooms are changed through join and leave only
  client.rooms.add('sneaky');
  // @ts-expect-error: the timeout option is a number
  await client.emitWithAck('x', 1, { timeout: 'soon' });
  // @ts-expect-error: a token is a string or a function returning one
  connect('/ws', { token: 42 });
  // @ts-expect-error: a token function returns a string (or a Promise of one)
  connect('/ws', { token: async () => 42 });
  // @ts-expect-error: $left data carries the user only
  client.on('$left', (data) => data.info);
  // @ts-expect-error: a presence user's socket count is a number
  const sockets: string = (await client.presence('lobby')).users[0]!.sockets;
  console.log(sockets);
  // @ts-expect-error: presence takes a room name
  await client.presence({ room: 'lobby' });
  // @ts-expect-error: a token function takes no arguments
  connect('/ws', { token: (scope: string) => scope });
  // @ts-expect-error: the user is read-only
  client.user = 'mallory';
  // @ts-expect-error: expiresAt is a number of Unix seconds, not a Date
  const when: Date | null = client.expiresAt;
  console.log(when);
  // @ts-expect-error: a position's offset is a number
  await client.join('feed-1', { since: { epoch: 'e', offset: '3' } });
  // @ts-expect-error: the recovered event tells a boolean
  client.on('recovered', (info: { room: string; recovered: string }) => info);
  // @ts-expect-error: roomPosition may be null
  const offset: number = client.roomPosition('feed-1').offset;
  console.log(offset);
  // @ts-expect-error: not a named close code
  const bad: CloseCode = 1234;
  // @ts-expect-error: CloseCode is frozen
  CloseCode.NORMAL = 1001;
  console.log(bad);
}
