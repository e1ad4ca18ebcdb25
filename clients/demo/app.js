// The Switchboard demo chat. Members come from GET /api/rooms/{room} (the hub's
// authoritative ids) combined with relayed `presence` events that carry display
// names; without the API (401/403) the list is built from presence alone.
// All user text goes into the page through textContent, never innerHTML.
import { connect } from '/switchboard.js';

const $ = (id) => document.getElementById(id);
const MEMBER_REFRESH_MS = 15000;

// `?transports=polling` (or `websocket`, or both, comma-separated) picks the transports;
// by default the client tries WebSocket and falls back to long-polling.
const wanted = new URLSearchParams(location.search).get('transports');
const client = connect('/ws', wanted ? { transports: wanted.split(',').map((t) => t.trim()) } : {});
const names = new Map(); // socket id -> display name (from presence events)
let me = { name: '', room: '' };
let apiOpen = true; // false after a 401/403 from the API
let apiMembers = []; // ids from the API's latest answer
let refreshTimer = null;

// ------------------------------------------------------------ connection state

function showState(state, detail = '') {
  const badge = $('state');
  badge.dataset.state = state;
  badge.dataset.transport = state === 'connected' ? detail : '';
  badge.textContent = detail ? `${state} · ${detail}` : state;
  $('members').classList.toggle('stale', state !== 'connected');
}
// The badge says which transport carries the session: "connected · polling".
client.on('state', (state) => showState(state, state === 'connected' ? client.transportName : ''));
client.on('reconnecting', ({ attempt, delay }) =>
  showState('reconnecting', `try ${attempt} in ${(delay / 1000).toFixed(1)} s`));
client.on('disconnect', ({ code, reason, willReconnect }) => {
  if (me.room) system(willReconnect ? 'Connection lost, reconnecting…' : `Disconnected (${code}${reason ? `: ${reason}` : ''})`);
});
client.on('connect', ({ resumed, transport }) => {
  showState('connected', transport);
  if (!me.room) return;
  // A new session came back with its rooms rejoined: say who we are again.
  if (!resumed) {
    names.set(client.id, me.name);
    announce(false);
    system('Reconnected');
  }
  refreshMembers();
});
client.on('error', (err) => {
  if (err && err.code && err.code !== 'transport') console.warn('switchboard:', err.code, err.message);
});

// ------------------------------------------------------------------ joining

$('name').value = localStorage.getItem('switchboard.name') || '';
$('room').value = localStorage.getItem('switchboard.room') || $('room').value;

$('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name').value.trim().slice(0, 32);
  const room = $('room').value.trim().slice(0, 64);
  if (!name || !room) return;
  $('join').disabled = true;
  $('join-error').hidden = true;
  try {
    if (me.room && me.room !== room) {
      client.to(me.room).emit('bye', { name: me.name });
      await client.leave(me.room);
    }
    await client.join(room);
    localStorage.setItem('switchboard.name', name);
    localStorage.setItem('switchboard.room', room);
    const changedRoom = me.room !== room;
    me = { name, room };
    if (changedRoom) {
      names.clear();
      apiMembers = [];
      $('messages').replaceChildren();
    }
    names.set(client.id, name);
    $('room-name').textContent = room;
    $('me').textContent = `you are ${name}`;
    $('join').textContent = 'Switch';
    $('chat').hidden = false;
    announce(false);
    system(`You joined #${room}`);
    refreshMembers();
    clearInterval(refreshTimer);
    refreshTimer = setInterval(refreshMembers, MEMBER_REFRESH_MS);
    $('text').focus();
  } catch (err) {
    $('join-error').textContent = err.code === 'forbidden'
      ? `The server does not allow the room "${room}".` : `Could not join: ${err.message}`;
    $('join-error').hidden = false;
  } finally {
    $('join').disabled = false;
  }
});

/** Tells the room who we are; `reply` marks an answer to a newcomer (not answered again). */
function announce(reply) {
  if (me.room) client.to(me.room).emit('presence', { name: me.name, reply });
}

window.addEventListener('pagehide', () => {
  if (me.room) client.to(me.room).emit('bye', { name: me.name });
});

// ------------------------------------------------------------------ events

client.on('presence', (data, meta) => {
  if (meta.room !== me.room || !meta.from || !data || typeof data.name !== 'string') return;
  // A name already listed under another id is a member back from a reconnect.
  const known = names.has(meta.from) || [...names.values()].includes(data.name.slice(0, 32));
  names.set(meta.from, data.name.slice(0, 32));
  if (!data.reply) {
    announce(true);
    if (!known) system(`${data.name} joined`);
  }
  refreshMembers();
});

client.on('bye', (data, meta) => {
  if (meta.room !== me.room || !meta.from) return;
  const name = names.get(meta.from) || (data && data.name) || 'someone';
  names.delete(meta.from);
  system(`${name} left`);
  refreshMembers();
});

client.on('chat', (data, meta) => {
  if (meta.room !== me.room || !data || typeof data.text !== 'string') return;
  const name = names.get(meta.from) || (typeof data.name === 'string' ? data.name : 'anonymous');
  addMessage(name, data.text, typeof data.ts === 'number' ? data.ts : Date.now(), false);
});

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

// Exposed for the browser test and the curious.
window.switchboardClient = client;
