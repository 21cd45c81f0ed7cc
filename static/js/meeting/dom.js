// Small DOM helpers for the room: keyed list reconciliation that keeps focus, template
// cloning, and the conversions between form controls and protocol values.

/**
 * Make `list`'s children match `keys` (in order): reuse the child whose data-key-attr
 * equals the key, create missing ones with `create(key)`, update each with
 * `update(el, key, index)`, remove the rest.  Nodes already in place are not moved, so
 * the element someone is typing in keeps its focus in the common cases; if focus is
 * lost anyway (it moved), it is put back afterwards.
 */
export function reconcile(list, keys, { attr = 'data-id', create, update, remove = null }) {
  const doc = list.ownerDocument;
  const active = doc.activeElement;
  const selection = saveSelection(active);
  const existing = new Map();
  for (const child of [...list.children]) existing.set(child.getAttribute(attr), child);
  let cursor = list.firstElementChild;
  keys.forEach((key, index) => {
    const id = String(key);
    let el = existing.get(id);
    if (el) existing.delete(id);
    else el = create(key);
    if (el === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(el, cursor);
    update(el, key, index);
  });
  for (const el of existing.values()) {
    if (remove) remove(el);
    el.remove();
  }
  restoreFocus(active, selection);
}

function saveSelection(el) {
  if (!el || !('selectionStart' in el)) return null;
  try {
    return [el.selectionStart, el.selectionEnd, el.selectionDirection];
  } catch {
    return null; // e.g. type=date
  }
}

function restoreFocus(active, selection) {
  if (!active || active === active.ownerDocument.body) return;
  if (active.ownerDocument.activeElement === active || !active.isConnected) return;
  active.focus({ preventScroll: true });
  if (selection) {
    try {
      active.setSelectionRange(...selection);
    } catch {
      // not a text control
    }
  }
}

/** A fresh copy of <template id=...>'s first element with "__id__" replaced by `id`. */
export function cloneTemplate(doc, templateId, id) {
  const tpl = doc.getElementById(templateId);
  const el = tpl.content.firstElementChild.cloneNode(true);
  const fix = (node) => {
    for (const name of ['id', 'for', 'data-key', 'data-id', 'aria-describedby', 'aria-labelledby']) {
      const value = node.getAttribute(name);
      if (value && value.includes('__id__')) node.setAttribute(name, value.replaceAll('__id__', String(id)));
    }
  };
  fix(el);
  el.querySelectorAll('*').forEach(fix);
  return el;
}

/** The protocol value of a scalar control. */
export function controlValue(el, field) {
  const raw = el.value;
  if (raw === '') return null;
  if (field === 'responsible' || field === 'goal') return Number(raw);
  return raw;
}

/** Show a protocol value in a scalar control. */
export function setControlValue(el, value) {
  const text = value === null || value === undefined ? '' : String(value);
  if (el.value !== text) el.value = text;
}

/** Replace a <select>'s options (keeping a blank first option if it had one). */
export function setOptions(select, options, { blank = null } = {}) {
  const current = select.value;
  const doc = select.ownerDocument;
  const wanted = [];
  if (blank !== null) wanted.push(['', blank]);
  for (const [value, label] of options) wanted.push([String(value), label]);
  const same =
    select.options.length === wanted.length &&
    wanted.every(([v, l], i) => select.options[i].value === v && select.options[i].textContent === l);
  if (same) return;
  select.replaceChildren(
    ...wanted.map(([v, l]) => {
      const option = doc.createElement('option');
      option.value = v;
      option.textContent = l;
      return option;
    }),
  );
  select.value = current;
}

/** The text of the label of a control (for announcements). */
export function labelOf(el) {
  if (!el) return '';
  const label = el.id ? el.ownerDocument.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
  return label ? label.textContent.replace(/\s+/g, ' ').trim() : '';
}

export function excerpt(text, n = 40) {
  const clean = (text || '').replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : clean;
}
