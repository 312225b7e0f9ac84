// "Page not found" and "Document not found": a page of its own with a way back, never a
// half-working editor or raw JSON.

import { h } from '../dom.js';
import { brand } from './common.js';

export function notFoundView({
  title = 'Page not found',
  message = 'There is nothing at this address. Check the link, or go back to your documents.',
} = {}) {
  document.title = `${title} — Editor`;
  return [
    h('header', { class: 'topbar' }, brand()),
    h('main', { class: 'not-found', id: 'not-found' },
      h('div', { class: 'not-found-card' },
        h('p', { class: 'not-found-code', 'aria-hidden': 'true' }, '404'),
        h('h1', {}, title),
        h('p', { class: 'muted' }, message),
        h('a', { href: '/', 'data-link': true, class: 'button-link primary' },
          'Back to your documents'))),
  ];
}

export function notFoundPage(root) {
  root.append(...notFoundView());
}
