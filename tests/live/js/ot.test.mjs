// node --test tests/live/js/ot.test.mjs
// Tests for static/js/ot.js: unit cases, seeded random property checks, OTClient scenarios.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  OTClient,
  OTError,
  apply,
  baseLength,
  compose,
  cpLength,
  cpToUtf16,
  fromReplace,
  invert,
  isNoop,
  normalize,
  targetLength,
  transform,
  transformIndex,
  utf16ToCp,
  validate,
} from '../../../static/js/ot.js';

// ---------------------------------------------------------------------------------------
// Seeded random generation (mulberry32) so failures are reproducible.

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'b', ' ', '\n', 'é', '\u0301', '\u200d', '中', '😀', '\u{1F44D}', '\u{1F3FD}', '𝔘'];

const int = (rng, lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = (rng, xs) => xs[Math.floor(rng() * xs.length)];

function randomText(rng, maxLen = 20) {
  const n = int(rng, 0, maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rng, CHARS);
  return s;
}

// A random valid op against text, deliberately not always normalised.
function randomOp(rng, text) {
  const n = cpLength(text);
  let pos = 0;
  const op = [];
  while (op.length < 10) {
    const kinds = ['insert', 'stop', ...(pos < n ? ['retain', 'delete', 'retain'] : [])];
    const kind = pick(rng, kinds);
    if (kind === 'stop') break;
    if (kind === 'insert') {
      op.push(randomText(rng, 4) || 'x');
    } else {
      const k = int(rng, 1, n - pos);
      op.push(kind === 'retain' ? k : -k);
      pos += k;
    }
  }
  if (pos < n && rng() < 0.5) op.push(n - pos);
  return op;
}

function isNormalized(op) {
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (c === 0 || c === '') return false;
    if (i === 0) continue;
    const prev = op[i - 1];
    const sameKind =
      (typeof prev === 'string' && typeof c === 'string') ||
      (typeof prev === 'number' && typeof c === 'number' && prev > 0 === c > 0);
    if (sameKind || (typeof prev === 'number' && prev < 0 && typeof c === 'string')) return false;
  }
  return !(op.length && typeof op[op.length - 1] === 'number' && op[op.length - 1] > 0);
}

// Run `body(rng, i)` on N seeded cases; the seed is in the failure message.
function forAll(n, seed, body) {
  for (let i = 0; i < n; i++) {
    const rng = mulberry32(seed * 100003 + i);
    try {
      body(rng, i);
    } catch (err) {
      err.message = `[seed ${seed} case ${i}] ${err.message}`;
      throw err;
    }
  }
}

const cps = (s) => Array.from(s);

// ---------------------------------------------------------------------------------------
// Unit tests

describe('code point helpers', () => {
  test('cpLength counts astral characters once', () => {
    assert.equal(cpLength(''), 0);
    assert.equal(cpLength('abc'), 3);
    assert.equal(cpLength('a😀b'), 3);
    assert.equal(cpLength('\u{1F44D}\u{1F3FD}'), 2);
    assert.equal(cpLength('e\u0301'), 2);
    assert.equal(cpLength('\uD83D'), 1); // lone surrogate: one code point, like Python
  });

  test('utf16ToCp and cpToUtf16 convert textarea offsets', () => {
    const s = 'a😀b𝔘c';
    assert.deepEqual(
      [0, 1, 3, 4, 6, 7].map((u) => utf16ToCp(s, u)),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => cpToUtf16(s, i)),
      [0, 1, 3, 4, 6, 7],
    );
    assert.equal(utf16ToCp(s, 2), 2); // inside a pair counts as after the character
    assert.equal(utf16ToCp(s, 99), 5);
    assert.equal(cpToUtf16(s, 99), s.length);
  });
});

