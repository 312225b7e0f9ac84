// The page an email-verification link opens: /verify#token=… (a fragment, so the token
// never reaches server logs). It spends the token once and says how it went.

import { ApiError, api } from '../api.js';
import { h } from '../dom.js';

export function verifyPage(root) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', location.pathname);  // the token is single-use anyway
  const status = h('p', { id: 'verify-status', role: 'status' }, 'Confirming your email address…');
  root.append(h('main', { class: 'auth-page' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark' }, '✎'), 'Editor'),
      h('h1', {}, 'Email verification'), status,
      h('p', { class: 'auth-footer' }, h('a', { href: '/', 'data-link': '' }, 'Go to your documents')))));
  if (!token) {
    status.textContent = 'This link has no token. Open the link from the email exactly as it is.';
    return null;
  }
  let cancelled = false;
  api.verifyEmail(token).then(({ user }) => {
    if (!cancelled) status.textContent = `Thank you: ${user.email} is verified.`;
  }, (error) => {
    if (cancelled) return;
    status.textContent = error instanceof ApiError && error.code === 'invalid_token'
      ? 'This link is invalid, already used or expired. Sign in and ask for a new one.'
      : `Could not verify: ${error.message}`;
  });
  return () => { cancelled = true; };
}
