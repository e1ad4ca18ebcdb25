// The dashboard's entry: login and logout, the navigation, and the routes
// (#/overview, #/rooms, #/rooms/<room>, #/find, #/sockets/<id>, #/users/<user>, #/publish).
import { login, logout, session, setLoggedOutHandler } from './api.js';
import { startOverview, stopOverview } from './overview.js';
import { renderRoom, renderRooms } from './rooms.js';
import { flash, renderFind, renderSocket, renderUser } from './sockets.js';
import { renderPublish } from './publish.js';

const $ = (id) => document.getElementById(id);
let loggedIn = false;

function showLogin(message) {
  loggedIn = false;
  stopOverview();
  for (const id of ['nav', 'logout', 'overview', 'view']) $(id).hidden = true;
  $('login').hidden = false;
  const error = $('login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  document.body.dataset.state = 'logged-out';
  $('password').focus();
}

function showApp() {
  loggedIn = true;
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  document.body.dataset.state = 'logged-in';
  startOverview(async () => {
    // The stream broke: still logged in? (The server ends it on logout or expiry.)
    if (loggedIn && !(await session().catch(() => null))) showLogin('Your session has ended. Log in again.');
  });
  route();
}

/** The route's path and query. */
function current() {
  const hash = location.hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

async function route() {
  if (!loggedIn) return;
  const { parts, params } = current();
  const [name = 'overview', ...rest] = parts;
  for (const link of document.querySelectorAll('#nav a')) {
    const active = link.dataset.view === name || (name === 'sockets' || name === 'users' ? link.dataset.view === 'find' : false);
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const view = $('view');
  $('overview').hidden = name !== 'overview';
  view.hidden = name === 'overview';
  if (name === 'overview') { window.dispatchEvent(new Event('resize')); return; }
  view.dataset.route = name;
  try {
    if (name === 'rooms' && rest.length) await renderRoom(view, rest.join('/'));
    else if (name === 'rooms') await renderRooms(view, params.get('q') ?? '');
    else if (name === 'sockets') await renderSocket(view, rest.join('/'));
    else if (name === 'users') await renderUser(view, rest.join('/'));
    else if (name === 'publish') renderPublish(view, Object.fromEntries(params));
    else renderFind(view);
  } catch (err) {
    if (err.status !== 401) {
      view.replaceChildren();
      const p = document.createElement('p');
      p.className = 'error card';
      p.textContent = err.message;
      view.append(p);
    }
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = $('login-button');
  button.disabled = true;
  try {
    await login($('password').value);
    $('password').value = '';
    showApp();
  } catch (err) {
    showLogin(err.status === 429 ? `Too many attempts: ${err.message}` : (err.status === 401 ? 'Wrong password' : err.message));
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  try { await logout(); } catch { /* the session may be gone already */ }
  showLogin();
  flash('Logged out');
});

setLoggedOutHandler(() => { if (loggedIn) showLogin('Your session has ended. Log in again.'); });
window.addEventListener('hashchange', route);

session().then((s) => (s ? showApp() : showLogin())).catch((err) => showLogin(err.message));
