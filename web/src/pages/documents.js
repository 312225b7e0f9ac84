// The documents list: create, open, rename, delete, share; each document with its owner
// and your role, sorted and filtered (doc-list.js) over the documents loaded so far.
//
// The list's items carry `owner_id` only: owners' names come from GET …/members, asked once
// per owner (documents you own say "me").

import { api } from '../api.js';
import { SHOWS, SORTS, filterAndSort } from '../doc-list.js';
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
  const countLine = h('p', { class: 'doc-count muted', id: 'doc-count', hidden: true });
  let nextCursor = null;
  let alive = true;
  const docs = []; // loaded so far, each with `owner` (a name, '' while unknown)
  const ownerNames = new Map(); // owner id -> Promise of a name
  let myId = null;

  const search = h('input', { type: 'search', id: 'doc-filter', placeholder: 'Filter by title or owner',
                              'aria-label': 'Filter documents by title or owner' });
  const show = h('select', { id: 'doc-show', 'aria-label': 'Which documents' },
                 Object.entries(SHOWS).map(([value, { label }]) => h('option', { value }, label)));
  const sort = h('select', { id: 'doc-sort', 'aria-label': 'Sort by' },
                 Object.entries(SORTS).map(([value, { label }]) =>
                   h('option', { value }, `Sort: ${label}`)));
  for (const control of [search, show, sort]) control.addEventListener('input', render);

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

  function ownerText(doc) {
    if (doc.role === 'owner') return 'me';
    return doc.owner || '…';
  }

  function row(doc) {
    const link = h('a', { href: `/d/${encodeURIComponent(doc.id)}`, 'data-link': true,
                          class: 'doc-link' }, doc.title || 'Untitled document');
    const titleCell = h('td', { class: 'doc-title' }, link,
                        h('small', { class: 'doc-owner-inline muted' },
                          `Owner: ${ownerText(doc)} · ${roleLabel(doc.role)}`));
    const canEdit = doc.role === 'owner' || doc.role === 'editor';
    const tr = h('tr', { dataset: { docId: doc.id } },
      titleCell,
      h('td', { class: 'doc-owner' }, ownerText(doc)),
      h('td', { class: 'doc-role' }, h('span', { class: `role role-${doc.role}` }, roleLabel(doc.role))),
      h('td', { class: 'muted doc-updated', title: doc.updated_at }, ago(doc.updated_at)),
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
      render();
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
      docs.splice(docs.indexOf(doc), 1);
      render();
      toast(`Deleted “${doc.title}”`);
    } catch (error) {
      handleError(error, navigate, 'delete');
    }
  }

  function render() {
    const shown = filterAndSort(docs, { query: search.value, show: show.value, sort: sort.value });
    replaceChildren(rows, shown.map(row));
    empty.hidden = docs.length > 0;
    countLine.hidden = docs.length === 0 || shown.length === docs.length;
    countLine.textContent = shown.length === 0 ? 'No document matches.'
      : `Showing ${shown.length} of ${docs.length} documents.`;
  }

  function ownerName(doc) {
    if (!ownerNames.has(doc.owner_id)) {
      ownerNames.set(doc.owner_id, api.members(doc.id).then(
        (members) => members.find((m) => m.role === 'owner')?.name ?? '',
        () => { ownerNames.delete(doc.owner_id); return ''; }));
    }
    return ownerNames.get(doc.owner_id);
  }

  async function load(cursor) {
    try {
      const page = await api.listDocuments(cursor);
      if (!alive) return;
      const me = myId ?? (myId = (await currentUser()).id);
      const items = page.items.map((doc) => ({ ...doc, owner: doc.owner_id === me ? 'me' : '' }));
      docs.push(...items);
      nextCursor = page.next_cursor ?? null;
      more.hidden = nextCursor === null;
      render();
      const names = await Promise.all(items.map((doc) => (doc.owner ? doc.owner : ownerName(doc))));
      if (!alive) return;
      items.forEach((doc, i) => { doc.owner = names[i]; });
      render();
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
      h('div', { class: 'doc-controls' }, search, show, sort),
      h('table', { class: 'doc-table', id: 'doc-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Title'), h('th', { class: 'doc-owner' }, 'Owner'),
                         h('th', { class: 'doc-role' }, 'Your role'), h('th', { class: 'doc-updated' }, 'Updated'),
                         h('th', { class: 'actions' }, ''))),
        rows),
      countLine, empty, more));
  load(null);
  return () => {
    alive = false;
  };
}
