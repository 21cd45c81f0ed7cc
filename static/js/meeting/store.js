// The live plan in the browser: the server's state at revision `rev`, this person's
// pending changes on top, and the bookkeeping that makes the two meet again after a
// gap, a reconnect or a reload.  No DOM here (tests/meetings/js/ drive it with a fake
// server, tests/live/js/store.test.mjs message by message); the room (room.js) listens
// to its events and renders.
//
// Rules (docs/protocol.md):
// - every op/ack carries `rev`; they are applied strictly in order.  A message with
//   rev > rev+1 means we missed something: we hold it and ask {"type":"sync","since":rev}.
// - our ops carry client-made op_ids; after a reconnect they are sent again with the
//   same ids and the server applies each once.  An op message carrying one of our pending
//   op_ids is our own op (e.g. committed before the ack was lost), treated as its ack.
//   One at rev <= ours is already in the state: it settles the op at once (also while a
//   sync is in flight) and is never applied again.
// - an op sent but not acknowledged when a snapshot replaces the state is sent again as
//   it was (same op_id, base_rev, op): the server may have committed it into that
//   snapshot, and on a new connection nothing answers the old one's ops; the resend gets
//   the ack (on the same connection it merely gets a second one).  A resend is always
//   the first message again, never a rebased one (text included).
// - text fields: FieldSync (OT, one outstanding op per field, keystrokes composed and
//   sent every FLUSH_MS).  Scalars (dates, status, responsible): "set", shown at once,
//   put back and explained if the server refuses.  Structure (create/delete/move/restore):
//   sent, applied when the ack comes back (the ack's result names a new object's id).
// - a snapshot (on connect, on resync) replaces the state.  Fields with unsent or
//   unacknowledged edits keep them: they replay the ops they missed (sync since their
//   own revision) so the edits are transformed, not dropped.  If the server no longer has
//   those ops, a field whose value did not change keeps the edits; otherwise the person's
//   text is handed to the page to show ("lost" event) — never dropped silently.
// - pending changes are kept in sessionStorage, so a reload sends them too.

import { apply as applyOp, invert } from '../ot.js';
import { FieldSync, newOpId } from './textfield.js';
import { LISTS, TEXT_FIELDS, applyEvent, fieldKey, find, isTextField, parseKey } from './state.js';

export const FLUSH_MS = 150;
const RETRY_MS = 1500;
const ACK_PATIENCE_MS = 5000;
const SYNC_PATIENCE_MS = 10000;
const RETRYABLE = new Set(['conflict', 'unavailable', 'rate_limited']);

export class LiveStore {
  /**
   * @param {object} o
   * @param {number} o.planId
   * @param {number} o.userId
   * @param {(msg: object) => boolean} o.send  sends one message; false if not connected
   * @param {Storage|null} o.storage  sessionStorage (or null in tests)
   */
  constructor({ planId, userId, send, storage = null, timers = globalThis }) {
    this.planId = planId;
    this.userId = userId;
    this.send = send;
    this.storage = storage;
    this.timers = timers;
    this.storageKey = `ipplan.live.${planId}.${userId}`;
    this.state = null;
    this.rev = null;
    this.you = null;
    this.meeting = null;
    this.presence = [];
    this.focus = null;
    this.fields = new Map(); // key -> FieldSync
    this.overlays = new Map(); // key -> [{opId, value}] scalar values sent, not acked yet
    this.pending = new Map(); // opId -> {msg, kind, key, sent, transmitted, at, resolve, reject}
    this.refused = new Set(); // op_ids refused lately: a resend of one gets its error again
    this.queue = []; // op/ack messages held while a sync is in flight
    this.syncing = null; // null | 'gap' | 'catchup'
    this.catchUpUntil = null;
    this.syncAt = 0;
    this.open = false;
    this.listeners = new Map();
    this.flushTimer = null;
    this.persistTimer = null;
    this.restored = this._loadStored();
    this.watchdog = timers.setInterval ? timers.setInterval(() => this._checkAcks(), ACK_PATIENCE_MS) : null;
  }

