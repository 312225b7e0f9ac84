// Pieces the pages share: the top bar's account menu, dialogs, error handling.

import { ApiError, api } from '../api.js';
import { SignedOut } from '../auth.js';
import { h, replaceChildren, toast } from '../dom.js';
import { colorFor } from '../cursors.js';

let me = null;

/** The signed-in user ({id, email, name}), fetched once. */
export async function currentUser() {
  if (me === null) me = await api.me();
  return me;
}

export function forgetCurrentUser() {
  me = null;
}

/** To the sign-in page, coming back here afterwards (once, however many callers ask). */
export function signIn(navigate) {
  forgetCurrentUser();
  if (location.pathname === '/login' || location.pathname === '/register') return;
  navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`,
           { replace: true });
}

/** Report an error: back to sign-in when signed out, else a toast. */
export function handleError(error, navigate, doing = '') {
  if (error instanceof SignedOut) {
    signIn(navigate);
    return;
  }
  const message = error instanceof ApiError ? error.message : String(error?.message ?? error);
  toast(doing ? `Could not ${doing}: ${message}` : message, 'error');
}

export function avatar(user) {
  const name = user?.name || user?.email || '?';
  return h('span', { class: 'avatar', style: { background: colorFor(user?.id ?? name) },
                     'aria-hidden': 'true' }, name.trim().charAt(0).toUpperCase() || '?');
}

/** The account corner of the top bar: who is signed in, and sign out. */
export function accountMenu(navigate) {
  const holder = h('div', { class: 'account' });
  currentUser().then((user) => {
    replaceChildren(holder, avatar(user), h('span', { class: 'account-name', id: 'account-name' },
                                            user.name),
      h('button', { class: 'link-button', id: 'sign-out', onclick: async () => {
        await api.logout();
        forgetCurrentUser();
        navigate('/login', { replace: true });
      } }, 'Sign out'));
  }).catch((error) => handleError(error, navigate));
  return holder;
}

export function brand() {
  return h('a', { class: 'brand', href: '/', 'data-link': true },
           h('span', { class: 'brand-mark' }, '✎'), 'Editor');
}

function modal(className, ...children) {
  const dialog = h('dialog', { class: `modal ${className}` }, ...children);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Ask a yes/no question in a modal; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel = 'Delete', confirmClass = 'danger') {
  return new Promise((resolve) => {
    const dialog = modal('confirm-dialog',
      h('p', {}, message),
      h('div', { class: 'modal-actions' },
        h('button', { onclick: () => { dialog.close(); resolve(false); } }, 'Cancel'),
        h('button', { class: confirmClass, id: 'confirm-yes',
                      onclick: () => { dialog.close(); resolve(true); } }, confirmLabel)));
    dialog.addEventListener('cancel', () => resolve(false));
  });
}

const ROLE_LABELS = { owner: 'Owner', editor: 'Can edit', viewer: 'Can view' };

export function roleLabel(role) {
  return ROLE_LABELS[role] ?? role;
}

/**
 * The share dialog: who has access, and (for the owner) add people by email with a
 * role, change a role, remove someone.
 */
export function openShareDialog(doc, navigate) {
  const canManage = doc.role === 'owner';
  const list = h('ul', { class: 'member-list', id: 'member-list' }, h('li', {}, 'Loading…'));
  const errorBox = h('p', { class: 'form-error', role: 'alert' });

  async function refresh() {
    try {
      const members = await api.members(doc.id);
      replaceChildren(list, members.map((member) => memberRow(member)));
    } catch (error) {
      handleError(error, navigate, 'list who has access');
    }
  }

  function memberRow(member) {
    const editable = canManage && member.role !== 'owner';
    const role = editable
      ? h('select', { 'aria-label': `Role of ${member.email}`, class: 'member-role',
                      onchange: async (event) => {
                        try {
                          await api.share(doc.id, member.email, event.target.value);
                          toast(`${member.name || member.email} now: ${roleLabel(event.target.value)}`);
                        } catch (error) {
                          handleError(error, navigate, 'change the role');
                        }
                        refresh();
                      } },
          ['editor', 'viewer'].map((value) => h('option', { value, selected: value === member.role },
                                                roleLabel(value))))
      : h('span', { class: 'member-role' }, roleLabel(member.role));
    return h('li', { class: 'member', dataset: { email: member.email } },
      avatar({ id: member.user_id ?? member.email, name: member.name || member.email }),
      h('span', { class: 'member-who' }, h('strong', {}, member.name || member.email),
        h('small', {}, member.pending ? `${member.email} · invited, no account yet`
                                      : member.email)),
      role,
      editable && h('button', { class: 'link-button danger-text', title: 'Remove access',
                                onclick: async () => {
                                  try {
                                    await api.unshare(doc.id, member.email);
                                  } catch (error) {
                                    handleError(error, navigate, 'remove access');
                                  }
                                  refresh();
                                } }, 'Remove'));
  }

  let form = null;
  if (canManage) {
    const email = h('input', { type: 'email', name: 'email', placeholder: 'name@example.com',
                               required: true, id: 'share-email', 'aria-label': 'Email' });
    const role = h('select', { name: 'role', id: 'share-role', 'aria-label': 'Role' },
                   h('option', { value: 'editor' }, 'Can edit'),
                   h('option', { value: 'viewer' }, 'Can view'));
    form = h('form', { class: 'share-form', id: 'share-form' }, email, role,
             h('button', { type: 'submit', class: 'primary' }, 'Share'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errorBox.textContent = '';
      try {
        // The same answer whether or not the address has an account: they get an email,
        // and an address without one gets an invitation (listed as such below).
        const shared = await api.share(doc.id, email.value.trim(), role.value);
        toast(`Shared with ${shared.email}: they will get an email`);
        email.value = '';
        refresh();
      } catch (error) {
        if (error instanceof ApiError && error.status !== 404) {
          errorBox.textContent = error.message;
        } else {
          handleError(error, navigate, 'share');
        }
      }
    });
  }

  const dialog = modal('share-dialog',
    h('h2', {}, canManage ? `Share “${doc.title}”` : `Who has access to “${doc.title}”`),
    form, errorBox,
    h('h3', {}, 'People with access'), list,
    h('div', { class: 'modal-actions' },
      h('button', { onclick: () => dialog.close(), id: 'share-close' }, 'Done')));
  refresh();
  return dialog;
}
