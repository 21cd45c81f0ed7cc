// Operational transformation for plain-text fields (the ot.js / ShareDB "text" type).
//
// Browser twin of ipplan/live/ot.py: same format, same algorithms, same results
// (tests/live/test_ot_js.py cross-checks the two on random cases).  Keep them in sync.
//
// An operation is an array of components walking over the field value from the start:
//   positive int n  -> retain n characters
//   non-empty string -> insert it
//   negative int -n -> delete n characters
// Lengths and positions count Unicode CODE POINTS, not UTF-16 units, so that an op made
// here applies identically in Python (emoji and other astral characters are 1, not 2).
// Use utf16ToCp / cpToUtf16 to convert textarea selectionStart/End.
//
// Whatever an op does not reach is implicitly retained: normalize() drops a trailing
// retain, so baseLength(op) is the minimum text length the op applies to (an explicit
// trailing retain still counts, so a full-length op is checked against the whole text).
//
// Normalised form: no zero/empty components, adjacent same-kind components merged, an
// insert always before an adjacent delete, no trailing retain.

export class OTError extends Error {
  constructor(message) {
    super(message);
    this.name = 'OTError';
  }
}

// Lone surrogates can't be stored as UTF-8 and the Python side rejects them too.  With the
// u flag a well-formed pair is one code point, so this only matches unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

// ---------------------------------------------------------------------------------------
// Code point helpers