describe('validate / normalize', () => {
  test('validate returns the normalised op', () => {
    assert.deepEqual(validate([2, 3, 'a', 'b', -1, -2]), [5, 'ab', -3]);
    assert.deepEqual(validate([3, 'x', 4]), [3, 'x']);
    assert.deepEqual(validate([]), []);
  });

  test('validate rejects malformed ops', () => {
    const bad = [
      [true], [1, false], [0], [2, 0, 'a'], [''], [1.5], [[1]], [{ r: 1 }], [null],
      { ops: [1] }, 'abc', null, 5, [Number.MAX_SAFE_INTEGER + 1], [NaN], [Infinity],
    ];
    for (const op of bad) assert.throws(() => validate(op), OTError, JSON.stringify(op));
  });

  test('validate errors say what is wrong', () => {
    assert.throws(() => validate([1, true]), /component 1 .* not boolean/);
    assert.throws(() => validate([0]), /component 0 is zero/);
    assert.throws(() => validate({}), /must be a list/);
  });

  test('validate enforces limits and rejects lone surrogates', () => {
    validate(Array(5).fill([1, 'a']).flat(), { maxComponents: 10 });
    assert.throws(() => validate(Array(6).fill([1, 'a']).flat(), { maxComponents: 10 }), /limit/);
    validate(['😀'.repeat(10)], { maxInsert: 10 });
    assert.throws(() => validate(['😀'.repeat(11)], { maxInsert: 10 }), /limit/);
    assert.throws(() => validate(['a\uD83D']), /surrogate/);
  });

  test('normalize merges neighbours and puts inserts before deletes', () => {
    assert.deepEqual(normalize([1, 1, -1, 'a', -1, 'b', 0, '']), [2, 'ab', -2]);
    assert.deepEqual(normalize([0, '', 2, 0]), []);
    assert.throws(() => normalize([1, true]), OTError);
  });

  test('isNoop', () => {
    assert.ok(isNoop([]));
    assert.ok(isNoop([5]));
    assert.ok(!isNoop(['a']));
    assert.ok(!isNoop([1, -1]));
  });
});

describe('apply and lengths', () => {
  test('lengths count code points', () => {
    assert.equal(baseLength([2, '😀👍', -3, 1]), 6);
    assert.equal(targetLength([2, '😀👍', -3, 1]), 5);
    assert.equal(baseLength(normalize([2, '😀👍', -3, 1])), 5);
  });

  test('apply retains, inserts and deletes', () => {
    assert.equal(apply('hello world', [6, -5, 'there']), 'hello there');
    assert.equal(apply('hello', ['> ']), '> hello');
  });

  test('apply counts emoji as one character', () => {
    assert.equal(apply('a😀b', [1, -1, 'x']), 'axb');
    assert.equal(apply('a😀b', [2, '!']), 'a😀!b');
    assert.equal(apply('\u{1F44D}\u{1F3FD} ok', [1, -1]), '\u{1F44D} ok');
    assert.equal(apply('cafe\u0301', [3, -2, 'é']), 'café');
  });

  test('apply rejects ops longer than the text', () => {
    assert.throws(() => apply('abc', [4]), /at least 4/);
    assert.throws(() => apply('abc', [2, -2]), OTError);
    assert.throws(() => apply('😀', [2]), OTError);
    assert.throws(() => apply('abc', [true]), OTError);
  });
});

describe('transform', () => {
  test('concurrent inserts at the same place keep both', () => {
    let [a2, b2] = transform(['A'], ['B'], true);
    assert.equal(apply(apply('x', ['A']), b2), 'ABx');
    assert.equal(apply(apply('x', ['B']), a2), 'ABx');
    [a2, b2] = transform(['A'], ['B'], false);
    assert.equal(apply(apply('x', ['A']), b2), 'BAx');
    assert.equal(apply(apply('x', ['B']), a2), 'BAx');
  });

  test('concurrent deletes of the same text delete it once', () => {
    assert.deepEqual(transform([1, -2], [1, -2]), [[], []]);
  });

  test('insert inside a concurrently deleted range survives', () => {
    const [a2, b2] = transform([2, 'X'], [1, -3]);
    assert.equal(apply(apply('abcde', [2, 'X']), b2), 'aXe');
    assert.equal(apply(apply('abcde', [1, -3]), a2), 'aXe');
  });

  test('emoji positions', () => {
    const [a2, b2] = transform([1, 'a'], [2, -1]);
    assert.equal(apply(apply('😀😀😀', [1, 'a']), b2), '😀a😀');
    assert.equal(apply(apply('😀😀😀', [2, -1]), a2), '😀a😀');
  });
});