  // ------------------------------------------------------------------------- events

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, detail) {
    for (const fn of this.listeners.get(name) || []) fn(detail);
  }

  // -------------------------------------------------------------------- connection

  /**
   * The socket is open.  `resuming`: we connected with since=<rev>, so the server sends
   * the ops we missed (an `ops` message) instead of a snapshot; until it has arrived
   * nothing is sent and live ops wait, then pending ops go out again (same op_ids).
   */
  connected({ resuming = false } = {}) {
    this.open = true;
    this.syncing = resuming && this.rev !== null ? 'reconnect' : null;
    this.syncAt = Date.now();
  }

  /**
   * The revision to reconnect from (the `since` of the socket URL), or null.  Fields
   * still replaying what they missed before a snapshot need the ops from their own
   * revision on, so we ask from the oldest of them.
   */
  get resumeFrom() {
    if (this.rev === null) return null;
    let since = this.rev;
    if (this.catchUpUntil !== null) {
      for (const f of this.fields.values()) if (f.catchingUp) since = Math.min(since, f.rev);
    }
    return since;
  }

  disconnected() {
    this.open = false;
    this.syncing = null;
    this.queue = [];
    // catchUpUntil stays: fields catching up resume on the next connection (resumeFrom).
    for (const f of this.fields.values()) f.connectionLost();
    for (const entry of this.pending.values()) entry.sent = false;
    this.emit('pending', this.pendingCount);
  }

  get ready() {
    return this.state !== null;
  }

  get pendingCount() {
    let n = this.pending.size;
    for (const f of this.fields.values()) n += f.pendingCount;
    return n;
  }

  /** One message from the server. */
  handle(msg) {
    switch (msg.type) {
      case 'snapshot':
        this._snapshot(msg);
        break;
      case 'op':
      case 'ack':
        this._committed(msg);
        break;
      case 'ops':
        this._opsReply(msg);
        break;
      case 'error':
        this._error(msg);
        break;
      case 'presence':
        this.presence = msg.users || [];
        this.emit('presence', this.presence);
        break;
      case 'meeting':
        this.meeting = msg.meeting;
        this.emit('meeting', this.meeting);
        break;
      case 'you':
        this.you = msg.you;
        this.emit('you', this.you);
        break;
      default:
        break; // pong and anything newer than this client
    }
  }

  // ------------------------------------------------------------------- local edits

  /** The person changed a text field; `op` is over the field's current local text. */
  editText(key, op, { undo = false } = {}) {
    const f = this.fields.get(key);
    if (!f) return null;
    const before = f.text;
    const applied = f.edit(op);
    if (!applied) return null;
    this.emit('localtext', { key, op: applied, inverse: invert(applied, before), undo });
    this._scheduleFlush();
    this._changedPending();
    return applied;
  }

  /** Apply an op to a field as if the person typed it, and tell its view (undo/redo). */
  editTextFromOutside(key, op, options = {}) {
    const applied = this.editText(key, op, options);
    if (applied) this.emit('text', { key, op: applied, own: true, local: true, user: null });
    return applied;
  }

  textOf(key) {
    const f = this.fields.get(key);
    return f ? f.text : '';
  }

  /** The value shown for a scalar field: the last one we sent, else the server's. */
  valueOf(target, id, field) {
    const key = fieldKey(target, id, field);
    if (isTextField(target, field)) return this.textOf(key);
    const overlay = this.overlays.get(key);
    if (overlay && overlay.length) return overlay[overlay.length - 1].value;
    const obj = this.state ? find(this.state, target, id) : null;
    return obj ? obj[field] ?? null : null;
  }

  /** Set a scalar field (status, date, responsible, level, goal). */
  setValue(target, id, field, value) {
    const key = fieldKey(target, id, field);
    const before = this.valueOf(target, id, field);
    const op = { type: 'set', target, id, field, value };
    const opId = newOpId();
    if (!this.overlays.has(key)) this.overlays.set(key, []);
    this.overlays.get(key).push({ opId, value });
    const promise = this._queue(opId, op, { kind: 'set', key });
    this.emit('localset', { key, target, id, field, before, value });
    return promise;
  }

  /** A structural op (create/delete/move/restore); resolves with the ack's result. */
  structure(op) {
    return this._queue(newOpId(), op, { kind: 'structure', key: null });
  }

  /** Who is in which field, for everyone's presence list. */
  setFocus(key) {
    this.focus = key;
    if (this.open) this.send({ type: 'presence', focus: key });
  }

  /** Send a meeting action (start/goto/close/decision); false if not connected. */
  meetingAction(action, extra = {}) {
    if (!this.open) return false;
    return this.send({ type: 'meeting', action, request_id: newOpId(), ...extra });
  }

  _queue(opId, op, { kind, key }) {
    return new Promise((resolve, reject) => {
      const msg = { type: 'op', op_id: opId, base_rev: this.rev ?? 0, op };
      this.pending.set(opId, { msg, kind, key, sent: false, transmitted: false, at: 0, resolve, reject });
      this._changedPending();
      this.flush();
    });
  }

  // ------------------------------------------------------------------------ sending

  _scheduleFlush() {
    if (this.flushTimer !== null) return;
    this.flushTimer = this.timers.setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, FLUSH_MS);
  }

  /** Send whatever is due: outstanding text ops not on the wire, queued ops. */
  flush() {
    if (!this.open || this.rev === null || this.syncing) return;
    for (const f of this.fields.values()) {
      if (f.catchingUp) continue;
      const msg = f.message(this.rev);
      if (msg && !this.send(msg)) f.sent = false;
    }
    for (const entry of this.pending.values()) {
      if (entry.sent) continue;
      if (this.send(entry.msg)) {
        entry.sent = true;
        entry.transmitted = true;
        entry.at = Date.now();
      }
    }
  }

  /** Something sent a while ago is still not acknowledged: ask what we missed. */
  _checkAcks() {
    const now = Date.now();
    if (this.open && this.syncing && now - this.syncAt > SYNC_PATIENCE_MS) {
      // The catch-up never came: start over from a fresh snapshot (pending edits are
      // kept and replayed, see _snapshot).
      this.send({ type: 'resync' });
      this.syncAt = now;
      return;
    }
    if (!this.open || this.syncing || this.rev === null) return;
    let overdue = false;
    for (const e of this.pending.values()) {
      if (e.sent && now - e.at > ACK_PATIENCE_MS) {
        e.sent = false; // goes out again (same message) once the sync reply is in
        overdue = true;
      }
    }
    for (const f of this.fields.values()) {
      if (f.sent && f.pending && !f.catchingUp && now - f.sentAt > ACK_PATIENCE_MS) {
        f.sent = false;
        overdue = true;
      }
    }
    if (overdue) this._requestSync(this.rev, 'gap');
  }

  _requestSync(since, kind) {
    if (this.syncing) return;
    if (!this.open) return;
    this.syncing = kind;
    this.syncAt = Date.now();
    if (!this.send({ type: 'sync', since })) this.syncing = null;
  }

  // ----------------------------------------------------------------- server messages

  _snapshot(msg) {
    const catchUpFailed = this.syncing === 'catchup';
    const queued = this.queue;
    this.queue = [];
    this.syncing = null;
    this.catchUpUntil = null;
    this.state = msg.plan;
    this.rev = msg.rev;
    this.you = msg.you;
    this.meeting = msg.meeting;
    this.presence = msg.presence || [];

    for (const [key, f] of [...this.fields]) {
      const obj = find(this.state, f.target, f.id);
      if (!obj) {
        this.fields.delete(key);
        if (f.pending) this.emit('lost', { key, text: f.text, reason: 'deleted' });
        continue;
      }
      const value = obj[f.field] ?? '';
      if (!f.pending) {
        this._showView(key, f.reset(value, this.rev));
      } else if (catchUpFailed) {
        this._fallback(f, value);
      } else {
        f.catchingUp = true;
      }
    }
    if (this.restored) {
      this._restore(this.restored);
      this.restored = null;
    }
    for (const target of Object.keys(TEXT_FIELDS)) {
      const objects = target === 'plan' ? [this.state] : this.state[LISTS[target]] || [];
      for (const obj of objects) this._ensureFields(target, obj, this.rev);
    }
    // Scalar overlays whose object is gone can never be acked into view.
    for (const key of [...this.overlays.keys()]) {
      const { target, id } = parseKey(key);
      if (!find(this.state, target, id)) this.overlays.delete(key);
    }
    const behind = [...this.fields.values()].filter((f) => f.catchingUp);
    if (behind.length) {
      this.catchUpUntil = this.rev;
      this._requestSync(Math.min(...behind.map((f) => f.rev)), 'catchup');
    }
    this.emit('snapshot', this.state);
    if (this.focus) this.setFocus(this.focus);
    for (const m of queued) this._committed(m);
    this._resendInFlight();
    this._changedPending();
    this.flush();
  }

  /**
   * After a snapshot: every op that went out on this connection and is not acknowledged
   * goes out again unchanged.  If the snapshot already contains it and came on a new
   * connection, nothing else will answer it; the resend is answered with the ack of the
   * original change (rev <= the snapshot's: settled, see _duplicate), or, if it is
   * committed after the snapshot, with its ack in order.  Ops not sent yet go out with
   * the next flush as usual.
   */
  _resendInFlight() {
    if (!this.open) return;
    const now = Date.now();
    for (const f of this.fields.values()) {
      const msg = f.inFlight();
      if (!msg) continue;
      if (this.send(msg)) f.sentAt = now;
      else f.sent = false;
    }
    for (const entry of this.pending.values()) {
      if (!entry.sent) continue;
      if (this.send(entry.msg)) entry.at = now;
      else entry.sent = false;
    }
  }

  _ensureFields(target, obj, rev) {
    for (const field of TEXT_FIELDS[target] || []) {
      const key = fieldKey(target, obj.id, field);
      if (!this.fields.has(key)) {
        this.fields.set(key, new FieldSync({ target, id: obj.id, field, text: obj[field] ?? '', rev }));
      }
    }
  }

  _restore(stored) {
    for (const data of stored.fields || []) {
      const key = fieldKey(data.target, data.id, data.field);
      const obj = find(this.state, data.target, data.id);
      if (!obj) {
        const f = FieldSync.fromJSON(data);
        this.emit('lost', { key, text: f.text, reason: 'deleted' });
        continue;
      }
      const current = this.fields.get(key);
      if (current && current.pending) continue; // this tab's own edits win
      const f = FieldSync.fromJSON(data);
      f.catchingUp = true;
      this.fields.set(key, f);
      this._showView(key, null);
    }
    for (const msg of stored.ops || []) {
      if (this.pending.has(msg.op_id)) continue;
      const { op } = msg;
      const kind = op.type === 'set' ? 'set' : 'structure';
      const key = kind === 'set' ? fieldKey(op.target, op.id, op.field) : null;
      if (key) {
        if (!this.overlays.has(key)) this.overlays.set(key, []);
        this.overlays.get(key).push({ opId: msg.op_id, value: op.value });
      }
      this.pending.set(msg.op_id, {
        msg,
        kind,
        key,
        sent: false,
        transmitted: true, // it may have reached the server before the reload
        at: 0,
        resolve: () => {},
        reject: () => {},
      });
    }
    const n = this.pendingCount;
    if (n) this.emit('restored', n);
  }

  /** We could not replay what a field missed: keep the edits if that is still safe. */
  _fallback(f, serverValue) {
    f.catchingUp = false;
    if (f.confirmed === serverValue) {
      f.rev = this.rev; // nobody changed it: the pending edits still apply as they are
      return;
    }
    const c = f.client;
    if (c.outstanding && f.transmitted) {
      // Perhaps only our own in-flight op landed.
      const withOurs = applySafe(f.confirmed, c.outstanding);
      if (withOurs === serverValue) {
        this._showView(f.key, f.ack(c.outstanding, this.rev));
        return;
      }
    }
    const lost = f.text;
    this._showView(f.key, f.reset(serverValue, this.rev));
    if (lost !== serverValue) this.emit('lost', { key: f.key, text: lost, reason: 'conflict' });
  }

  _showView(key, op) {
    if (op === null || op.length) this.emit('text', { key, op, own: false, user: null, quiet: true });
  }

  _committed(msg) {
    if (this.rev === null) return; // the first snapshot covers it
    if (msg.rev <= this.rev) {
      // Already in our state.  Checked before `syncing`: the ack of one of our ops
      // settles it even while we wait for a sync reply, which may not contain it
      // (it only holds what comes after the revision we asked from).
      this._duplicate(msg);
      return;
    }
    if (this.syncing) {
      this.queue.push(msg);
      return;
    }
    if (msg.rev > this.rev + 1) {
      this.queue.push(msg);
      this._requestSync(this.rev, 'gap');
      return;
    }
    this._apply(msg);
  }

  _duplicate(msg) {
    // Already in our state (e.g. the ack of a resend the server recognised).
    const entry = this.pending.get(msg.op_id);
    if (entry) {
      this._resolve(msg.op_id, entry, msg.result || {});
      return;
    }
    const { op } = msg;
    if (!op || op.type !== 'text' || !msg.op_id) return;
    const f = this.fields.get(fieldKey(op.target, op.id, op.field));
    // A field still catching up has not reached this revision: the catch-up reply
    // holds the op and settles it there (_catchUpOne), transformed in order.
    if (!f || f.catchingUp || f.outstandingId !== msg.op_id) return;
    const view = f.settleContained();
    if (view) this.emit('text', { key: f.key, op: view, own: true, user: msg.user || null, quiet: true });
    this._scheduleFlush();
    this._changedPending();
  }

  _opsReply(msg) {
    if (!this.syncing) {
      // A reply we did not ask for (e.g. a sync from before a reconnect): use what fits.
      for (const m of msg.ops || []) this._committed(m);
      return;
    }
    this.syncing = null;
    const queued = this.queue;
    this.queue = [];
    for (const m of msg.ops || []) {
      if (this.catchUpUntil !== null && m.rev <= this.catchUpUntil) this._catchUpOne(m);
      else {
        if (this.catchUpUntil !== null) this._finishCatchUp();
        this._committed(m);
      }
    }
    if (this.catchUpUntil !== null) this._finishCatchUp();
    for (const m of queued) this._committed(m);
    this.flush();
  }

  /** An op the snapshot already contains: only fields still catching up need it. */
  _catchUpOne(m) {
    const { op } = m;
    if (op.type === 'text') {
      const f = this.fields.get(fieldKey(op.target, op.id, op.field));
      if (f && f.catchingUp && m.rev > f.rev) {
        if (f.outstandingId === m.op_id) this._showView(f.key, f.ack(op.ops, m.rev));
        else this.emit('text', { key: f.key, op: f.remote(op.ops, m.rev), own: false, user: m.user });
      }
    }
    const entry = this.pending.get(m.op_id);
    if (entry) this._resolve(m.op_id, entry, m.result || {});
  }

  _finishCatchUp() {
    this.catchUpUntil = null;
    for (const f of this.fields.values()) {
      if (!f.catchingUp) continue;
      const obj = find(this.state, f.target, f.id);
      const value = obj ? obj[f.field] ?? '' : '';
      if (f.confirmed === value) {
        f.catchingUp = false;
        f.rev = this.rev;
      } else {
        this._fallback(f, value);
      }
    }
    this._changedPending();
  }

  _apply(m) {
    const { op } = m;
    const before = op.id !== undefined && this.state ? find(this.state, op.target, op.id) : null;
    const removed = op.type === 'delete' && before ? { ...before } : null;
    try {
      applyEvent(this.state, op);
    } catch {
      // We hold a state the op does not fit: start over from a fresh snapshot.
      this.rev = m.rev;
      this.send({ type: 'resync' });
      return;
    }
    this.rev = m.rev;
    const entry = this.pending.get(m.op_id);
    const own = Boolean(entry);
    if (op.type === 'text') {
      const key = fieldKey(op.target, op.id, op.field);
      const f = this.fields.get(key);
      if (f && f.outstandingId === m.op_id) {
        const view = f.ack(op.ops, m.rev);
        if (view) this.emit('text', { key, op: view, own: true, user: m.user, quiet: true });
        this._scheduleFlush();
      } else if (f) {
        const view = f.remote(op.ops, m.rev);
        this.emit('text', { key, op: view, own: false, user: m.user });
      }
    } else if (op.type === 'set') {
      const key = fieldKey(op.target, op.id, op.field);
      const overlay = this.overlays.get(key);
      if (overlay) {
        const at = overlay.findIndex((o) => o.opId === m.op_id);
        if (at >= 0) overlay.splice(0, at + 1);
        if (!overlay.length) this.overlays.delete(key);
      }
      this.emit('field', {
        key,
        target: op.target,
        id: op.id,
        field: op.field,
        value: this.valueOf(op.target, op.id, op.field),
        own,
        user: m.user,
      });
    } else {
      if (op.type === 'create' || op.type === 'restore') {
        const obj = find(this.state, op.target, op.values.id);
        if (obj) {
          for (const field of TEXT_FIELDS[op.target] || []) {
            const key = fieldKey(op.target, obj.id, field);
            const old = this.fields.get(key);
            if (old && old.pending) continue;
            this.fields.set(key, new FieldSync({ target: op.target, id: obj.id, field, text: obj[field] ?? '', rev: m.rev }));
          }
        }
      } else if (op.type === 'delete') {
        for (const field of TEXT_FIELDS[op.target] || []) {
          const key = fieldKey(op.target, op.id, field);
          const f = this.fields.get(key);
          if (f && f.pending) this.emit('lost', { key, text: f.text, reason: 'deleted', user: m.user, object: removed });
          this.fields.delete(key);
        }
        for (const key of [...this.overlays.keys()]) {
          if (key.startsWith(`${op.target}:${op.id}:`)) this.overlays.delete(key);
        }
      }
      this.emit('structure', { op, own, user: m.user, result: m.result || {}, removed });
    }
    if (entry) this._resolve(m.op_id, entry, m.result || {});
    this._changedPending();
  }

  _resolve(opId, entry, result) {
    this.pending.delete(opId);
    if (entry.kind === 'set' && entry.key) {
      const overlay = this.overlays.get(entry.key);
      if (overlay) {
        const at = overlay.findIndex((o) => o.opId === opId);
        if (at >= 0) overlay.splice(at, 1);
        if (!overlay.length) this.overlays.delete(entry.key);
      }
    }
    entry.resolve(result);
    this._changedPending();
  }

  _error(msg) {
    const opId = msg.op_id;
    const retry = RETRYABLE.has(msg.code);
    if (opId && !retry) {
      if (this.refused.has(opId)) return; // the same refusal again (a resend crossed it)
      this.refused.add(opId);
      if (this.refused.size > 200) this.refused.delete(this.refused.values().next().value);
    }
    if (opId) {
      for (const f of this.fields.values()) {
        if (f.outstandingId !== opId) continue;
        if (retry) {
          f.sent = false;
          this._retryLater();
          return;
        }
        const lost = f.text;
        const { view } = f.refuse();
        this.emit('text', { key: f.key, op: view, own: false, user: null, quiet: true });
        this.emit('lost', { key: f.key, text: lost, reason: 'refused', message: msg.message });
        // The server follows a refused op with a fresh snapshot.
        this._changedPending();
        return;
      }
      const entry = this.pending.get(opId);
      if (entry) {
        if (retry) {
          entry.sent = false;
          this._retryLater();
          return;
        }
        this.pending.delete(opId);
        let key = entry.key;
        if (entry.kind === 'set') {
          const overlay = this.overlays.get(key) || [];
          const at = overlay.findIndex((o) => o.opId === opId);
          if (at >= 0) overlay.splice(at, 1);
          if (!overlay.length) this.overlays.delete(key);
          const { target, id, field } = entry.msg.op;
          this.emit('field', { key, target, id, field, value: this.valueOf(target, id, field), own: true, user: null, refused: true });
        } else if (msg.field && entry.msg.op.id) {
          key = fieldKey(entry.msg.op.target, entry.msg.op.id, msg.field);
        }
        this.emit('error', { key, message: msg.message, code: msg.code, field: msg.field, op: entry.msg.op });
        entry.reject(Object.assign(new Error(msg.message), { code: msg.code, field: msg.field }));
        this._changedPending();
        return;
      }
    }
    this.emit('error', { key: null, message: msg.message, code: msg.code, field: msg.field, requestId: opId });
  }

  _retryLater() {
    this.timers.setTimeout(() => this.flush(), RETRY_MS);
  }

  // ---------------------------------------------------------------------- storage

  _changedPending() {
    this.emit('pending', this.pendingCount);
    if (!this.storage || this.persistTimer !== null) return;
    this.persistTimer = this.timers.setTimeout(() => {
      this.persistTimer = null;
      this.persist();
    }, 250);
  }

  /** Write pending changes to sessionStorage (also called on pagehide). */
  persist() {
    if (!this.storage) return;
    const fields = [...this.fields.values()].filter((f) => f.pending).map((f) => f.toJSON());
    const ops = [...this.pending.values()].map((e) => e.msg);
    try {
      if (!fields.length && !ops.length) this.storage.removeItem(this.storageKey);
      else this.storage.setItem(this.storageKey, JSON.stringify({ v: 1, user: this.userId, fields, ops }));
    } catch {
      // Storage full or disabled: the edits are still in memory and on their way.
    }
  }

  _loadStored() {
    if (!this.storage) return null;
    try {
      const data = JSON.parse(this.storage.getItem(this.storageKey) || 'null');
      if (!data || data.v !== 1 || data.user !== this.userId) return null;
      return data;
    } catch {
      return null;
    }
  }
}

function applySafe(text, op) {
  try {
    return applyOp(text, op);
  } catch {
    return null;
  }
}
