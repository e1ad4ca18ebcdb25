// The publish form: to a room, a user, a socket or everyone, with JSON validation of the data.
import { api } from './api.js';
import { el, fill } from './format.js';
import { flash, jsonField } from './sockets.js';

const KINDS = [['room', 'Room'], ['user', 'User'], ['to', 'Socket id'], ['all', 'Everyone']];

/** The form; `preset` may name a target ({room}, {user} or {to}). */
export function renderPublish(view, preset = {}) {
  const initial = KINDS.find(([k]) => preset[k])?.[0] ?? 'room';
  const kind = el('select', { id: 'publish-kind', 'aria-label': 'Target kind' },
    KINDS.map(([k, label]) => el('option', { value: k, selected: k === initial }, label)));
  const target = el('input', { id: 'publish-target', placeholder: 'room name', value: preset[initial] ?? '', 'aria-label': 'Target' });
  const event = el('input', { id: 'publish-event', placeholder: 'event name', required: true, value: 'announcement' });
  const data = jsonField('publish-data', '{"text": "Hello from the admin dashboard"}');
  const result = el('p', { id: 'publish-result', class: 'muted', role: 'status' });
  const button = el('button', { id: 'publish-button', type: 'submit' }, 'Publish');
  const sync = () => {
    target.hidden = kind.value === 'all';
    target.placeholder = { room: 'room name', user: 'user (sub)', to: 'socket id' }[kind.value] ?? '';
  };
  kind.addEventListener('change', sync);
  data.area.addEventListener('input', () => { button.disabled = !data.check().ok; });
  sync();
  const form = el('form', { class: 'stack', id: 'publish-form', onsubmit: async (e) => {
    e.preventDefault();
    const parsed = data.check();
    if (!parsed.ok) return;
    const body = { event: event.value.trim(), data: parsed.value };
    if (kind.value !== 'all') {
      if (!target.value.trim()) { flash('Name the target', true); return; }
      body[kind.value] = target.value.trim();
    }
    try {
      await api('/admin/api/publish', { method: 'POST', body });
      const where = kind.value === 'all' ? 'everyone' : `${kind.selectedOptions[0].textContent.toLowerCase()} ${body[kind.value]}`;
      result.textContent = `Published "${body.event}" to ${where} at ${new Date().toLocaleTimeString()}`;
      flash('Published');
    } catch (err) {
      result.textContent = `Refused: ${err.message}`;
      flash(err.message, true);
    }
  } },
  el('label', { for: 'publish-kind' }, 'To'), el('div', { class: 'row' }, kind, target),
  el('label', { for: 'publish-event' }, 'Event'), event,
  el('label', { for: 'publish-data' }, 'Data (JSON)'), data.area, data.error, button, result);
  fill(view, el('div', { class: 'head' }, el('h1', {}, 'Publish')),
    el('div', { class: 'card narrow-wide' }, el('p', { class: 'muted' }, 'Delivered as POST /api/publish does: fire-and-forget, cluster-wide.'), form));
}
