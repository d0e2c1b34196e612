// dom.js - small DOM helpers: elements from data (never from HTML strings),
// loading / error states with retry, and modal dialogs that return focus.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function loading(container, text) {
  clear(container).append(h('div', { class: 'state loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text));
}

/* An error with a Retry button; retry() is called when it is pressed. */
export function failure(container, title, error, retry) {
  const button = retry ? h('button', { type: 'button', class: 'button secondary', onclick: retry }, 'Retry') : null;
  clear(container).append(
    h('div', { class: 'state error', role: 'alert' },
      h('strong', {}, title), ' ', error && error.message ? error.message : '',
      button ? h('div', { class: 'actions' }, button) : null),
  );
  return button;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/* Tab and Shift+Tab wrap around inside the dialog: a native modal dialog
   makes the page inert but lets focus leave for the browser's own UI. */
function trapFocus(event) {
  if (event.key !== 'Tab') return;
  const dialog = event.currentTarget;
  // One stop per radio group, as the browser does.
  const all = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null
    && !(el.type === 'radio' && !el.checked && dialog.querySelector(`input[type="radio"][name="${el.name}"]:checked`)));
  if (!all.length) return;
  const first = all[0];
  const last = all[all.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/* Opens a native modal dialog (the page behind is inert; Tab stays inside;
   Escape closes it) and gives focus back to what opened it when it closes. */
export function openDialog(dialog, opener, initialFocus) {
  const back = opener || document.activeElement;
  if (!dialog.dataset.trapped) {
    dialog.addEventListener('keydown', trapFocus);
    dialog.dataset.trapped = 'yes';
  }
  dialog.addEventListener('close', () => {
    if (back && back.isConnected) back.focus();
  }, { once: true });
  dialog.showModal();
  const target = initialFocus || dialog.querySelector('input:checked, input, button, [href]');
  if (target) target.focus();
}

export function announce(region, text) {
  region.textContent = '';
  // A fresh text node makes screen readers read the update.
  requestAnimationFrame(() => { region.textContent = text; });
}
