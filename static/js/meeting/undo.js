// Undo and redo of this person's own recent edits.  An undo is an ordinary new change
// (the inverse op), so everyone else receives it like any other edit.
//
// Text entries hold the inverse of an edit as an op over the field's *current* local
// text: when someone else's op arrives for that field, the entries are transformed past
// it (top of the stack first, as in ot.js's UndoManager), so undo removes exactly what
// this person typed, wherever it has moved to, and leaves the others' text alone.
// Consecutive keystrokes in one field within GROUP_MS are one step.

import { compose, isNoop, transform } from '../ot.js';

const GROUP_MS = 1000;
const LIMIT = 200;

export class UndoManager {
  constructor(store, { onChange = () => {}, now = Date.now } = {}) {
    this.store = store;
    this.onChange = onChange;
    this.now = now;
    this.undoStack = [];
    this.redoStack = [];
    this.mode = null; // 'undo' | 'redo' while applying one
    store.on('localtext', (e) => this._localText(e));
    store.on('text', (e) => {
      if (!e.local) this._transform(e.key, e.op);
    });
    store.on('localset', (e) => this._localSet(e));
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  /** Record a structural change: `undo` and `redo` are lists of ops to send in order. */
  recordStructure({ undo, redo, label }) {
    this._push({ kind: 'structure', undo, redo, label }, true);
  }

  /** Stop merging keystrokes into the last step (e.g. the person left the field). */
  seal() {
    const top = this.undoStack[this.undoStack.length - 1];
    if (top) top.sealed = true;
  }

  /** Undo the latest own edit that can still be undone; returns its entry or null. */
  async undo() {
    return this._step(this.undoStack, 'undo');
  }

  async redo() {
    return this._step(this.redoStack, 'redo');
  }

  async _step(stack, mode) {
    while (stack.length) {
      const entry = stack.pop();
      if (entry.kind === 'text') {
        if (!this.store.fields.has(entry.key) || isNoop(entry.op)) continue;
        this.mode = mode;
        try {
          this.store.editTextFromOutside(entry.key, entry.op, { undo: true });
        } finally {
          this.mode = null;
        }
        this.onChange();
        return entry;
      }
      if (entry.kind === 'set') {
        const { target, id, field } = entry;
        if (!this.store.state || !findObj(this.store.state, target, id)) continue;
        this.mode = mode;
        try {
          // The localset event this causes records the way back on the other stack.
          this.store.setValue(target, id, field, entry.before).catch(() => {});
        } finally {
          this.mode = null;
        }
        this.onChange();
        return entry;
      }
      // Structure: send the ops one after another (a restore must land before its move).
      const ops = mode === 'undo' ? entry.undo : entry.redo;
      (mode === 'undo' ? this.redoStack : this.undoStack).push(entry);
      this.onChange();
      for (const op of ops) await this.store.structure(op);
      return entry;
    }
    this.onChange();
    return null;
  }

  _push(entry, clearRedo) {
    this.undoStack.push(entry);
    if (this.undoStack.length > LIMIT) this.undoStack.shift();
    if (clearRedo) this.redoStack = [];
    this.onChange();
  }

  _localText({ key, inverse }) {
    if (isNoop(inverse)) return;
    const entry = { kind: 'text', key, op: inverse, at: this.now() };
    if (this.mode === 'undo') {
      this.redoStack.push({ ...entry, sealed: true });
      return;
    }
    if (this.mode === 'redo') {
      this.undoStack.push({ ...entry, sealed: true });
      return;
    }
    const top = this.undoStack[this.undoStack.length - 1];
    if (top && top.kind === 'text' && top.key === key && !top.sealed && entry.at - top.at < GROUP_MS) {
      // Undoing the group: first this keystroke, then the earlier ones.
      top.op = compose(inverse, top.op);
      top.at = entry.at;
      this.redoStack = [];
      this.onChange();
      return;
    }
    this._push(entry, true);
  }

  _localSet({ key, target, id, field, before, value }) {
    if (before === value) return;
    // The entry holds the value to go back to; applying it records the reverse.
    const entry = { kind: 'set', key, target, id, field, before, after: value };
    if (this.mode === 'undo') this.redoStack.push(entry);
    else if (this.mode === 'redo') this.undoStack.push(entry);
    else this._push(entry, true);
    this.onChange();
  }

  /** Someone else's op (as applied to our local text) on field `key`. */
  _transform(key, op) {
    if (op === null) {
      // The field was replaced wholesale (snapshot): its entries no longer fit.
      this.undoStack = this.undoStack.filter((e) => e.key !== key);
      this.redoStack = this.redoStack.filter((e) => e.key !== key);
      this.onChange();
      return;
    }
    if (!op.length) return;
    for (const stack of [this.undoStack, this.redoStack]) {
      let other = op;
      for (let i = stack.length - 1; i >= 0; i--) {
        const entry = stack[i];
        if (entry.kind !== 'text' || entry.key !== key) continue;
        [entry.op, other] = transform(entry.op, other, false);
        entry.sealed = true;
      }
    }
  }
}

function findObj(state, target, id) {
  if (target === 'plan') return state;
  const list = state[`${target}s`];
  return list ? list.find((o) => o.id === id) : null;
}
