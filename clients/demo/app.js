// The Switchboard demo chat.
//
// Signing in: the page connects anonymously, or with the token (a JSON Web Token) pasted
// in the form; a server started with --token-hmac-secret refuses the anonymous
// connection, and the page then asks for a token. A new token reconnects the page.
//
// Members come from GET /api/rooms/{room} (the hub's authoritative socket ids) combined
// with relayed `hello` events that carry display names; without the API (401/403) the
// list is built from those events alone.
//
// Presence (PROTOCOL.md section 10), for rooms the server keeps it of (--presence GLOB):
// the users in the room with their token's `info` and socket counts, and the anonymous
// sockets, from `$presence` on each join and reconnect, kept live by `$joined`/`$left`.
// For other rooms `$presence` answers `forbidden` and the page says presence is off.
//
// All user text goes into the page through textContent, never innerHTML.
import { connect } from '/switchboard.js';

const $ = (id) => document.getElementById(id);
const MEMBER_REFRESH_MS = 15000;
const TOKEN_KEY = 'switchboard.token'; // the pasted token, kept for this tab (sessionStorage)

// `?transports=polling` (or `websocket`, or both, comma-separated) picks the transports;
// by default the client tries WebSocket and falls back to long-polling.
const wanted = new URLSearchParams(location.search).get('transports');
const transports = wanted ? { transports: wanted.split(',').map((t) => t.trim()) } : {};

let client = null; // the current connection (a new one for each new token)
let token = ''; // the token `client` connected with ('' for none)
let refusal = null; // the hub's error when it refused `client`'s handshake: {code, message}
const names = new Map(); // socket id -> display name (from hello events)
let me = { name: '', room: '' };
let apiOpen = true; // false after a 401/403 from the API
let apiMembers = []; // ids from the API's latest answer
let refreshTimer = null;
// The presence of the current room: `on` is null until the hub answers, then true, or
// false when it keeps no presence of the room.
let presence = { on: null, users: new Map(), anonymous: 0 };

// ------------------------------------------------------------ connection

/** Connects with `jwt` (or anonymously when empty), replacing the current connection. */
function open(jwt) {
  const old = client;
  client = null; // from here on, the old connection's events are ignored
  if (old) old.close();
  token = jwt;
  refusal = null;
  const c = connect('/ws', jwt ? { ...transports, token: jwt } : transports);
  client = c;
  window.switchboardClient = c; // for the browser test and the curious
  // Events of a connection the page replaced are ignored.
  const on = (event, fn) => c.on(event, (...args) => c === client && fn(...args));
  showState('connecting');
  showTokenNote(); // a refusal of the connection replaced no longer stands

  on('state', (state) => showState(state, state === 'connected' ? c.transportName : ''));
  on('reconnecting', ({ attempt, delay }) =>
    showState('reconnecting', `try ${attempt} in ${(delay / 1000).toFixed(1)} s`));
  on('disconnect', ({ code, reason, willReconnect, error }) => {
    if (error) {
      // The hub refused the token, or wants one: the client has stopped.
      refusal = error;
      showState('closed', token ? 'token refused' : 'token needed');
      showTokenNote();
      return;
    }
    if (me.room) system(willReconnect ? 'Connection lost, reconnecting…' : `Disconnected (${code}${reason ? `: ${reason}` : ''})`);
  });
  on('connect', ({ resumed, transport }) => {
    showState('connected', transport);
    showTokenNote();
    if (!me.room) return;
    // A new session came back with its rooms rejoined: say who we are again.
    if (!resumed) {
      names.set(c.id, me.name);
      announce(false);
      system('Reconnected');
    }
    refreshMembers();
    refreshPresence();
  });
  on('error', (err) => {
    if (err && err.code && err.code !== 'transport') console.warn('switchboard:', err.code, err.message);
  });
  on('hello', onHello);
  on('bye', onBye);
  on('chat', onChat);
  on('$joined', onJoined);
  on('$left', onLeft);
}

function showState(state, detail = '') {
  const badge = $('state');
  badge.dataset.state = state;
  badge.dataset.transport = state === 'connected' ? detail : '';
  badge.textContent = detail ? `${state} · ${detail}` : state;
  $('members').classList.toggle('stale', state !== 'connected');
  $('presence').classList.toggle('stale', state !== 'connected');
}

/** Under the form: why the hub refused the connection, or who the page is signed in as. */
function showTokenNote() {
  const note = $('token-note');
  note.classList.toggle('error', refusal !== null);
  if (refusal) {
    note.textContent = token
      ? `The server refused this token (${refusal.code}): paste another one.`
      : 'This server asks for a token: paste one above, then join.';
  } else if (client.user) {
    note.textContent = `Signed in as ${client.user}.`;
  }
  note.hidden = !refusal && !client.user;
}

// ------------------------------------------------------------------ joining

