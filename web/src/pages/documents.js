// The documents list: create, open, rename, delete, share.

import { api } from '../api.js';
import { ago, h, replaceChildren, toast } from '../dom.js';
import {
  accountMenu, brand, confirmDialog, currentUser, handleError, openShareDialog, roleLabel,
} from './common.js';

export function documentsPage(root, { navigate }) {
  document.title = 'Documents — Editor';
  const rows = h('tbody', { id: 'doc-rows' });
  const empty = h('p', { class: 'empty', id: 'doc-empty', hidden: true },
                  'No documents yet. Create one above, or ask someone to share theirs.');
  const more = h('button', { class: 'link-button', hidden: true, id: 'load-more' }, 'Show more');
  let nextCursor = null;
  let alive = true;

  const title = h('input', { name: 'title', id: 'new-title', placeholder: 'Untitled document',
                             maxlength: 500, 'aria-label': 'Title of the new document' });
  const create = h('form', { class: 'new-doc', id: 'new-doc-form' }, title,
                   h('button', { type: 'submit', class: 'primary', id: 'new-doc' }, 'New document'));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const doc = await api.createDocument(title.value.trim() || 'Untitled document');
      navigate(`/d/${doc.id}`);
    } catch (error) {
      handleError(error, navigate, 'create the document');
    }
  });

  function row(doc) {
    const link = h('a', { href: `/d/${encodeURIComponent(doc.id)}`, 'data-link': true,
                          class: 'doc-link' }, doc.title || 'Untitled document');
    const titleCell = h('td', { class: 'doc-title' }, link);
    const canEdit = doc.role === 'owner' || doc.role === 'editor';
    const tr = h('tr', { dataset: { docId: doc.id } },
      titleCell,
      h('td', {}, h('span', { class: `role role-${doc.role}` }, roleLabel(doc.role))),
      h('td', { class: 'muted', title: doc.updated_at }, ago(doc.updated_at)),
      h('td', { class: 'actions' },
        h('button', { class: 'link-button', onclick: () => openShareDialog(doc, navigate) },
          doc.role === 'owner' ? 'Share' : 'Access'),
        canEdit && h('button', { class: 'link-button', onclick: () => rename(doc, titleCell, link) },
                     'Rename'),
        doc.role === 'owner' && h('button', { class: 'link-button danger-text',
                                              onclick: () => remove(doc, tr) }, 'Delete')));
    return tr;
  }

  function rename(doc, cell, link) {
    const input = h('input', { value: doc.title, maxlength: 500, class: 'rename-input',
                               'aria-label': 'New title' });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (save && value && value !== doc.title) {
        try {
          await api.renameDocument(doc.id, value);
          doc.title = value;
          link.textContent = value;
        } catch (error) {
          handleError(error, navigate, 'rename');
        }
      }
      replaceChildren(cell, link);
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true);
      if (event.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    replaceChildren(cell, input);
    input.focus();
    input.select();
  }

  async function remove(doc, tr) {
    if (!(await confirmDialog(`Delete “${doc.title}” for everyone? This cannot be undone.`))) return;
    try {
      await api.deleteDocument(doc.id);
      tr.remove();
      empty.hidden = rows.children.length > 0;
      toast(`Deleted “${doc.title}”`);
    } catch (error) {
      handleError(error, navigate, 'delete');
    }
  }

  async function load(cursor) {
    try {
      const page = await api.listDocuments(cursor);
      if (!alive) return;
      rows.append(...page.items.map(row));
      nextCursor = page.next_cursor ?? null;
      more.hidden = nextCursor === null;
      empty.hidden = rows.children.length > 0;
    } catch (error) {
      handleError(error, navigate, 'list your documents');
    }
  }
  more.addEventListener('click', () => load(nextCursor));

  const verifyNotice = h('div', { class: 'notice notice-warn', id: 'verify-notice', hidden: true });
  currentUser().then((user) => {
    if (!alive || user.email_verified) return;
    const resend = h('button', { class: 'link-button', id: 'resend-verification' }, 'Send the link again');
    resend.addEventListener('click', async () => {
      resend.disabled = true;
      try {
        await api.resendVerification();
        toast(`A new link is on its way to ${user.email}.`);
      } catch (error) {
        handleError(error, navigate, 'send the link');
      } finally {
        resend.disabled = false;
      }
    });
    replaceChildren(verifyNotice, `Please confirm ${user.email}: open the link we emailed you. `,
                    resend);
    verifyNotice.hidden = false;
  }, () => {});

  root.append(
    h('header', { class: 'topbar' }, brand(), h('div', { class: 'spacer' }), accountMenu(navigate)),
    verifyNotice,
    h('main', { class: 'documents-page' },
      h('div', { class: 'documents-head' }, h('h1', {}, 'Documents'), create),
      h('table', { class: 'doc-table', id: 'doc-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Title'), h('th', {}, 'Access'),
                         h('th', {}, 'Updated'), h('th', { class: 'actions' }, ''))),
        rows),
      empty, more));
  load(null);
  return () => {
    alive = false;
  };
}
