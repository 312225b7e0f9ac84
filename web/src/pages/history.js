// The history panel, like Google Docs' version history: editing sessions grouped by pause
// and author (history-groups.js) with their time, authors and size, newest first. Choosing
// one previews the document as it was after that session, read-only, with the session's
// changes highlighted; the preview stays in view above the list. "Restore this version"
// (editors and owners) asks first, then posts /restore, which commits one new op that every
// open editor receives like any other edit.

import Quill from 'quill';
import { api } from '../api.js';
import { colorFor } from '../cursors.js';
import { h, replaceChildren, toast } from '../dom.js';
import { groupChanges, highlightChanges, sizeLabel, timeLabel } from '../history-groups.js';
import { confirmDialog, handleError } from './common.js';

const PAGE_OPS = 1000; // the most GET /ops returns at once

/** Lays contents out without a live editor in the page (one `.ql-editor` only). */
let renderer = null;
// Elements a preview never shows, whatever a document holds (video embeds are iframes).
const NEVER_PREVIEWED = new Set(['IFRAME', 'SCRIPT', 'OBJECT', 'EMBED', 'FRAME', 'BASE', 'LINK',
                                  'META', 'STYLE', 'FORM']);

/**
 * Show `content` in `container`, built with DOM calls, never from an HTML string: a detached
 * read-only Quill lays the contents out (its sanitizers already turn `javascript:` links into
 * `about:blank` and drop unknown attributes), and its nodes are copied over without event
 * handlers or active elements; colours go through CSSOM, which the page's
 * Content-Security-Policy (no inline style attributes) allows.
 */
function renderPreview(container, content) {
  if (renderer === null) renderer = new Quill(document.createElement('div'), { readOnly: true });
  renderer.setContents(content, 'silent');
  container.replaceChildren(...[...renderer.root.childNodes].map(inertCopy).filter(Boolean));
}

function inertCopy(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE || NEVER_PREVIEWED.has(node.tagName)) return null;
  const copy = document.createElement(node.localName);
  for (const { name, value } of node.attributes) {
    if (name === 'style' || name.startsWith('on') || name === 'contenteditable') continue;
    if ((name === 'href' || name === 'src') && !/^(https?:|mailto:|data:image\/|about:blank)/i.test(value)) continue;
    copy.setAttribute(name, value);
  }
  if (copy.localName === 'a') copy.setAttribute('rel', 'noopener noreferrer');
  if (node.style?.cssText) copy.style.cssText = node.style.cssText;
  copy.append(...[...node.childNodes].map(inertCopy).filter(Boolean));
  return copy;
}