/** Number of code points in str. */
export function cpLength(str) {
  let n = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
      const d = str.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

// UTF-16 offset reached by moving n code points forward from UTF-16 offset `from`
// (clamped to the end of str).
function advance(str, from, n) {
  let i = from;
  while (n > 0 && i < str.length) {
    const c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
      const d = str.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    i++;
    n--;
  }
  return i;
}

/** Convert a UTF-16 offset (e.g. textarea.selectionStart) to a code point index. */
export function utf16ToCp(str, utf16Index) {
  const end = Math.max(0, Math.min(utf16Index, str.length));
  // An offset between the halves of a pair counts as after the character.
  return cpLength(str.slice(0, end));
}

/** Convert a code point index to a UTF-16 offset (e.g. for setSelectionRange). */
export function cpToUtf16(str, cpIndex) {
  return advance(str, 0, Math.max(0, cpIndex));
}

// ---------------------------------------------------------------------------------------
// Normalisation and validation

const isInt = (c) => typeof c === 'number' && Number.isInteger(c);

function typeName(c) {
  if (c === null) return 'null';
  if (Array.isArray(c)) return 'array';
  if (typeof c === 'number') return 'non-integer number';
  return typeof c;
}

// Append c to op in place, keeping op normalised (except for a trailing retain).
function append(op, c) {
  if (c === 0 || c === '') return;
  if (op.length === 0) {
    op.push(c);
    return;
  }
  const last = op[op.length - 1];
  if (typeof c === 'string') {
    if (typeof last === 'string') {
      op[op.length - 1] = last + c;
    } else if (last < 0) {
      // Insert goes before an adjacent delete; merge with an insert already there.
      if (op.length >= 2 && typeof op[op.length - 2] === 'string') {
        op[op.length - 2] += c;
      } else {
        op.splice(op.length - 1, 0, c);
      }
    } else {
      op.push(c);
    }
  } else if (c > 0) {
    if (typeof last === 'number' && last > 0) op[op.length - 1] = last + c;
    else op.push(c);
  } else {
    if (typeof last === 'number' && last < 0) op[op.length - 1] = last + c;
    else op.push(c);
  }
}

function trim(op) {
  if (op.length && typeof op[op.length - 1] === 'number' && op[op.length - 1] > 0) op.pop();
  return op;
}

function checkTypes(op) {
  if (!Array.isArray(op)) {
    throw new OTError(`an operation must be a list, not ${typeName(op)}`);
  }
  op.forEach((c, i) => {
    if (!(isInt(c) || typeof c === 'string')) {
      throw new OTError(
        `component ${i} must be an int (retain/delete) or a string (insert), not ${typeName(c)}`,
      );
    }
  });
  return op;
}

/** Normalised copy of op (zero/empty components are dropped silently). */
export function normalize(op) {
  const result = [];
  for (const c of checkTypes(op)) append(result, c);
  return trim(result);
}

/** Strictly check an untrusted op and return it normalised; throws OTError. */
export function validate(op, { maxComponents = 10000, maxInsert = 100000 } = {}) {
  checkTypes(op);
  if (op.length > maxComponents) {
    throw new OTError(`operation has ${op.length} components; the limit is ${maxComponents}`);
  }
  let inserted = 0;
  op.forEach((c, i) => {
    if (typeof c === 'string') {
      if (c === '') throw new OTError(`component ${i} is an empty insert`);
      if (LONE_SURROGATE.test(c)) {
        throw new OTError(`component ${i} contains an unpaired UTF-16 surrogate`);
      }
      inserted += cpLength(c);
    } else {
      if (c === 0) throw new OTError(`component ${i} is zero (retain/delete must be non-zero)`);
      if (!Number.isSafeInteger(c)) throw new OTError(`component ${i} is too large`);
    }
  });
  if (inserted > maxInsert) {
    throw new OTError(`operation inserts ${inserted} characters; the limit is ${maxInsert}`);
  }
  return normalize(op);
}

/** Characters the op walks over (retains + deletes): the minimum text length. */
export function baseLength(op) {
  // Counted on the op as given, so an explicit trailing retain still demands that length.
  let n = 0;
  for (const c of checkTypes(op)) if (typeof c === 'number') n += Math.abs(c);
  return n;
}

/** Length of what the op produces from baseLength(op) characters. */
export function targetLength(op) {
  let n = 0;
  for (const c of checkTypes(op)) {
    if (typeof c === 'string') n += cpLength(c);
    else if (c > 0) n += c;
  }
  return n;
}

/** True if the op changes nothing. */
export function isNoop(op) {
  return normalize(op).length === 0;
}

// ---------------------------------------------------------------------------------------
// apply / transform / compose / invert

function checkFits(op, text) {
  const needed = baseLength(op);
  const have = cpLength(text);
  if (needed > have) {
    throw new OTError(
      `operation needs a text of at least ${needed} characters, got ${have}`,
    );
  }
}

/** Apply op to text. */
export function apply(text, op) {
  checkFits(op, text); // before normalize() drops a trailing retain
  op = normalize(op);
  const parts = [];
  let pos = 0; // UTF-16 offset into text
  for (const c of op) {
    if (typeof c === 'string') {
      parts.push(c);
    } else if (c > 0) {
      const end = advance(text, pos, c);
      parts.push(text.slice(pos, end));
      pos = end;
    } else {
      pos = advance(text, pos, -c);
    }
  }
  parts.push(text.slice(pos));
  return parts.join('');
}

// Reads an op component by component, able to split retains/deletes/inserts (by code
// point).  Past the end it yields retains (the implicit trailing retain), or null for n=-1.
// n === -1 takes the rest of the current component; indivisible 'i' never splits inserts,
// 'd' never splits deletes.
class Taker {
  constructor(op) {
    this.op = op;
    this.idx = 0;
    this.offset = 0; // code points for numbers, UTF-16 units for strings
  }

  peek() {
    return this.idx < this.op.length ? this.op[this.idx] : null;
  }

  take(n = -1, indivisible = null) {
    if (this.idx === this.op.length) return n === -1 ? null : n;
    const c = this.op[this.idx];
    if (typeof c === 'string') {
      let part;
      if (n === -1 || indivisible === 'i') {
        part = c.slice(this.offset);
        this.idx++;
        this.offset = 0;
      } else {
        const end = advance(c, this.offset, n);
        part = c.slice(this.offset, end);
        if (end >= c.length) {
          this.idx++;
          this.offset = 0;
        } else {
          this.offset = end;
        }
      }
      return part;
    }
    const sign = c > 0 ? 1 : -1;
    const rest = Math.abs(c) - this.offset;
    if (n === -1 || rest <= n || (indivisible === 'd' && c < 0)) {
      this.idx++;
      this.offset = 0;
      return sign * rest;
    }
    this.offset += n;
    return sign * n;
  }
}

// Rewrite op to apply after other; `left` means op's inserts win ties.
function transformOne(op, other, left) {
  const result = [];
  const taker = new Taker(op);
  for (const c of other) {
    if (typeof c === 'string') {
      // Both insert here: the winner of the tie keeps its insert in front.
      if (left && typeof taker.peek() === 'string') append(result, taker.take());
      append(result, cpLength(c));
    } else if (c > 0) {
      let length = c;
      while (length > 0) {
        const chunk = taker.take(length, 'i');
        append(result, chunk);
        if (typeof chunk !== 'string') length -= Math.abs(chunk);
      }
    } else {
      let length = -c;
      while (length > 0) {
        const chunk = taker.take(length, 'i');
        if (typeof chunk === 'string') append(result, chunk);
        // Retained by op and deleted by other, or deleted by both: op' just skips it.
        else length -= Math.abs(chunk);
      }
    }
  }
  let chunk;
  while ((chunk = taker.take()) !== null) append(result, chunk);
  return trim(result);
}

/**
 * Transform concurrent ops a and b (same base text) into [a', b'] such that
 * apply(apply(s, a), b') === apply(apply(s, b), a').  On a tie (both insert at the same
 * place) a's text goes first if aFirst, else b's.
 */
export function transform(a, b, aFirst = true) {
  a = normalize(a);
  b = normalize(b);
  return [transformOne(a, b, aFirst), transformOne(b, a, !aFirst)];
}

/** One op equivalent to applying a and then b. */
export function compose(a, b) {
  a = normalize(a);
  b = normalize(b);
  const result = [];
  const taker = new Taker(a);
  for (const c of b) {
    if (typeof c === 'string') {
      append(result, c);
    } else if (c > 0) {
      let length = c;
      while (length > 0) {
        const chunk = taker.take(length, 'd');
        append(result, chunk);
        // a's deletes are not visible to b, so they don't use up b's retain.
        if (typeof chunk === 'string') length -= cpLength(chunk);
        else if (chunk > 0) length -= chunk;
      }
    } else {
      let length = -c;
      while (length > 0) {
        const chunk = taker.take(length, 'd');
        if (typeof chunk === 'string') {
          length -= cpLength(chunk); // b deletes what a inserted: they cancel out
        } else if (chunk > 0) {
          append(result, -chunk);
          length -= chunk;
        } else {
          append(result, chunk);
        }
      }
    }
  }
  let chunk;
  while ((chunk = taker.take()) !== null) append(result, chunk);
  return trim(result);
}

/** The op that undoes op once it has been applied to text. */
export function invert(op, text) {
  checkFits(op, text); // before normalize() drops a trailing retain
  op = normalize(op);
  const result = [];
  let pos = 0; // UTF-16 offset into text
  for (const c of op) {
    if (typeof c === 'string') {
      append(result, -cpLength(c));
    } else if (c > 0) {
      append(result, c);
      pos = advance(text, pos, c);
    } else {
      const end = advance(text, pos, -c);
      append(result, text.slice(pos, end));
      pos = end;
    }
  }
  return trim(result);
}

/** Minimal op turning oldText into newText (one changed span between common ends). */
export function fromReplace(oldText, newText) {
  // Compare code points so a common prefix/suffix never splits a surrogate pair.
  const a = Array.from(oldText);
  const b = Array.from(newText);
  const limit = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < limit && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < limit - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) {
    suffix++;
  }
  const result = [];
  append(result, prefix);
  append(result, b.slice(prefix, b.length - suffix).join(''));
  append(result, -(a.length - prefix - suffix));
  return trim(result);
}

