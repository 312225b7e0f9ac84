// The editor at /d/{id}: Quill (snow theme) bound to a SessionMachine through a
// Connection; remote cursors, who's here, the connection indicator, title editing,
// sharing and the history panel.

import Quill from 'quill';
import { api } from '../api.js';
import { Connection } from '../connection.js';
import { CursorLayer, QuillCursors, colorFor } from '../cursors.js';
import { h, replaceChildren, toast } from '../dom.js';
import { MAX_CHIPS, chipLabel, initials, presenceChips } from '../presence.js';
import { SessionMachine } from '../session.js';
import { UnsavedChanges, statusText } from '../unsaved.js';
import {
  accountMenu, brand, currentUser, handleError, openShareDialog, signIn,
} from './common.js';
import { historyPanel } from './history.js';
import { notFoundView } from './not-found.js';

Quill.register('modules/cursors', QuillCursors, true);

const TOOLBAR = [
  [{ header: [1, 2, 3, false] }],
  ['bold', 'italic', 'underline'],
  [{ list: 'ordered' }, { list: 'bullet' }],
  ['link'],
  ['clean'],
];

const FATAL_MESSAGES = {
  not_found: 'This document was deleted, or you no longer have access to it.',
  forbidden: 'Your access to this document was removed.',
  replaced: 'This document was opened again with the same editor session elsewhere.',
  bad_request: 'The server refused this editor’s messages. Reload the page.',
};

const NOT_FOUND_MESSAGE = 'This document does not exist, was deleted, or has not been shared '
  + 'with you. Ask its owner to share it with your account.';

// `localStorage['editor.debug'] = '1'` (set by hand, or by the browser tests) exposes the
// live editor as `window.editorDebug`; without it the page exposes nothing.
const DEBUG_KEY = 'editor.debug';

function debugging() {
  try {
    return localStorage.getItem(DEBUG_KEY) === '1';
  } catch {
    return false; // storage disabled: no debugging
  }
}

