// Rooms: a search over this node's rooms, and a room's page (members cluster-wide, the
// detail of this node's, presence where kept, and a kick per member).
import { api } from './api.js';
import { el, fill, link, num, seg } from './format.js';
import { flash, memberTable } from './sockets.js';

/** The rooms list with its search box; `q` is the search kept in the route. */
export async function renderRooms(view, q = '') {
  const input = el('input', { id: 'room-search', type: 'search', placeholder: 'Search rooms by name', value: q, 'aria-label': 'Search rooms' });
  const count = el('p', { class: 'muted', id: 'rooms-count' });
  const body = el('tbody');
  const table = el('table', { id: 'rooms-table' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Room'), el('th', { class: 'num' }, 'Members here'))), body);
  fill(view, el('div', { class: 'head' }, el('h1', {}, 'Rooms')),
    el('div', { class: 'card' }, el('form', { class: 'row', onsubmit: (e) => e.preventDefault() }, input), count,
      el('div', { class: 'scroll' }, table)));
  let pending = 0;
  async function search() {
    const mine = ++pending;
    const answer = await api(`/admin/api/rooms?q=${seg(input.value)}&limit=200`);
    if (mine !== pending) return;
    count.textContent = `${answer.total} room${answer.total === 1 ? '' : 's'} on node ${answer.node}` +
      (answer.total > answer.rooms.length ? ` (first ${answer.rooms.length} shown)` : '');
    fill(body, answer.rooms.length
      ? answer.rooms.map((r) => el('tr', {}, el('td', {}, link(`#/rooms/${seg(r.room)}`, r.room)), el('td', { class: 'num' }, num(r.members))))
      : [el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'No room matches'))]);
  }
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      history.replaceState(null, '', `#/rooms?q=${seg(input.value)}`);
      search().catch((err) => flash(err.message, true));
    }, 150);
  });
  await search();
  input.focus();
}

/** One room's page. */
export async function renderRoom(view, room) {
  const answer = await api(`/admin/api/rooms/${seg(room)}`);
  const presence = answer.presence
    ? el('div', { class: 'card' }, el('h2', {}, 'Presence'),
      el('p', { class: 'muted' }, `${answer.presence.users.length} users, ${answer.presence.anonymous} anonymous sockets`),
      el('ul', { class: 'plain', id: 'room-presence' }, answer.presence.users.map((u) =>
        el('li', {}, link(`#/users/${seg(u.user)}`, u.user), ` · ${u.sockets} socket${u.sockets === 1 ? '' : 's'}`))))
    : null;
  // Users first (by name), then anonymous sockets, then other nodes' (no detail here).
  const rank = (m) => (m.user ? 0 : m.node ? 1 : 2);
  const members = [...answer.members].sort((a, b) => rank(a) - rank(b) ||
    (a.user ?? '').localeCompare(b.user ?? '') || a.id.localeCompare(b.id));
  fill(view,
    el('div', { class: 'head' }, el('p', {}, link('#/rooms', '← Rooms')), el('h1', { id: 'room-title' }, room),
      el('p', { class: 'muted' }, `${members.length} member${members.length === 1 ? '' : 's'}`,
        answer.missing_nodes.length ? ` (nodes not answering: ${answer.missing_nodes.join(', ')})` : '')),
    el('div', { class: 'two' }, presence,
      el('div', { class: 'card' }, el('h2', {}, 'Publish to this room'),
        el('p', {}, link(`#/publish?room=${seg(room)}`, 'Open the publish form for this room')))),
    el('div', { class: 'card' }, el('h2', {}, 'Members'), memberTable(members, 'room-members')));
}