describe('compose / invert / fromReplace / transformIndex', () => {
  test('compose', () => {
    assert.deepEqual(compose([1, 'abc'], [2, -1]), [1, 'ac']);
    assert.deepEqual(compose(['x'], [-1]), []);
    assert.deepEqual(compose([-2], ['xy']), ['xy', -2]);
    assert.equal(apply('ab', compose([1, '😀'], [1, -1, '👍'])), 'a👍b');
  });

  test('invert', () => {
    const text = 'hello 😀 world';
    const op = [6, -1, '🙂', 1, -5, 'there'];
    assert.equal(apply(text, op), 'hello 🙂 there');
    assert.equal(apply('hello 🙂 there', invert(op, text)), text);
  });

  test('fromReplace is minimal and never splits emoji', () => {
    assert.deepEqual(fromReplace('hello world', 'hello there world'), [6, 'there ']);
    assert.deepEqual(fromReplace('abc', 'abc'), []);
    assert.deepEqual(fromReplace('abc', ''), [-3]);
    assert.deepEqual(fromReplace('', 'abc'), ['abc']);
    // 😀 and 😁 share their high surrogate; a UTF-16 diff would split the pair.
    assert.deepEqual(fromReplace('a😀b', 'a😁b'), [1, '😁', -1]);
    assert.deepEqual(fromReplace('x\u{1F44D}\u{1F3FD}', 'x\u{1F44D}'), [2, -1]);
  });

  test('transformIndex', () => {
    assert.equal(transformIndex(3, [1, 'ab']), 5);
    assert.equal(transformIndex(1, [3, 'ab']), 1);
    assert.equal(transformIndex(2, [2, 'xy']), 2);
    assert.equal(transformIndex(2, [2, 'xy'], true), 4);
    assert.equal(transformIndex(3, [1, -4]), 1);
    assert.equal(transformIndex(6, [1, -4]), 2);
    assert.equal(transformIndex(1, ['😀']), 2);
    assert.throws(() => transformIndex(-1, []), OTError);
  });
});

// ---------------------------------------------------------------------------------------
// Seeded property checks (same properties as the Hypothesis tests in test_ot.py)

