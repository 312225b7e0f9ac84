// The history panel: recent changes grouped by author, a preview of any past version
// (rendered read-only) and "Restore this version", which commits one op that brings the
// content back (POST /restore); every open editor receives it like any other edit.

import Quill from 'quill';
import Delta from 'quill-delta';
import { api } from '../api.js';
import { h, replaceChildren, toast } from '../dom.js';
import { colorFor } from '../cursors.js';
import { handleError } from './common.js';

const PAGE_OPS = 200;

function changeSize(delta) {
  let added = 0;
  let removed = 0;
  let formatted = 0;
  for (const op of delta) {
    if (op.insert !== undefined) added += typeof op.insert === 'string' ? op.insert.length : 1;
    else if (op.delete !== undefined) removed += op.delete;
    else if (op.attributes) formatted += op.retain;
  }
  return { added, removed, formatted };
}

/** Consecutive ops of one author as one entry, newest first. */
export function groupChanges(frames) {
  const groups = [];
  for (const frame of [...frames].sort((a, b) => a.version - b.version)) {
    const last = groups[groups.length - 1];
    const size = changeSize(frame.delta ?? []);
    if (last && last.userId === frame.user_id && frame.version === last.to) {
      last.to = frame.version + 1;
      last.added += size.added;
      last.removed += size.removed;
      last.formatted += size.formatted;
    } else {
      groups.push({ userId: frame.user_id, from: frame.version, to: frame.version + 1, ...size });
    }
  }
  return groups.reverse();
}

/** Renders contents to HTML without a live editor in the page (one `.ql-editor` only). */
let renderer = null;
function previewHtml(content) {
  if (renderer === null) renderer = new Quill(document.createElement('div'), { readOnly: true });
  renderer.setContents(new Delta(content), 'silent');
  return renderer.getSemanticHTML(0, renderer.getLength());
}

export function historyPanel({ docId, head, canRestore, names, navigate }) {
  const list = h('ol', { class: 'versions', id: 'history-list' });
  const older = h('button', { class: 'link-button', hidden: true }, 'Older changes');
  const versionInput = h('input', { type: 'number', min: 0, id: 'history-version',
                                    'aria-label': 'Version number' });
  const previewTitle = h('div', { class: 'preview-title' });
  const previewBody = h('div', { class: 'history-preview-body', id: 'history-preview' });
  const restore = h('button', { class: 'primary', id: 'restore-version', hidden: true },
                    'Restore this version');
  const preview = h('section', { class: 'history-preview', hidden: true },
                    previewTitle, previewBody, restore);
  const panel = h('aside', { class: 'history-panel', id: 'history-panel', hidden: true,
                             'aria-label': 'History' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'History'),
      h('button', { class: 'icon-button', title: 'Close history', 'aria-label': 'Close history',
                    onclick: () => close() }, '×')),
    h('form', { class: 'version-jump', onsubmit: (event) => {
      event.preventDefault();
      const version = Number(versionInput.value);
      if (Number.isInteger(version) && version >= 0) show(version, `Version ${version}`);
    } }, h('label', { for: 'history-version' }, 'Version'), versionInput,
      h('button', { type: 'submit' }, 'Preview')),
    preview, list, older);

  let previewing = null;
  let oldestLoaded = null;

  function nameOf(userId) {
    return names().get(userId) ?? 'Someone';
  }

  function entry(group) {
    const parts = [];
    if (group.added) parts.push(`+${group.added}`);
    if (group.removed) parts.push(`−${group.removed}`);
    if (group.formatted) parts.push('formatting');
    const label = group.to - group.from > 1 ? `Versions ${group.from + 1}–${group.to}`
      : `Version ${group.to}`;
    return h('li', {},
      h('button', { class: 'version-entry', dataset: { version: String(group.to) },
                    onclick: () => show(group.to, `${label} · ${nameOf(group.userId)}`) },
        h('span', { class: 'dot', style: { background: colorFor(group.userId) } }),
        h('span', { class: 'version-who' }, nameOf(group.userId)),
        h('span', { class: 'version-label' }, label),
        h('span', { class: 'version-size' }, parts.join(' '))));
  }

  async function loadPage(to) {
    const from = Math.max(0, to - PAGE_OPS);
    try {
      if (to > from) {
        const page = await api.ops(docId, from, to);
        list.append(...groupChanges(page.ops ?? []).map(entry));
      }
      oldestLoaded = from;
      older.hidden = from === 0;
      if (from === 0) {
        list.append(h('li', {}, h('button', { class: 'version-entry', dataset: { version: '0' },
                                              onclick: () => show(0, 'Version 0 · created') },
          h('span', { class: 'version-who' }, 'Created'), h('span', { class: 'version-label' },
                                                             'Version 0'))));
      }
    } catch (error) {
      handleError(error, navigate, 'load the history');
    }
  }
  older.addEventListener('click', () => loadPage(oldestLoaded));

  async function show(version, label) {
    try {
      const past = await api.version(docId, version);
      previewing = past.version ?? version;
      previewTitle.textContent = label;
      previewBody.innerHTML = previewHtml(past.content); // Quill's own escaped HTML
      restore.hidden = !canRestore() || previewing === head();
      preview.hidden = false;
      for (const button of list.querySelectorAll('.version-entry')) {
        button.classList.toggle('selected', Number(button.dataset.version) === previewing);
      }
    } catch (error) {
      handleError(error, navigate, `show version ${version}`);
    }
  }

  restore.addEventListener('click', async () => {
    if (previewing === null) return;
    restore.disabled = true;
    try {
      await api.restore(docId, previewing);
      toast(`Restored version ${previewing}`);
      close();
    } catch (error) {
      handleError(error, navigate, 'restore');
    } finally {
      restore.disabled = false;
    }
  });

  function open() {
    panel.hidden = false;
    preview.hidden = true;
    previewing = null;
    replaceChildren(list);
    versionInput.max = String(head());
    versionInput.value = String(head());
    loadPage(head());
  }

  function close() {
    panel.hidden = true;
    previewing = null;
  }

  return {
    element: panel,
    open,
    close,
    toggle: () => (panel.hidden ? open() : close()),
    get isOpen() {
      return !panel.hidden;
    },
  };
}