/**
 * Move a cursor position (code points) through op.  An insert exactly at the cursor
 * pushes it along only if `own` (the user typed it); someone else's insert there leaves
 * the cursor in front of the new text.  A cursor inside a deleted span lands where the
 * span was.
 */
export function transformIndex(index, op, own = false) {
  if (!isInt(index) || index < 0) {
    throw new OTError(`cursor index must be a non-negative int, got ${index}`);
  }
  let newIndex = index;
  let pos = 0; // position in the old text
  for (const c of normalize(op)) {
    if (pos > index) break;
    if (typeof c === 'string') {
      if (pos < index || own) newIndex += cpLength(c);
    } else if (c > 0) {
      pos += c;
    } else {
      newIndex -= Math.min(-c, index - pos);
      pos -= c;
    }
  }
  return newIndex;
}

// ---------------------------------------------------------------------------------------
// Client state machine (the ot.js Client pattern), one per field.
//
//   Synchronized            -- nothing in flight
//   AwaitingConfirm         -- `outstanding` sent, waiting for the server's ack
//   AwaitingWithBuffer      -- `outstanding` in flight, local edits since then in `buffer`
//
// Wiring: every method RETURNS what the caller has to act on (an op to send, or an op to
// apply to the local text).  Optionally pass `send(revision, op)` to the constructor; it is
// called with exactly the ops that applyClient/serverAck/resend return, so you can either
// use the callback or the return values (don't do both, or you'll send twice).
//
// `revision` is the number of server ops this client has seen; send it along with an op:
// the server transforms the op against everything committed after that revision (server
// ops first on ties, i.e. transform(serverOp, clientOp, aFirst=true)), commits it, acks the
// author and broadcasts the transformed op to the others.

