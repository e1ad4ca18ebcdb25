// Sockets and users: find by id or user, a socket's detail with its actions (send an event,
// kick), a user's sockets with "disconnect user"; and the member table rooms use too.
import { api } from './api.js';
import { el, fill, link, num, seg, time } from './format.js';

/** Shows a short message at the top of the page. */
export function flash(text, bad = false) {
  const node = document.getElementById('flash');
  node.textContent = text;
  node.className = bad ? 'bad' : 'ok';
  node.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

/** Kicks a socket (closed with 4000), after a confirmation. */
export async function kick(id) {
  if (!window.confirm(`Kick socket ${id}? It is closed with 4000.`)) return false;
  await api(`/admin/api/sockets/${seg(id)}`, { method: 'DELETE' });
  flash(`Socket ${id} kicked`);
  return true;
}

/** A table of sockets (members of a room, sockets of a user). */
export function memberTable(rows, id) {
  const body = el('tbody', {}, rows.length ? rows.map((m) => el('tr', { 'data-socket': m.id },
    el('td', {}, link(`#/sockets/${seg(m.id)}`, m.id)),
    el('td', {}, m.user ? link(`#/users/${seg(m.user)}`, m.user) : (m.node ? el('span', { class: 'muted' }, 'anonymous') : '')),
    el('td', {}, m.transport ?? ''), el('td', {}, m.codec ?? ''), el('td', {}, m.remote ?? ''),
    el('td', {}, m.node ? el('code', {}, m.node) : el('span', { class: 'muted' }, 'other node')),
    el('td', {}, el('button', { type: 'button', class: 'small danger kick', onclick: (e) =>
      // The row goes at once: the hub closes the socket right after it answers, so a
      // reload now could still list it.
      kick(m.id).then((done) => done && e.target.closest('tr').remove()).catch((err) => flash(err.message, true)) }, 'Kick'))))
    : [el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'None'))]);
  return el('div', { class: 'scroll' }, el('table', { id },
    el('thead', {}, el('tr', {}, ...['Socket', 'User', 'Transport', 'Codec', 'Remote address', 'Node', ''].map((h) => el('th', {}, h)))), body));
}

/** The find form. */
export function renderFind(view) {
  const input = el('input', { id: 'find-input', type: 'search', placeholder: 'Socket id or user', 'aria-label': 'Socket id or user', required: true });
  const error = el('p', { class: 'error', id: 'find-error', hidden: true });
  const form = el('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    try {
      const found = await api(`/admin/api/find?q=${seg(input.value.trim())}`);
      location.hash = found.kind === 'socket' ? `#/sockets/${seg(found.id)}` : `#/users/${seg(found.id)}`;
    } catch (err) {
      error.textContent = err.message; error.hidden = false;
    }
  } }, input, el('button', { id: 'find-button', type: 'submit' }, 'Find'));
  fill(view, el('div', { class: 'head' }, el('h1', {}, 'Sockets & users')),
    el('div', { class: 'card' }, el('p', { class: 'muted' }, 'Find a socket by its id, or a user by the sub of their token.'), form, error));
  input.focus();
}

/** A JSON textarea that says whether it parses. */
export function jsonField(id, value = '{}') {
  const area = el('textarea', { id, rows: 4, spellcheck: 'false', 'aria-describedby': `${id}-error` }, value);
  const error = el('p', { class: 'error small', id: `${id}-error`, hidden: true });
  const check = () => {
    try {
      const text = area.value.trim();
      const parsed = text === '' ? null : JSON.parse(text);
      error.hidden = true; area.removeAttribute('aria-invalid');
      return { ok: true, value: parsed };
    } catch (err) {
      error.textContent = `Not valid JSON: ${err.message}`; error.hidden = false; area.setAttribute('aria-invalid', 'true');
      return { ok: false };
    }
  };
  area.addEventListener('input', check);
  return { area, error, check };
}