describe('properties', () => {
  test('transform converges (TP1) for both tie-breaks', () => {
    forAll(600, 1, (rng) => {
      const text = randomText(rng);
      const a = randomOp(rng, text);
      const b = randomOp(rng, text);
      const aFirst = rng() < 0.5;
      const [a2, b2] = transform(a, b, aFirst);
      assert.equal(apply(apply(text, a), b2), apply(apply(text, b), a2));
      assert.ok(isNormalized(a2) && isNormalized(b2));
      assert.deepEqual(transform(b, a, !aFirst), [b2, a2]);
    });
  });

  test('compose equals applying in sequence', () => {
    forAll(600, 2, (rng) => {
      const text = randomText(rng);
      const a = randomOp(rng, text);
      const b = randomOp(rng, apply(text, a));
      const ab = compose(a, b);
      assert.equal(apply(text, ab), apply(apply(text, a), b));
      assert.ok(isNormalized(ab));
    });
  });

  test('invert undoes', () => {
    forAll(600, 3, (rng) => {
      const text = randomText(rng);
      const op = randomOp(rng, text);
      assert.equal(apply(apply(text, op), invert(op, text)), text);
    });
  });

  test('fromReplace produces the new text', () => {
    forAll(600, 4, (rng) => {
      const oldText = randomText(rng);
      const newText = rng() < 0.5 ? randomText(rng) : apply(oldText, randomOp(rng, oldText));
      const op = fromReplace(oldText, newText);
      assert.equal(apply(oldText, op), newText);
      assert.ok(isNormalized(op));
      assert.equal(isNoop(op), oldText === newText);
    });
  });

  test('normalize is idempotent, keeps the meaning, and lengths add up', () => {
    forAll(600, 5, (rng) => {
      const text = randomText(rng);
      const op = randomOp(rng, text);
      const n = normalize(op);
      assert.deepEqual(normalize(n), n);
      assert.ok(isNormalized(n));
      assert.deepEqual(validate(op), n);
      assert.equal(apply(text, n), apply(text, op));
      assert.equal(
        cpLength(apply(text, op)),
        cpLength(text) - baseLength(op) + targetLength(op),
      );
    });
  });

  test('transformIndex is monotonic, in bounds, and follows kept characters', () => {
    forAll(400, 6, (rng) => {
      const text = randomText(rng);
      const op = randomOp(rng, text);
      const result = cps(apply(text, op));
      for (const own of [false, true]) {
        const moved = [];
        for (let i = 0; i <= cpLength(text); i++) moved.push(transformIndex(i, op, own));
        assert.ok(moved.every((m, i) => m >= 0 && m <= result.length && (i === 0 || m >= moved[i - 1])));
      }
      // Walk the op to find where every kept character went.
      const chars = cps(text);
      let oldPos = 0;
      let newPos = 0;
      for (const c of normalize(op)) {
        if (typeof c === 'string') newPos += cpLength(c);
        else if (c < 0) oldPos -= c;
        else {
          for (let k = 0; k < c; k++) {
            assert.equal(result[newPos + k], chars[oldPos + k]);
            assert.equal(transformIndex(oldPos + k + 1, op), newPos + k + 1);
            assert.equal(transformIndex(oldPos + k, op, true), newPos + k);
          }
          oldPos += c;
          newPos += c;
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------
// OTClient: clients + a simulated server

// Central server as in the ot.js pattern: transforms an incoming op against everything
// committed since the client's revision (committed ops win ties), then commits it.
class FakeServer {
  constructor(doc) {
    this.doc = doc;
    this.history = [];
  }

  receive(revision, op) {
    assert.ok(revision <= this.history.length, 'client is ahead of the server');
    for (const committed of this.history.slice(revision)) {
      [, op] = transform(committed, op, true);
    }
    this.doc = apply(this.doc, op);
    this.history.push(op);
    return op;
  }
}

// One simulated browser tab: local text + OTClient + FIFO channels to/from the server.
class Peer {
  constructor(name, doc) {
    this.name = name;
    this.text = doc;
    this.client = new OTClient(0);
    this.toServer = [];
    this.fromServer = [];
  }

  edit(op) {
    this.text = apply(this.text, op);
    const send = this.client.applyClient(op);
    if (send !== null) this.toServer.push({ revision: this.client.revision, op: send });
  }

  receive(msg) {
    if (msg.type === 'ack') {
      const next = this.client.serverAck();
      if (next !== null) this.toServer.push({ revision: this.client.revision, op: next });
    } else {
      this.text = apply(this.text, this.client.applyServer(msg.op));
    }
  }
}

function deliverToServer(server, peers, peer) {
  const { revision, op } = peer.toServer.shift();
  const committed = server.receive(revision, op);
  for (const p of peers) {
    p.fromServer.push(p === peer ? { type: 'ack' } : { type: 'op', op: committed });
  }
}

function drain(server, peers) {
  for (;;) {
    const sender = peers.find((p) => p.toServer.length);
    if (sender) {
      deliverToServer(server, peers, sender);
      continue;
    }
    const receiver = peers.find((p) => p.fromServer.length);
    if (!receiver) return;
    receiver.receive(receiver.fromServer.shift());
  }
}

describe('OTClient', () => {
  test('state machine: synchronized -> awaitingConfirm -> awaitingWithBuffer', () => {
    const c = new OTClient(5);
    assert.equal(c.state, 'synchronized');
    assert.deepEqual(c.applyClient([1, 'a']), [1, 'a']);
    assert.equal(c.state, 'awaitingConfirm');
    assert.deepEqual(c.outstanding, [1, 'a']);
    assert.equal(c.applyClient([2, 'b']), null);
    assert.equal(c.applyClient([3, 'c']), null);
    assert.equal(c.state, 'awaitingWithBuffer');
    assert.deepEqual(c.buffer, [2, 'bc']); // buffered edits are composed
    assert.deepEqual(c.serverAck(), [2, 'bc']);
    assert.equal(c.revision, 6);
    assert.equal(c.state, 'awaitingConfirm');
    assert.equal(c.serverAck(), null);
    assert.equal(c.state, 'synchronized');
    assert.equal(c.revision, 7);
    assert.throws(() => c.serverAck(), OTError);
  });

  test('noop local edits are not sent', () => {
    const c = new OTClient();
    assert.equal(c.applyClient([3]), null);
    assert.equal(c.state, 'synchronized');
  });

  test('send callback receives the same ops as the return values, with the revision', () => {
    const sent = [];
    const c = new OTClient(3, { send: (rev, op) => sent.push([rev, op]) });
    c.applyClient(['a']);
    c.applyClient([1, 'b']);
    c.applyServer([-1]);
    c.serverAck();
    c.resend();
    assert.deepEqual(sent, [
      [3, ['a']],
      [5, [1, 'b']],
      [5, [1, 'b']],
    ]);
  });

  test('server op wins ties against pending local inserts', () => {
    const c = new OTClient();
    let text = 'x';
    text = apply(text, c.applyClient(['L']) ?? []);
    const remote = c.applyServer(['S']);
    text = apply(text, remote);
    assert.equal(text, 'SLx');
    assert.deepEqual(c.outstanding, [1, 'L']);
  });

  test('two clients typing at the same spot converge', () => {
    const server = new FakeServer('hello');
    const alice = new Peer('alice', 'hello');
    const bob = new Peer('bob', 'hello');
    const peers = [alice, bob];
    alice.edit([5, ' alice']);
    bob.edit([5, ' bob']);
    alice.edit([11, '!']); // buffered behind the first edit
    deliverToServer(server, peers, bob); // bob's edit reaches the server first
    drain(server, peers);
    assert.equal(server.doc, 'hello bob alice!');
    for (const p of peers) {
      assert.equal(p.text, server.doc);
      assert.equal(p.client.state, 'synchronized');
      assert.equal(p.client.revision, server.history.length);
    }
  });

  test('random interleavings of three clients converge', () => {
    forAll(300, 7, (rng) => {
      const start = randomText(rng, 8);
      const server = new FakeServer(start);
      const peers = ['a', 'b', 'c'].map((n) => new Peer(n, start));
      const steps = int(rng, 1, 40);
      for (let s = 0; s < steps; s++) {
        const peer = pick(rng, peers);
        const r = rng();
        if (r < 0.4) {
          peer.edit(randomOp(rng, peer.text));
        } else if (r < 0.7 && peer.toServer.length) {
          deliverToServer(server, peers, peer);
        } else if (peer.fromServer.length) {
          peer.receive(peer.fromServer.shift());
        }
      }
      drain(server, peers);
      for (const p of peers) {
        assert.equal(p.text, server.doc, p.name);
        assert.equal(p.client.state, 'synchronized');
        assert.equal(p.client.revision, server.history.length);
      }
    });
  });
});
