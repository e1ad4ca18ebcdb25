/**
 * The URLs of the Switchboard browser client: the hub's WebSocket URL, the handshake
 * URLs of each transport, and a long-polling session's URL (PROTOCOL.md sections 5 and 6).
 *
 * @module switchboard/lib/urls
 */

/** `ws(s)://` as given; `http(s)://` and relative paths become `ws(s)://` on the page's origin. */
export function resolveUrl(url) {
  const base = globalThis.location && globalThis.location.href;
  const u = new URL(url || '/ws', base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.href;
}

/** The long-polling URL of a hub URL: `ws:` → `http:`, `wss:` → `https:`, path + `/poll`, only `token=` kept. */
export function pollingUrl(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/poll`;
  const token = u.searchParams.get('token');
  u.search = '';
  u.hash = '';
  if (token !== null) u.searchParams.set('token', token);
  return u.href;
}

/**
 * The WebSocket handshake URL: the hub URL with `token=` (when not null) and, for a
 * resume, `resume=<token>&last=<received>`.
 * @param {string} wsUrl
 * @param {string|null|undefined} token
 * @param {{token: string, last: number}|null} resume
 */
export function websocketUrl(wsUrl, token, resume) {
  const url = new URL(wsUrl);
  if (token != null) url.searchParams.set('token', token);
  if (resume) {
    url.searchParams.set('resume', resume.token);
    url.searchParams.set('last', String(resume.last));
  }
  return url.href;
}

/** The long-polling handshake URL (`POST P/poll`): `pollingUrl`, with `token=` when not null. */
export function pollingHandshakeUrl(wsUrl, token) {
  const url = new URL(pollingUrl(wsUrl));
  if (token != null) url.searchParams.set('token', token);
  return url.href;
}

/** A long-polling session's URL, `P/poll?sid=<sid>`, from the long-polling URL `P/poll`. */
export function sessionUrl(pollUrl, sid) {
  const u = new URL(pollUrl);
  u.search = '';
  u.searchParams.set('sid', sid);
  return u.href;
}
