// The dashboard's API client: same-origin fetches carrying the session cookie, and the
// CSRF token in X-CSRF-Token on every change.

let csrf = null;
/** Called when the server says the session is gone (401). */
let onLoggedOut = () => {};

export function setLoggedOutHandler(fn) { onLoggedOut = fn; }

/** An error answer of the API, with its code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(response) {
  let code = null; let message = null;
  try {
    const body = await response.json();
    code = body?.error?.code; message = body?.error?.message;
  } catch { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

/** A request to `/admin/...`; resolves with the JSON answer (null for 204). */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  if (response.status === 401 && !path.endsWith('/login')) {
    csrf = null;
    onLoggedOut();
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Logs in; resolves once the session cookie is set. */
export async function login(password) {
  const answer = await api('/admin/login', { method: 'POST', body: { password } });
  csrf = answer.csrf;
  return answer;
}

/** The current session, or null when logged out. */
export async function session() {
  try {
    const answer = await api('/admin/api/session');
    csrf = answer.csrf;
    return answer;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

/** Ends the session. */
export async function logout() {
  try { await api('/admin/logout', { method: 'POST' }); } finally { csrf = null; }
}
