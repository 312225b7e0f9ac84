// The single-page app: routes on location.pathname, pages mount into #app and return
// a cleanup function. The server answers /, /login, /register, /verify and /d/{id} with
// this page.

import './app.css';
import { fragmentSession, loadSession } from './auth.js';
import { loginPage, registerPage } from './pages/auth.js';
import { documentsPage } from './pages/documents.js';
import { editorPage } from './pages/editor.js';
import { notFoundPage } from './pages/not-found.js';
import { verifyPage } from './pages/verify.js';

const ROUTES = [
  { pattern: /^\/login\/?$/, page: loginPage, public: true },
  { pattern: /^\/register\/?$/, page: registerPage, public: true },
  { pattern: /^\/verify\/?$/, page: verifyPage, public: true, alsoSignedIn: true },
  { pattern: /^\/d\/([^/]+)\/?$/, page: editorPage },
  { pattern: /^\/$/, page: documentsPage },
];

let cleanup = null;

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function render() {
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
    cleanup = null;
  }
  const root = document.getElementById('app');
  root.replaceChildren();
  root.className = '';
  const path = location.pathname;
  const route = ROUTES.find((r) => r.pattern.test(path));
  if (route === undefined) {
    notFoundPage(root);
    return;
  }
  if (!route.public && loadSession() === null) {
    navigate(`/login?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    return;
  }
  // A sign-in landing with a new token pair (/login#access_token=…) replaces any old session.
  const landing = route.page === loginPage && fragmentSession(location.hash) !== null;
  if (route.public && !route.alsoSignedIn && !landing && loadSession() !== null
      && route.page !== registerPage) {
    // already signed in: go where the sign-in would have led
    const next = new URLSearchParams(location.search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    return;
  }
  const params = path.match(route.pattern).slice(1).map(decodeURIComponent);
  cleanup = route.page(root, { params, navigate }) ?? null;
}

document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[data-link]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey || link.origin !== location.origin) {
    return;
  }
  event.preventDefault();
  if (link.pathname + link.search !== location.pathname + location.search) {
    navigate(link.pathname + link.search);
  }
});
window.addEventListener('popstate', render);
render();
