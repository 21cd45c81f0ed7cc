// Texts for the room's script.  They are translated on the server (Django i18n, see
// ipplan/meetings/views.py room_strings) and handed over as a JSON data block, so the
// catalogue stays in one place and no inline script is needed.

let strings = {};

export function loadStrings(id = 'room-strings', doc = document) {
  const el = doc.getElementById(id);
  strings = el ? JSON.parse(el.textContent) : {};
}

/**
 * The text for `key`, with %(name)s placeholders filled from `params`.  Counted texts
 * come in two forms; with params.n === 1 the singular ("<key>_one") is used.
 */
export function t(key, params = {}) {
  const one = params.n === 1 ? strings[`${key}_one`] : undefined;
  const text = one ?? strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => (name in params ? String(params[name]) : ''));
}
