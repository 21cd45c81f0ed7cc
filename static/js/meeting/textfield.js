// One live text field (e.g. goal 5's "text"): the OT state between this browser and the
// server.  No DOM here, so node can test it (tests/meetings/js/).
//
//   confirmed  the field's value as committed on the server, as of plan revision `rev`
//   outstanding (OTClient) our op built on `confirmed`, sent (or about to be) and not acked
//   buffer     (OTClient) our edits since `outstanding`, composed, not sent yet
//   text       what the person sees: confirmed + outstanding + buffer
//
// Positions are code points throughout (ot.js); the DOM binding converts UTF-16 offsets.
// The server transforms a text op against the text ops on the same field committed
// after its `base_rev` and requires the op to span the whole field at that revision,
// so an op goes out padded with an explicit trailing retain (see message()).

import {
  OTClient,
  apply,
  baseLength,
  compose,
  cpLength,
  invert,
  isNoop,
  normalize,
  transform,
} from '../ot.js';

export function newOpId() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') {
    return globalThis.crypto.randomUUID();
  }
  // Older browsers: 128 random bits from getRandomValues, hex.
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The op turning oldText into newText, placing the changed span so that it ends at the
 * cursor (code points into newText) when that is consistent with the texts.  Typing an
 * "a" at the start of "aa" is then an insert at 0, not at 2: the position matters when
 * someone else edits the same spot concurrently, and for where their cursor ends up.
 */