/** The claims of a JSON Web Token, unverified (only to suggest a name), or null. */
function claimsOf(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (ch) => ch.charCodeAt(0))));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** The name a token suggests: its `info.name`, else its `sub`. */
function nameFrom(jwt) {
  const claims = claimsOf(jwt);
  if (!claims) return '';
  const name = claims.info && typeof claims.info.name === 'string' ? claims.info.name : claims.sub;
  return typeof name === 'string' ? name.slice(0, 32) : '';
}

$('name').value = localStorage.getItem('switchboard.name') || '';
$('room').value = localStorage.getItem('switchboard.room') || $('room').value;
$('token').value = sessionStorage.getItem(TOKEN_KEY) || '';
let suggested = ''; // the name the token field last filled in
$('token').addEventListener('input', () => {
  const name = nameFrom($('token').value.trim());
  if (name && (!$('name').value.trim() || $('name').value === suggested)) {
    $('name').value = name;
    suggested = name;
  }
});

open($('token').value.trim());

$('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name').value.trim().slice(0, 32);
  const room = $('room').value.trim().slice(0, 64);
  const jwt = $('token').value.trim();
  if (!name || !room) return;
  $('join').disabled = true;
  $('join-error').hidden = true;
  try {
    if (jwt !== token || client.state === 'closed') {
      // Another token (or another try): a new connection, which is in no room yet.
      if (me.room) client.to(me.room).emit('bye', { name: me.name });
      open(jwt);
      me = { name: me.name, room: '' };
      if (jwt) sessionStorage.setItem(TOKEN_KEY, jwt);
      else sessionStorage.removeItem(TOKEN_KEY);
    }
    if (me.room && me.room !== room) {
      client.to(me.room).emit('bye', { name: me.name });
      await client.leave(me.room);
    }
    await client.join(room);
    localStorage.setItem('switchboard.name', name);
    localStorage.setItem('switchboard.room', room);
    const changedRoom = $('room-name').textContent !== room;
    me = { name, room };
    if (changedRoom) {
      names.clear();
      apiMembers = [];
      $('messages').replaceChildren();
    }
    names.set(client.id, name);
    $('room-name').textContent = room;
    $('me').textContent = client.user ? `you are ${name} (${client.user})` : `you are ${name}`;
    $('join').textContent = 'Switch';
    $('chat').hidden = false;
    announce(false);
    system(`You joined #${room}`);
    refreshMembers();
    presence = { on: null, users: new Map(), anonymous: 0 };
    renderPresence();
    refreshPresence();
    clearInterval(refreshTimer);
    refreshTimer = setInterval(() => {
      refreshMembers();
      if (presence.on) refreshPresence();
    }, MEMBER_REFRESH_MS);
    $('text').focus();
  } catch (err) {
    $('join-error').textContent = joinError(err, room);
    $('join-error').hidden = false;
  } finally {
    $('join').disabled = false;
  }
});

function joinError(err, room) {
  if (err.code === 'forbidden') return `The server does not allow the room "${room}".`;
  if (refusal) return token ? `The server refused the token (${refusal.code}).` : 'This server asks for a token.';
  return `Could not join: ${err.message}`;
}

/** Tells the room who we are; `reply` marks an answer to a newcomer (not answered again). */
function announce(reply) {
  if (me.room) client.to(me.room).emit('hello', { name: me.name, reply });
}

window.addEventListener('pagehide', () => {
  if (me.room) client.to(me.room).emit('bye', { name: me.name });
});

// ------------------------------------------------------------------ events

function onHello(data, meta) {
  if (meta.room !== me.room || !meta.from || !data || typeof data.name !== 'string') return;
  // A name already listed under another id is a member back from a reconnect.
  const known = names.has(meta.from) || [...names.values()].includes(data.name.slice(0, 32));
  names.set(meta.from, data.name.slice(0, 32));
  if (!data.reply) {
    announce(true);
    if (!known) system(`${data.name} joined`);
    // A newcomer may be another socket of a user already listed: count again.
    if (presence.on) refreshPresence();
  }
  refreshMembers();
}

function onBye(data, meta) {
  if (meta.room !== me.room || !meta.from) return;
  const name = names.get(meta.from) || (data && data.name) || 'someone';
  names.delete(meta.from);
  system(`${name} left`);
  refreshMembers();
}

function onChat(data, meta) {
  if (meta.room !== me.room || !data || typeof data.text !== 'string') return;
  const name = names.get(meta.from) || (typeof data.name === 'string' ? data.name : 'anonymous');
  addMessage(name, data.text, typeof data.ts === 'number' ? data.ts : Date.now(), false);
}

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text || !me.room) return;
  const ts = Date.now();
  if (client.to(me.room).emit('chat', { name: me.name, text, ts })) {
    addMessage(me.name, text, ts, true);
    $('text').value = '';
  } else {
    system('Not sent: too many messages waiting for the connection');
  }
});