/** A socket's page. */
export async function renderSocket(view, id) {
  const s = await api(`/admin/api/sockets/${seg(id)}`);
  const back = el('p', {}, link('#/find', '← Sockets & users'));
  if (!s.node) {
    fill(view, el('div', { class: 'head' }, back, el('h1', {}, 'Socket ', el('code', {}, id))),
      el('div', { class: 'card' }, el('p', {}, 'Held by another node of the cluster. Rooms: ', s.rooms.join(', ') || 'none')));
    return;
  }
  const rows = [
    ['User', s.user ? link(`#/users/${seg(s.user)}`, s.user) : 'anonymous'],
    ['State', s.connected ? 'connected' : 'detached (waiting for a resume)'],
    ['Transport', `${s.transport}${s.subprotocol ? ` (${s.subprotocol})` : ''}`],
    ['Codec', s.codec], ['Remote address', s.remote ?? '–'], ['Node', el('code', {}, s.node)],
    ['Connected since', time(s.opened_at)], ['Token expires', s.token_expires_at ? time(s.token_expires_at) : '–'],
    ['Send queue', `${num(s.queue.pending)} / ${num(s.send_queue_capacity)} frames`],
    ['Resume buffer', `${num(s.queue.resume_messages)} / ${num(s.resume_buffer_capacity)} messages, ${num(s.queue.resume_bytes)} bytes`],
    ['Rooms', s.rooms.length ? el('span', {}, s.rooms.flatMap((r, i) => [i ? ', ' : '', link(`#/rooms/${seg(r)}`, r)])) : 'none'],
  ];
  const event = el('input', { id: 'send-event', placeholder: 'event name', required: true, value: 'notice' });
  const data = jsonField('send-data', '{"text": "hello"}');
  const form = el('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    const parsed = data.check();
    if (!parsed.ok) return;
    try {
      await api('/admin/api/publish', { method: 'POST', body: { event: event.value.trim(), data: parsed.value, to: id } });
      flash(`Sent "${event.value.trim()}" to ${id}`);
    } catch (err) { flash(err.message, true); }
  } }, el('label', { for: 'send-event' }, 'Event'), event, el('label', { for: 'send-data' }, 'Data (JSON)'), data.area, data.error,
  el('button', { id: 'send-button', type: 'submit' }, 'Send event'));
  fill(view, el('div', { class: 'head' }, back, el('h1', {}, 'Socket ', el('code', { id: 'socket-id' }, id))),
    el('div', { class: 'two' },
      el('div', { class: 'card' }, el('dl', { id: 'socket-detail', class: 'detail' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))),
      el('div', { class: 'card' }, el('h2', {}, 'Send an event'), form,
        el('h2', {}, 'Kick'), el('p', { class: 'muted' }, 'Closes the connection with 4000 and ends its session.'),
        el('button', { id: 'kick-button', type: 'button', class: 'danger', onclick: () =>
          kick(id).then((done) => { if (done) location.hash = '#/find'; }).catch((err) => flash(err.message, true)) }, 'Kick socket'))));
}

/** A user's page. */
export async function renderUser(view, user) {
  const answer = await api(`/admin/api/users/${seg(user)}`);
  fill(view, el('div', { class: 'head' }, el('p', {}, link('#/find', '← Sockets & users')), el('h1', {}, 'User ', el('code', { id: 'user-id' }, user)),
    el('p', { class: 'muted' }, `${answer.sockets.length} socket${answer.sockets.length === 1 ? '' : 's'} on the cluster`)),
  el('div', { class: 'card' }, memberTable(answer.sockets, 'user-sockets')),
  el('div', { class: 'card' }, el('h2', {}, 'Disconnect user'),
    el('p', { class: 'muted' }, 'Closes every socket of this user, on every node, with 4000.'),
    el('button', { id: 'disconnect-user', type: 'button', class: 'danger', onclick: async () => {
      if (!window.confirm(`Disconnect every socket of ${user}?`)) return;
      try {
        const done = await api(`/admin/api/users/${seg(user)}`, { method: 'DELETE' });
        flash(`${done.closed} socket${done.closed === 1 ? '' : 's'} of ${user} closed`);
        view.querySelectorAll('#user-sockets tbody tr').forEach((row) => row.remove());
      } catch (err) { flash(err.message, true); }
    } }, 'Disconnect user'),
    el('p', {}, link(`#/publish?user=${seg(user)}`, 'Publish to this user'))));
}