export function diffAtCursor(oldText, newText, cursor = null) {
  const a = Array.from(oldText);
  const b = Array.from(newText);
  let maxSuffix = Math.min(a.length, b.length);
  if (cursor !== null && cursor >= 0) maxSuffix = Math.min(maxSuffix, Math.max(0, b.length - cursor));
  let suffix = 0;
  while (suffix < maxSuffix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const maxPrefix = Math.min(a.length, b.length) - suffix;
  let prefix = 0;
  while (prefix < maxPrefix && a[prefix] === b[prefix]) prefix++;
  return normalize([prefix, b.slice(prefix, b.length - suffix).join(''), -(a.length - prefix - suffix)]);
}

export class FieldSync {
  /**
   * @param {object} o
   * @param {string} o.target  plan | theme | goal | measure
   * @param {number} o.id
   * @param {string} o.field
   * @param {string} o.text    the committed value at revision `rev`
   * @param {number} o.rev
   */
  constructor({ target, id, field, text, rev }) {
    this.target = target;
    this.id = id;
    this.field = field;
    this.key = `${target}:${id}:${field}`;
    this.confirmed = text || '';
    this.text = this.confirmed;
    this.rev = rev;
    this.client = new OTClient(0);
    this.outstandingId = null;
    this.outstandingBase = null; // base_rev the outstanding op was last sent with
    this.wire = null; // the message the outstanding op first went out as (resent verbatim)
    this.sent = false; // outstanding transmitted on the current connection
    this.transmitted = false; // outstanding transmitted at all (the server may have it)
    this.catchingUp = false; // see LiveStore: replaying ops it missed before a snapshot
  }

  get pending() {
    return this.client.outstanding !== null;
  }

  /** Number of unsaved changes this field stands for (for "N changes waiting"). */
  get pendingCount() {
    return (this.client.outstanding ? 1 : 0) + (this.client.buffer ? 1 : 0);
  }

  /** A local edit, as an op over `text`.  Returns the normalised op (or null if none). */
  edit(op) {
    op = normalize(op);
    if (op.length === 0) return null;
    this.text = apply(this.text, op);
    const c = this.client;
    if (c.outstanding === null) {
      c.outstanding = op;
      this.outstandingId = newOpId();
      this.sent = false;
      this.transmitted = false;
    } else if (!this.transmitted && c.buffer === null) {
      // Never on the wire: keep composing into it, so one message carries ~150 ms of
      // typing.  Once sent it must stay as it is, because a resend with the same op_id
      // returns the earlier result if the server already has it.
      c.outstanding = compose(c.outstanding, op);
    } else {
      c.buffer = c.buffer === null ? op : compose(c.buffer, op);
    }
    return op;
  }

  /**
   * The protocol message for the outstanding op if it still has to go out, else null.
   * `baseRev` is the plan revision our state reflects; we pass the store's revision
   * when this field has seen every op up to it, which spares the server a long scan.
   * An op that went out before goes out again exactly as it was (same op_id, base_rev
   * and ops, docs/protocol.md section 2): the server transforms it from its original
   * base_rev, and if it already has it, answers with the ack of the original change.
   */
  message(baseRev = this.rev) {
    const c = this.client;
    if (c.outstanding === null || this.sent) return null;
    this.sent = true;
    this.transmitted = true;
    this.sentAt = Date.now();
    if (this.wire && this.wire.op_id === this.outstandingId) return this.wire;
    this.outstandingBase = baseRev;
    const ops = normalize(c.outstanding);
    const rest = cpLength(this.confirmed) - baseLength(ops);
    if (rest > 0) ops.push(rest);
    this.wire = {
      type: 'op',
      op_id: this.outstandingId,
      base_rev: baseRev,
      op: { type: 'text', target: this.target, id: this.id, field: this.field, ops },
    };
    return this.wire;
  }

  /** The outstanding op's message if it went out on this connection (to send it again). */
  inFlight() {
    if (this.client.outstanding === null || !this.sent) return null;
    return this.wire && this.wire.op_id === this.outstandingId ? this.wire : null;
  }

  /** The connection dropped: whatever was in flight must go out again (same op_id). */
  connectionLost() {
    this.sent = false;
  }

  /**
   * Someone else's committed text op (committed at `rev`, over `confirmed`).
   * Returns the op to apply to what the person sees (transformed past our pending edits).
   */
  remote(ops, rev) {
    this.confirmed = apply(this.confirmed, ops);
    this.rev = rev;
    const local = this.client.applyServer(ops);
    this.text = apply(this.text, local);
    return local;
  }

  /**
   * The server committed our outstanding op at `rev`, as `ops` (transformed on the server
   * exactly as we transformed it here).  Returns an op to apply to the view if the server
   * stored something other than what we have (e.g. it stripped a NUL), else null.
   */
  ack(ops, rev) {
    this.confirmed = apply(this.confirmed, ops);
    this.rev = rev;
    this.client.serverAck();
    if (this.client.outstanding !== null) {
      this.outstandingId = newOpId();
      this.sent = false;
      this.transmitted = false;
    } else {
      this.outstandingId = null;
    }
    return this.repair();
  }

  /**
   * Our outstanding op turned out to be committed at a revision whose value `confirmed`
   * already holds (we took that value from a snapshot without replaying the op log),
   * so its effect is counted there, or was undone by someone since.  Settle it without
   * applying it again; the buffered edits, made on top of it, are moved past its undoing
   * so they apply to `confirmed` and become the next op.  Returns the view op or null.
   */
  settleContained() {
    const c = this.client;
    if (c.outstanding === null) return null;
    let next = c.buffer;
    if (next !== null) {
      const undo = invert(c.outstanding, this.confirmed);
      [, next] = transform(undo, next, true);
      next = isNoop(next) ? null : normalize(next);
    }
    c.outstanding = next;
    c.buffer = null;
    this.outstandingId = next === null ? null : newOpId();
    this.sent = false;
    this.transmitted = false;
    return this.repair();
  }

  /** Make `text` equal confirmed + pending again if they drifted; the view op or null. */
  repair() {
    let expected = this.confirmed;
    if (this.client.outstanding) expected = apply(expected, this.client.outstanding);
    if (this.client.buffer) expected = apply(expected, this.client.buffer);
    if (expected === this.text) return null;
    const fix = diffAtCursor(this.text, expected);
    this.text = expected;
    return fix;
  }

  /**
   * The server refused our outstanding op.  Pending edits are dropped from the OT state;
   * the text the person wrote is returned so the caller can show it (never lost silently).
   * Returns { lost: string, view: op turning `text` into `confirmed` }.
   */
  refuse() {
    const lost = this.text;
    this.client.outstanding = null;
    this.client.buffer = null;
    this.outstandingId = null;
    this.sent = false;
    this.transmitted = false;
    const view = diffAtCursor(this.text, this.confirmed);
    this.text = this.confirmed;
    return { lost, view };
  }

  /** A fresh committed value with nothing pending (snapshot). Returns the view op. */
  reset(text, rev) {
    const view = diffAtCursor(this.text, text || '');
    this.confirmed = text || '';
    this.text = this.confirmed;
    this.rev = rev;
    this.client = new OTClient(0);
    this.outstandingId = null;
    this.sent = false;
    this.catchingUp = false;
    return view;
  }

  /** Pending state for sessionStorage (so a reload loses nothing). */
  toJSON() {
    return {
      target: this.target,
      id: this.id,
      field: this.field,
      rev: this.rev,
      confirmed: this.confirmed,
      outstanding: this.client.outstanding,
      outstandingId: this.outstandingId,
      transmitted: this.transmitted,
      wire: this.wire && this.wire.op_id === this.outstandingId ? this.wire : null,
      buffer: this.client.buffer,
    };
  }

  static fromJSON(data) {
    const f = new FieldSync({ ...data, text: data.confirmed });
    f.client.outstanding = data.outstanding;
    f.client.buffer = data.buffer;
    f.outstandingId = data.outstandingId;
    f.transmitted = Boolean(data.transmitted);
    f.wire = data.wire || null;
    let text = f.confirmed;
    if (data.outstanding) text = apply(text, data.outstanding);
    if (data.buffer) text = apply(text, data.buffer);
    f.text = text;
    return f;
  }
}

/**
 * Transform a local op made over `shown` (the DOM value) past ops that the field applied
 * but the DOM has not shown yet (while an IME composition is open).  Returns
 * [localOpForField, deferredOpForView].
 */
export function rebaseOverDeferred(localOp, deferred) {
  if (!deferred || deferred.length === 0) return [localOp, deferred];
  const [deferredPrime, localPrime] = transform(deferred, localOp, true);
  return [localPrime, deferredPrime];
}