export const SYNCHRONIZED = 'synchronized';
export const AWAITING_CONFIRM = 'awaitingConfirm';
export const AWAITING_WITH_BUFFER = 'awaitingWithBuffer';

export class OTClient {
  constructor(revision = 0, { send = null } = {}) {
    this.revision = revision;
    this.outstanding = null;
    this.buffer = null;
    this.send = send;
  }

  get state() {
    if (this.outstanding === null) return SYNCHRONIZED;
    return this.buffer === null ? AWAITING_CONFIRM : AWAITING_WITH_BUFFER;
  }

  _send(op) {
    if (this.send) this.send(this.revision, op);
    return op;
  }

  /** A local edit (already applied to the local text).  Returns the op to send now, or null. */
  applyClient(op) {
    op = normalize(op);
    if (op.length === 0) return null;
    if (this.outstanding === null) {
      this.outstanding = op;
      return this._send(op);
    }
    this.buffer = this.buffer === null ? op : compose(this.buffer, op);
    return null;
  }

  /** The server acknowledged our outstanding op.  Returns the next op to send, or null. */
  serverAck() {
    if (this.outstanding === null) throw new OTError('serverAck() with no outstanding operation');
    this.revision++;
    this.outstanding = this.buffer;
    this.buffer = null;
    return this.outstanding === null ? null : this._send(this.outstanding);
  }

  /** An op from another client, via the server.  Returns the op to apply to the local text. */
  applyServer(op) {
    op = normalize(op);
    this.revision++;
    if (this.outstanding !== null) {
      // The server op was committed first, so it wins ties against our pending ops.
      [op, this.outstanding] = transform(op, this.outstanding, true);
      if (this.buffer !== null) [op, this.buffer] = transform(op, this.buffer, true);
    }
    return op;
  }

  /**
   * After a reconnect: the in-flight op to send again (same revision), or null.  The
   * server must recognise a duplicate if the first copy was committed but the ack lost.
   */
  resend() {
    return this.outstanding === null ? null : this._send(this.outstanding);
  }
}