export function editorPage(root, { params, navigate }) {
  const docId = params[0];
  const machine = new SessionMachine();
  let doc = { id: docId, title: '', role: '' };
  let canEdit = false;
  let broken = null; // a reason editing is off for good (fatal close, unrenderable content)

  // --- layout ------------------------------------------------------------------------
  const titleInput = h('input', { id: 'doc-title', class: 'doc-title-input', maxlength: 500,
                                  'aria-label': 'Document title', placeholder: 'Untitled document',
                                  readOnly: true });
  const status = h('button', { id: 'connection-status', class: 'connection', type: 'button',
                               dataset: { state: 'connecting', unsent: '0' },
                               title: 'Connection to the server' });
  const presence = h('ul', { id: 'presence', class: 'presence', 'aria-label': 'Who is here' });
  // disabled until the document is known to exist (and who we are on it)
  const historyButton = h('button', { id: 'history-toggle', type: 'button', disabled: true },
                          'History');
  const shareButton = h('button', { id: 'share-button', class: 'primary', type: 'button',
                                    disabled: true }, 'Share');
  const viewOnly = h('span', { class: 'badge', id: 'view-only', hidden: true }, 'View only');
  const notice = h('div', { class: 'notice', id: 'editor-notice', role: 'alert', hidden: true });
  const editorHost = h('div', { id: 'editor' });
  const column = h('div', { class: 'editor-column' }, h('div', { class: 'page' }, editorHost));
  const history = historyPanel({
    docId,
    head: () => machine.version,
    canRestore: () => canEdit,
    names: () => knownNames,
    navigate,
  });

  const topbar = h('header', { class: 'topbar editor-bar' },
      brand(),
      h('a', { href: '/', 'data-link': true, class: 'back-link', title: 'All documents' }, 'Documents'),
      h('div', { class: 'title-wrap' }, titleInput, viewOnly),
      h('div', { class: 'spacer' }),
      status, presence, historyButton, shareButton, accountMenu(navigate));
  root.append(
    topbar,
    notice,
    h('div', { class: 'editor-layout' }, column, history.element));

  const quill = new Quill(editorHost, {
    theme: 'snow',
    readOnly: true,
    placeholder: 'Loading…',
    modules: {
      toolbar: TOOLBAR,
      history: { userOnly: true },
      cursors: { hideDelayMs: 1500, hideSpeedMs: 300, selectionChangeSource: null,
                 transformOnTextChange: false },
    },
  });
  const cursorLayer = new CursorLayer(quill);
  root.querySelector('.ql-toolbar')?.setAttribute('id', 'toolbar');

  // --- who is here -----------------------------------------------------------------
  const knownNames = new Map(); // user id -> name, for the history panel
  let me = null; // {id, name}: from welcome, or from /me while not connected yet
  const narrow = window.matchMedia('(max-width: 800px)'); // a phone: fewer chips fit
  narrow.addEventListener('change', () => renderPresence());
  function chip(person) {
    const label = chipLabel(person);
    return h('li', { class: `presence-user${person.you ? ' is-you' : ''}${person.offline ? ' is-offline' : ''}`,
                     tabindex: 0, 'aria-label': label, dataset: { userId: person.user.id, tooltip: label },
                     style: { '--user-color': colorFor(person.user.id) } },
      h('span', { class: 'avatar', style: { background: colorFor(person.user.id) },
                  'aria-hidden': 'true' }, initials(person.user.name)),
      person.you && h('span', { class: 'presence-you', 'aria-hidden': 'true' }, 'You'));
  }
  function renderPresence() {
    if (machine.user) me = machine.user;
    for (const user of machine.peers.values()) if (user) knownNames.set(user.id, user.name);
    const { shown, hidden } = presenceChips({ me, peers: machine.peers.values(),
                                              connected: machine.connected,
                                              maxChips: narrow.matches ? 3 : MAX_CHIPS });
    const more = hidden.map((person) => chipLabel(person)).join(', ');
    replaceChildren(presence, shown.map(chip),
      hidden.length > 0 && h('li', { class: 'presence-more', id: 'presence-more', tabindex: 0,
                                     'aria-label': `${hidden.length} more: ${more}`,
                                     dataset: { tooltip: more } }, `+${hidden.length}`));
  }

  // --- the connection indicator -------------------------------------------------------
  let countdown = null;
  const unsaved = new UnsavedChanges();
  let lastConnected = null;
  function renderStatus() {
    const unsent = machine.unsent;
    const state = connection.state;
    unsaved.settle(unsent);
    const changes = unsaved.count(unsent);
    status.dataset.state = state;
    status.dataset.unsent = String(unsent);
    status.dataset.unsavedChanges = String(changes);
    const retryInS = state === 'offline' && connection.retryAt
      ? Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000)) : 0;
    status.textContent = statusText({ state, unsavedChanges: changes, retryInS });
    status.title = state === 'offline' ? 'Click to retry now'
      : changes ? `${changes} unsaved ${changes === 1 ? 'change' : 'changes'}` : 'Connection to the server';
    if (state === 'offline' && countdown === null) {
      countdown = setInterval(renderStatus, 1000);
    } else if (state !== 'offline' && countdown !== null) {
      clearInterval(countdown);
      countdown = null;
    }
    if (machine.connected !== lastConnected) {
      lastConnected = machine.connected;
      renderPresence(); // offline, the others' chips are stale: only you stay
    }
  }
  status.addEventListener('click', () => connection.connectNow());

  function showNotice(message, kind = 'error') {
    notice.textContent = message;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
  }

  // --- roles ---------------------------------------------------------------------------
  function setRole(role) {
    doc.role = role;
    canEdit = (role === 'owner' || role === 'editor') && broken === null;
    quill.enable(canEdit);
    root.classList.toggle('read-only', !canEdit);
    viewOnly.hidden = role !== 'viewer';
    titleInput.readOnly = !canEdit;
    shareButton.textContent = role === 'owner' ? 'Share' : 'Access';
    quill.root.dataset.placeholder = canEdit ? 'Start typing…' : '';
  }

  function breakEditing(message) {
    broken = message;
    quill.enable(false);
    canEdit = false;
    root.classList.add('read-only');
    showNotice(message);
  }

  // --- the document ------------------------------------------------------------------
  function checkLength() {
    if (quill.getLength() !== machine.localLength && broken === null) {
      breakEditing('This document holds content this editor cannot show; editing is off '
                   + 'to keep it intact. Reload the page to try again.');
    }
  }

  function renderCursors() {
    cursorLayer.render(machine.remoteCursors());
  }

  function onEvents(events) {
    let changed = false;
    for (const event of events) {
      switch (event.type) {
        case 'load':
          quill.setContents(event.content, 'api');
          quill.history.clear();
          if (event.dropped.ops.length && event.reason !== 'snapshot') {
            showNotice('Some of your latest edits could not be applied and were discarded.', 'warn');
          }
          changed = true;
          break;
        case 'welcome':
          setRole(event.role);
          if (event.user) knownNames.set(event.user.id, event.user.name);
          break;
        case 'remote':
          quill.updateContents(event.local, 'api');
          changed = true;
          break;
        case 'rejected':
          quill.updateContents(event.revert, 'api');
          setRole(event.role);
          toast(event.code === 'forbidden' ? 'You can only view this document now; your edit was undone.'
            : `Your edit was refused (${event.message}) and undone.`, 'error');
          changed = true;
          break;
        case 'server-error':
          if (event.code === 'too_large' || event.code === 'forbidden') toast(event.message, 'error');
          break;
        default:
          break;
      }
    }
    if (changed) checkLength();
    if (events.some((e) => e.type === 'welcome' || e.type.startsWith('peer-'))) renderPresence();
    renderCursors();
    renderStatus();
  }

  quill.on('text-change', (delta, _old, source) => {
    if (source !== 'user') {
      return;
    }
    try {
      machine.edit(delta);
      unsaved.edited(Date.now());
    } catch (error) {
      breakEditing(`The editor lost track of the document (${error.message}). Reload the page.`);
      return;
    }
    const range = quill.getSelection();
    if (range) selectLocal(range.index, range.length);
    connection.flush();
    renderCursors();
    renderStatus();
  });

  function selectLocal(index, length) {
    try {
      machine.select(index, length);
    } catch {
      // a selection outside the content we track: skip it rather than send nonsense
    }
  }

  quill.on('selection-change', (range, _old, source) => {
    if (source === 'silent') return;
    selectLocal(range ? range.index : null, range ? range.length : 0);
    connection.flush();
  });

  const connection = new Connection({
    docId,
    machine,
    onEvents,
    onStatus: renderStatus,
    onFatal: (failure) => {
      if (failure.reason === 'signed_out') {
        signIn(navigate);
        return;
      }
      if (failure.reason === 'not_found' && !machine.loaded) {
        showNotFound();
        return;
      }
      breakEditing(FATAL_MESSAGES[failure.reason] ?? failure.message);
      cursorLayer.clear();
      renderStatus();
    },
  });

  // --- title, share, history ---------------------------------------------------------
  async function saveTitle() {
    const value = titleInput.value.trim();
    if (!canEdit || !value || value === doc.title) {
      titleInput.value = doc.title;
      return;
    }
    try {
      await api.renameDocument(docId, value);
      doc.title = value;
      document.title = `${value} — Editor`;
    } catch (error) {
      titleInput.value = doc.title;
      handleError(error, navigate, 'rename');
    }
  }
  titleInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      titleInput.blur();
    } else if (event.key === 'Escape') {
      titleInput.value = doc.title;
      titleInput.blur();
    }
  });
  titleInput.addEventListener('blur', saveTitle);
  shareButton.addEventListener('click', () => openShareDialog(doc, navigate));
  historyButton.addEventListener('click', async () => {
    if (history.isOpen) {
      history.close();
      return;
    }
    historyButton.classList.add('active');
    // on a phone the panel covers the page below the top bar (whose height varies)
    root.style.setProperty('--topbar-height', `${topbar.getBoundingClientRect().bottom}px`);
    await loadMemberNames();
    await history.open();
  });
  history.element.addEventListener('history-closed', () => historyButton.classList.remove('active'));

  async function loadMemberNames() {
    try {
      for (const member of await api.members(docId)) knownNames.set(member.user_id, member.name);
    } catch {
      // names are a nicety in the history list
    }
  }

  function warnUnsent(event) {
    if (machine.unsent > 0) {
      event.preventDefault();
      event.returnValue = '';
    }
  }
  window.addEventListener('beforeunload', warnUnsent);

  // Titles and roles changed by others reach us over REST (the WebSocket carries neither):
  // on load, when the window regains focus, and every minute.
  async function refreshMeta() {
    let meta;
    try {
      meta = await api.getDocument(docId);
    } catch (error) {
      if (error?.status === 404 && !machine.loaded) showNotFound();
      else if (error?.status === 404) breakEditing(FATAL_MESSAGES.not_found);
      else if (error?.code !== 'network') handleError(error, navigate);
      return;
    }
    const first = doc.title === '';
    doc = { ...doc, id: meta.id, title: meta.title, owner_id: meta.owner_id };
    historyButton.disabled = false;
    shareButton.disabled = false;
    if (!machine.connected) doc.role = meta.role;
    if (document.activeElement !== titleInput) titleInput.value = meta.title;
    document.title = `${meta.title} — Editor`;
    if (machine.connected && !first && meta.role !== doc.role) setRole(meta.role);
    else if (!machine.connected) shareButton.textContent = meta.role === 'owner' ? 'Share' : 'Access';
  }
  const metaTimer = setInterval(refreshMeta, 60000);
  window.addEventListener('focus', refreshMeta);
  refreshMeta();
  currentUser().then((user) => {
    knownNames.set(user.id, user.name);
    if (me === null) {
      me = { id: user.id, name: user.name };
      renderPresence();
    }
  }).catch(() => {});

  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    connection.stop();
    if (countdown !== null) clearInterval(countdown);
    window.removeEventListener('beforeunload', warnUnsent);
    window.removeEventListener('focus', refreshMeta);
    clearInterval(metaTimer);
    history.close();
    delete window.editorDebug;
  }

  /** The document does not exist (or is not shared with us): a page saying so, no editor. */
  function showNotFound() {
    if (stopped) return;
    stop();
    root.replaceChildren(...notFoundView({ title: 'Document not found',
                                           message: NOT_FOUND_MESSAGE }));
  }

  renderStatus();
  connection.start();

  if (debugging()) window.editorDebug = { quill, machine, connection };

  return stop;
}
