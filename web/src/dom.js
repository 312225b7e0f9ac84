// A tiny DOM builder: h('button', {class: 'primary', onclick: fn}, 'Save').

/** An element with properties, attributes, listeners and children. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      element.className = value;
    } else if (key === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(element.style, value);
    } else if (key in element && typeof value !== 'string') {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A human "3 minutes ago" for an ISO time. */
export function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return 'just now';
  const units = [[60, 'minute'], [3600, 'hour'], [86400, 'day'], [2592000, 'month'],
                 [31536000, 'year']];
  let [size, unit] = units[0];
  for (const [s, u] of units) if (seconds >= s) [size, unit] = [s, u];
  const n = Math.floor(seconds / size);
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/** Show a short message at the bottom of the page. */
export function toast(message, kind = 'info') {
  let host = document.getElementById('toasts');
  if (host === null) {
    host = h('div', { id: 'toasts', role: 'status' });
    document.body.append(host);
  }
  const item = h('div', { class: `toast toast-${kind}` }, message);
  host.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}
