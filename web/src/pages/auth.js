// Sign in and register.

import { ApiError, api } from '../api.js';
import { fragmentSession, saveSession } from '../auth.js';
import { h, replaceChildren } from '../dom.js';

// Where to go after an OpenID Connect sign-in: the round trip through the provider
// loses ?next=, so the page keeps it for the tab meanwhile.
const OIDC_NEXT_KEY = 'editor.oidc.next';

/** `path` if it stays on this site ("//host" and "/\host" leave it), else '/'. */
function localPath(path) {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\')
    ? path : '/';
}

/** Where to go after signing in: a local path from ?next=, else the documents list. */
export function nextPath() {
  return localPath(new URLSearchParams(location.search).get('next'));
}

function providerLabel(name) {
  return `Sign in with ${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/** "Sign in with …" links, one per configured OpenID Connect provider. */
function providerLinks() {
  const holder = h('div', { class: 'oauth-providers', id: 'oauth-providers' });
  api.oauthProviders().then((names) => {
    if (names.length === 0) return;
    replaceChildren(holder, h('p', { class: 'oauth-divider' }, 'or'), names.map((name) =>
      h('a', { class: 'oauth-link', href: `/v1/auth/oauth/${encodeURIComponent(name)}/start`,
               dataset: { provider: name },
               onclick: () => sessionStorage.setItem(OIDC_NEXT_KEY, nextPath()) },
        providerLabel(name))));
  }, () => {}); // without the list, signing in with a password still works
  return holder;
}

/** Take the tokens an OpenID Connect sign-in left in the fragment; whether there were any. */
function adoptFragmentSession(navigate) {
  const session = fragmentSession(location.hash);
  if (session === null) return false;
  history.replaceState(null, '', location.pathname); // tokens out of the address bar
  saveSession(session);
  const next = localPath(sessionStorage.getItem(OIDC_NEXT_KEY));
  sessionStorage.removeItem(OIDC_NEXT_KEY);
  navigate(next, { replace: true });
  return true;
}

function field(label, props) {
  return h('label', { class: 'field' }, h('span', {}, label), h('input', props));
}

function authCard(title, form, footer) {
  return h('main', { class: 'auth-page' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark' }, '✎'), 'Editor'),
      h('h1', {}, title), form, h('p', { class: 'auth-footer' }, footer)));
}

function explain(error) {
  if (error instanceof ApiError) {
    if (error.code === 'email_taken') return 'That email already has an account. Sign in instead.';
    if (error.status === 401) return 'Wrong email or password.';
    if (error.code === 'email_not_verified') return 'Verify your email first: see the link we sent you.';
    if (error.status === 429) return 'Too many attempts; wait a minute and try again.';
    return error.message;
  }
  return `Something went wrong: ${error.message}`;
}

async function submitting(form, errorBox, fn) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  errorBox.textContent = '';
  try {
    await fn();
  } catch (error) {
    errorBox.textContent = explain(error);
  } finally {
    button.disabled = false;
  }
}

export function loginPage(root, { navigate }) {
  if (adoptFragmentSession(navigate)) return null;
  const errorBox = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const form = h('form', { id: 'login-form', class: 'stack', novalidate: false },
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true,
                     autofocus: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password',
                        required: true }),
    errorBox,
    h('button', { type: 'submit', class: 'primary wide' }, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    submitting(form, errorBox, async () => {
      await api.login(String(data.get('email')).trim(), String(data.get('password')));
      navigate(nextPath(), { replace: true });
    });
  });
  const registerLink = h('a', { href: `/register${location.search}`, 'data-link': true },
                         'Create an account');
  root.append(authCard('Sign in', [form, providerLinks()], ['New here? ', registerLink]));
  document.title = 'Sign in — Editor';
}

export function registerPage(root, { navigate }) {
  const errorBox = h('p', { class: 'form-error', role: 'alert', id: 'register-error' });
  const form = h('form', { id: 'register-form', class: 'stack' },
    field('Name', { name: 'name', type: 'text', autocomplete: 'name', required: true,
                    maxlength: 100, autofocus: true }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'new-password',
                        required: true, minlength: 8 }),
    h('p', { class: 'hint' }, 'At least 8 characters.'),
    errorBox,
    h('button', { type: 'submit', class: 'primary wide' }, 'Create account'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const email = String(data.get('email')).trim();
    const password = String(data.get('password'));
    if (password.length < 8) {
      errorBox.textContent = 'The password needs at least 8 characters.';
      return;
    }
    submitting(form, errorBox, async () => {
      await api.register(email, password, String(data.get('name')).trim());
      await api.login(email, password);
      navigate(nextPath(), { replace: true });
    });
  });
  const loginLink = h('a', { href: `/login${location.search}`, 'data-link': true }, 'Sign in');
  root.append(authCard('Create your account', form, ['Already have an account? ', loginLink]));
  document.title = 'Create account — Editor';
}
