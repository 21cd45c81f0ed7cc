// Binds one <textarea> or <input type="text"> to a live text field.
//
// Local typing: every input event is diffed against what the element showed before
// (diffAtCursor, so the change sits where the cursor is) and handed to the store as an
// op in code points.  Remote changes: applied to the element's value while keeping the
// person's cursor, selection and scroll position (transformIndex through the op).
// While an IME composition is open the element's value must not be touched, so remote
// ops wait ("deferred") and the person's input is transformed past them meanwhile.

import { apply, compose, cpToUtf16, transformIndex, utf16ToCp } from '../ot.js';
import { diffAtCursor, rebaseOverDeferred } from './textfield.js';

export class TextBinding {
  constructor(el, store, key) {
    this.el = el;
    this.store = store;
    this.key = key;
    this.shown = store.textOf(key);
    if (el.value !== this.shown) el.value = this.shown;
    this.composing = false;
    this.deferred = null;
    this.deferredOwn = false;
    this._onInput = () => this.input();
    this._onStart = () => {
      this.composing = true;
    };
    this._onEnd = () => {
      this.composing = false;
      this.input();
      this.showDeferred();
    };
    el.addEventListener('input', this._onInput);
    el.addEventListener('compositionstart', this._onStart);
    el.addEventListener('compositionend', this._onEnd);
    this.unwatch = store.on('text', (e) => {
      if (e.key === this.key) this.remote(e);
    });
  }

  destroy() {
    this.el.removeEventListener('input', this._onInput);
    this.el.removeEventListener('compositionstart', this._onStart);
    this.el.removeEventListener('compositionend', this._onEnd);
    this.unwatch();
  }

  /** The element's value changed under the person's hands. */
  input() {
    const value = this.el.value;
    if (value === this.shown) return;
    const cursor = utf16ToCp(value, this.el.selectionEnd ?? value.length);
    let op = diffAtCursor(this.shown, value, cursor);
    this.shown = value;
    if (this.deferred) [op, this.deferred] = rebaseOverDeferred(op, this.deferred);
    this.store.editText(this.key, op);
  }

  /** The field's text changed (someone else, an ack repair, undo/redo, a snapshot). */
  remote(e) {
    if (e.op === null) {
      // Replaced wholesale: show the field's text as it is now.
      this.input();
      this.deferred = null;
      this._show(diffAtCursor(this.shown, this.store.textOf(this.key)), false);
      return;
    }
    this.deferred = this.deferred ? compose(this.deferred, e.op) : e.op;
    this.deferredOwn = Boolean(e.local);
    if (this.composing) return;
    // An input event not seen yet would be relative to the old text: take it first.
    this.input();
    this.showDeferred();
  }

  showDeferred() {
    if (!this.deferred) return;
    const op = this.deferred;
    this.deferred = null;
    this._show(op, this.deferredOwn);
    const expected = this.store.textOf(this.key);
    if (this.shown !== expected) {
      // Should not happen; if it does, the store's text is the truth.
      this._show(diffAtCursor(this.shown, expected), false);
    }
  }

  _show(op, own) {
    if (!op.length) return;
    const el = this.el;
    const old = this.shown;
    const next = apply(old, op);
    const focused = el.ownerDocument.activeElement === el;
    let start = 0;
    let end = 0;
    let direction = 'none';
    if (focused) {
      start = utf16ToCp(old, el.selectionStart);
      end = utf16ToCp(old, el.selectionEnd);
      direction = el.selectionDirection || 'none';
    }
    const scrollTop = el.scrollTop;
    el.value = next;
    this.shown = next;
    if (focused) {
      const s = transformIndex(start, op, own);
      const t = start === end ? s : transformIndex(end, op, own);
      el.setSelectionRange(cpToUtf16(next, s), cpToUtf16(next, t), direction);
    }
    el.scrollTop = scrollTop;
  }
}