export function historyPanel({ docId, head, canRestore, names, navigate }) {
  const list = h('ol', { class: 'versions', id: 'history-list' });
  const older = h('button', { class: 'link-button', hidden: true }, 'Show older changes');
  const versionInput = h('input', { type: 'number', min: 0, id: 'history-version',
                                    'aria-label': 'Version number' });
  const previewTitle = h('div', { class: 'preview-title', id: 'history-preview-title' });
  const previewLegend = h('div', { class: 'preview-legend', id: 'history-preview-legend' });
  const previewBody = h('div', { class: 'history-preview-body', id: 'history-preview' });
  const restore = h('button', { class: 'primary', id: 'restore-version', hidden: true });
  const preview = h('section', { class: 'history-preview', hidden: true,
                                 'aria-label': 'Preview of the chosen version' },
                    previewTitle, previewLegend, previewBody,
                    h('div', { class: 'preview-actions' }, restore));
  const panel = h('aside', { class: 'history-panel', id: 'history-panel', hidden: true,
                             'aria-label': 'Version history' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Version history'),
      h('button', { class: 'icon-button', title: 'Close history', 'aria-label': 'Close history',
                    onclick: () => close() }, '×')),
    preview,
    h('div', { class: 'history-scroll' },
      list, older,
      h('form', { class: 'version-jump', onsubmit: (event) => {
        event.preventDefault();
        const version = Number(versionInput.value);
        if (Number.isInteger(version) && version >= 0) {
          show({ to: version, from: Math.max(0, version - 1), title: `Version ${version}` });
        }
      } }, h('label', { for: 'history-version' }, 'Any version by number'), versionInput,
        h('button', { type: 'submit' }, 'Preview'))));

  let previewing = null; // { version, when }
  let oldestLoaded = null;
  let newestShown = true;

  function nameOf(userId) {
    return names().get(userId) ?? 'Someone';
  }

  function authorsOf(group) {
    return group.authors.map((id) => nameOf(id)).join(', ');
  }

  function entry(group) {
    const when = timeLabel(group.startMs, group.endMs);
    const versions = group.to - group.from > 1 ? `versions ${group.from + 1}–${group.to}`
      : `version ${group.to}`;
    const current = newestShown && group.to === head();
    newestShown = false;
    const title = `${when || versions[0].toUpperCase() + versions.slice(1)} · ${authorsOf(group)}`;
    return h('li', {},
      h('button', { class: 'version-entry', type: 'button',
                    dataset: { version: String(group.to), from: String(group.from) },
                    onclick: () => show({ to: group.to, from: group.from, title, when }) },
        h('span', { class: 'version-when' }, when || versions,
          current && h('span', { class: 'current-tag' }, 'Current')),
        h('span', { class: 'version-authors' }, group.authors.map((id) =>
          h('span', { class: 'version-author' },
            h('span', { class: 'dot', style: { background: colorFor(id) } }), nameOf(id)))),
        h('span', { class: 'version-meta' }, when ? `${versions} · ` : '',
          sizeLabel(group) || 'no visible change')));
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
        list.append(h('li', {}, h('button', {
          class: 'version-entry', type: 'button', dataset: { version: '0', from: '0' },
          onclick: () => show({ to: 0, from: 0, title: 'Version 0 · the document was created' }),
        }, h('span', { class: 'version-when' }, 'Created'),
        h('span', { class: 'version-meta' }, 'version 0'))));
      }
    } catch (error) {
      handleError(error, navigate, 'load the history');
    }
  }
  older.addEventListener('click', () => loadPage(oldestLoaded));

  async function show({ to, from, title, when = '' }) {
    try {
      const [past, base] = await Promise.all([
        api.version(docId, to),
        from < to ? api.version(docId, from) : null,
      ]);
      const version = past.version ?? to;
      previewing = { version, when };
      previewTitle.textContent = title;
      if (base === null) {
        renderPreview(previewBody, past.content);
        replaceChildren(previewLegend);
      } else {
        const marked = highlightChanges(base.content, past.content);
        renderPreview(previewBody, marked.content);
        replaceChildren(previewLegend,
          marked.inserted > 0 && h('span', { class: 'legend-added' }, 'added'),
          marked.deleted > 0 && h('span', { class: 'legend-removed' }, 'removed'),
          !marked.inserted && !marked.deleted && 'Only formatting changed, or nothing visible.');
      }
      restore.textContent = `Restore this version (${version})`;
      restore.hidden = !canRestore() || version === head();
      preview.hidden = false;
      for (const button of list.querySelectorAll('.version-entry')) {
        button.classList.toggle('selected', Number(button.dataset.version) === version);
      }
      previewBody.scrollTop = 0;
      (previewBody.querySelector('[style*="background-color"]') ?? previewBody)
        .scrollIntoView?.({ block: 'nearest' });
    } catch (error) {
      handleError(error, navigate, `show version ${to}`);
    }
  }

  restore.addEventListener('click', async () => {
    if (previewing === null) return;
    const { version, when } = previewing;
    const ok = await confirmDialog(
      `Restore version ${version}${when ? ` (${when})` : ''}? The document will read as it did `
      + 'then, for everyone. Nothing is lost: the current text stays in the history.',
      'Restore', 'primary');
    if (!ok) return;
    restore.disabled = true;
    try {
      await api.restore(docId, version);
      toast(`Restored version ${version}`);
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
    newestShown = true;
    replaceChildren(list);
    versionInput.max = String(head());
    versionInput.value = String(head());
    return loadPage(head());
  }

  function close() {
    panel.hidden = true;
    previewing = null;
    panel.dispatchEvent(new Event('history-closed'));
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