// ------------------------------------------------------------------ members

async function refreshMembers() {
  if (!me.room) return;
  const room = me.room;
  if (apiOpen) {
    try {
      const res = await fetch(`/api/rooms/${encodeURIComponent(room)}`, { cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        apiOpen = false;
        $('members-note').hidden = false;
      } else if (res.ok) {
        const body = await res.json();
        if (room === me.room && Array.isArray(body.members)) apiMembers = body.members;
      }
    } catch {
      // The server is away; the list is refreshed again on reconnect.
    }
  }
  renderMembers();
}

function renderMembers() {
  const ids = apiOpen ? [...apiMembers] : [...names.keys()];
  if (client.id && !ids.includes(client.id) && client.state === 'connected') ids.push(client.id);
  const rows = ids.map((id) => ({ id, name: names.get(id), self: id === client.id }))
    .sort((a, b) => Number(b.self) - Number(a.self) || (a.name || '~').localeCompare(b.name || '~'));
  $('members').replaceChildren(...rows.map(({ id, name, self }) => {
    const li = el('li', 'member');
    li.dataset.id = id;
    li.append(el('span', 'member-name', name || 'someone'));
    if (self) li.append(el('span', 'you', '(you)'));
    else if (!name) li.append(el('span', 'sid', id.slice(0, 6)));
    return li;
  }));
  $('member-count').textContent = String(rows.length);
}

// ------------------------------------------------------------------ presence

/** Asks the hub who is in the room (`$presence`); `forbidden` means presence is off here. */
async function refreshPresence() {
  if (!me.room) return;
  const c = client;
  const room = me.room;
  try {
    const answer = await c.presence(room);
    if (c !== client || room !== me.room) return;
    presence = {
      on: true,
      users: new Map(answer.users.map((u) => [u.user, { info: u.info, sockets: u.sockets }])),
      anonymous: answer.anonymous,
    };
  } catch (err) {
    if (c !== client || room !== me.room) return;
    // Anything else (a lost link, a timeout) keeps the list: it is asked again on reconnect.
    if (err.code === 'forbidden') presence = { on: false, users: new Map(), anonymous: 0 };
  }
  renderPresence();
}

/** `$joined`: a user's first socket joined (our own user's too, after our join). */
function onJoined(data, meta) {
  if (meta.room !== me.room || !data || typeof data.user !== 'string') return;
  const known = presence.users.get(data.user);
  presence.on = true;
  presence.users.set(data.user, { info: data.info ?? null, sockets: known ? known.sockets : 1 });
  renderPresence();
}

/** `$left`: a user's last socket left the room or ended. */
function onLeft(data, meta) {
  if (meta.room !== me.room || !data || typeof data.user !== 'string') return;
  presence.users.delete(data.user);
  renderPresence();
}

/** What to call a user: the `name` of its token's `info`, else its id. */
function displayName(user, info) {
  return info && typeof info === 'object' && typeof info.name === 'string' && info.name.trim()
    ? info.name.slice(0, 32) : user;
}

function renderPresence() {
  const self = client.user;
  const rows = [...presence.users].map(([user, { info, sockets }]) => ({ user, sockets, name: displayName(user, info) }))
    .sort((a, b) => Number(b.user === self) - Number(a.user === self) || a.name.localeCompare(b.name));
  $('presence').replaceChildren(...rows.map(({ user, sockets, name }) => {
    const li = el('li', 'member');
    li.dataset.user = user;
    const who = el('div', 'who');
    const line = el('div', 'line');
    line.append(el('span', 'member-name', name));
    if (user === self) line.append(el('span', 'you', '(you)'));
    who.append(line);
    if (name !== user) who.append(el('span', 'user', `@${user}`));
    li.append(who);
    const count = el('span', 'sockets', `${sockets} ${sockets === 1 ? 'socket' : 'sockets'}`);
    count.title = `${sockets} of ${user}'s connections are in the room`;
    li.append(count);
    return li;
  }));
  $('presence-count').textContent = String(rows.length);
  $('presence-anonymous').textContent = `and ${presence.anonymous} anonymous`;
  $('presence-anonymous').hidden = !presence.on || presence.anonymous === 0;
  $('presence-off').hidden = presence.on !== false;
}

// ------------------------------------------------------------------ rendering

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function addMessage(name, text, ts, mine) {
  const li = el('li', mine ? 'message mine' : 'message');
  const meta = el('div', 'meta');
  meta.append(el('span', 'name', name));
  const time = el('time', 'time', timeFormat.format(new Date(ts)));
  time.dateTime = new Date(ts).toISOString();
  meta.append(time);
  li.append(meta, el('div', 'text', text));
  append(li);
}

function system(text) {
  append(el('li', 'system', text));
}

function append(node) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(node);
  if (atBottom) list.scrollTop = list.scrollHeight;
}
