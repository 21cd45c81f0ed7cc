// node --test tests/meetings/js/store.test.mjs
// The meeting room's client state (static/js/meeting/store.js, textfield.js, undo.js)
// against a fake server: convergence under concurrency, lost messages, reconnects and
// reloads; refusals put right; undo of one's own edits only.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { cpLength } from '../../../static/js/ot.js';
import { LiveStore } from '../../../static/js/meeting/store.js';
import { diffAtCursor } from '../../../static/js/meeting/textfield.js';
import { UndoManager } from '../../../static/js/meeting/undo.js';
import { FakeServer, FakeSocket, FakeTimers, samplePlan } from './fakeserver.mjs';

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

class MemoryStorage {
  constructor() {
    this.data = new Map();
  }

  getItem(k) {
    return this.data.has(k) ? this.data.get(k) : null;
  }

  setItem(k, v) {
    this.data.set(k, String(v));
  }

  removeItem(k) {
    this.data.delete(k);
  }
}

function client(server, user, { storage = null } = {}) {
  const socket = new FakeSocket(server, user);
  const timers = new FakeTimers();
  const store = new LiveStore({ planId: 1, userId: user, send: (m) => socket.send(m), storage, timers });
  socket.store = store;
  return { socket, store, timers };
}

/** Deliver everything in every direction until nothing moves. */
function settle(clients) {
  for (let round = 0; round < 10000; round++) {
    let moved = false;
    for (const c of clients) {
      c.timers.runAll();
      c.store.flush();
      while (c.socket.stepToServer()) moved = true;
      while (c.socket.stepToClient()) moved = true;
    }
    if (!moved) return;
  }
  throw new Error('did not settle');
}

const KEY = 'goal:20:text';
const CHARS = ['a', 'b', ' ', 'æ', 'ø', '😀', '\n', 'é'];

function randomEdit(rnd, text) {
  const n = cpLength(text);
  const pos = Math.floor(rnd() * (n + 1));
  const chars = Array.from(text);
  if (n > 0 && rnd() < 0.3) {
    const len = 1 + Math.floor(rnd() * Math.min(3, n - Math.min(pos, n - 1)));
    const at = Math.min(pos, n - 1);
    const next = [...chars.slice(0, at), ...chars.slice(at + len)].join('');
    return diffAtCursor(text, next, at);
  }
  const s = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => CHARS[Math.floor(rnd() * CHARS.length)]).join('');
  const next = [...chars.slice(0, pos), s, ...chars.slice(pos)].join('');
  return diffAtCursor(text, next, pos + cpLength(s));
}

describe('diffAtCursor', () => {
  test('puts the change at the cursor when the text is ambiguous', () => {
    assert.deepEqual(diffAtCursor('aa', 'aaa', 1), ['a']);
    assert.deepEqual(diffAtCursor('aa', 'aaa', 3), [2, 'a']);
    assert.deepEqual(diffAtCursor('aab', 'ab', 1), [1, -1]);
  });

  test('counts code points', () => {
    assert.deepEqual(diffAtCursor('😀x', '😀yx', 2), [1, 'y']);
  });
});

describe('LiveStore', () => {
  test('two people typing in the same field at once keep every character and converge', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = mulberry32(seed);
      const server = new FakeServer();
      const a = client(server, 1);
      const b = client(server, 2);
      a.socket.connect();
      b.socket.connect();
      settle([a, b]);
      const typed = { 1: [], 2: [] };
      for (let step = 0; step < 150; step++) {
        const c = rnd() < 0.5 ? a : b;
        const r = rnd();
        if (r < 0.4) {
          // Only inserts here, so every typed character must survive.
          const text = c.store.textOf(KEY);
          const pos = Math.floor(rnd() * (cpLength(text) + 1));
          const ch = CHARS[Math.floor(rnd() * 6)];
          typed[c.socket.user].push(ch);
          c.store.editText(KEY, [pos, ch]);
        } else if (r < 0.55) c.timers.runAll();
        else if (r < 0.8) c.socket.stepToServer();
        else c.socket.stepToClient();
      }
      settle([a, b]);
      const final = server.state.goals[0].text;
      assert.equal(a.store.textOf(KEY), final, `seed ${seed}`);
      assert.equal(b.store.textOf(KEY), final, `seed ${seed}`);
      assert.equal(a.store.pendingCount, 0);
      const count = (s, ch) => Array.from(s).filter((x) => x === ch).length;
      for (const ch of CHARS.slice(0, 6)) {
        const expected = count('Egen leilighet', ch) + typed[1].filter((x) => x === ch).length + typed[2].filter((x) => x === ch).length;
        assert.equal(count(final, ch), expected, `seed ${seed}: ${ch}`);
      }
    }
  });

  test('random edits, lost messages and reconnects converge with every op applied once', () => {
    for (let seed = Number(process.env.SEED || 100); seed < Number(process.env.SEED_END || 160); seed++) {
      if (process.env.DEBUG_SEED) console.log("seed", seed);
      const rnd = mulberry32(seed);
      const server = new FakeServer();
      const clients = [client(server, 1), client(server, 2), client(server, 3)];
      for (const c of clients) c.socket.connect();
      settle(clients);
      const keys = [KEY, 'goal:20:success_criterion', 'plan:1:what_matters'];
      for (let step = 0; step < 300; step++) {
        const c = clients[Math.floor(rnd() * clients.length)];
        const r = rnd();
        if (!c.socket.open) {
          // Reconnect with since=<rev> mostly; sometimes as a fresh page would (snapshot).
          if (r < 0.2) c.socket.connect({ fresh: rnd() < 0.3 });
          continue;
        }
        if (r < 0.35) {
          const key = keys[Math.floor(rnd() * keys.length)];
          if (c.store.ready) c.store.editText(key, randomEdit(rnd, c.store.textOf(key)));
        } else if (r < 0.45) c.timers.runAll();
        else if (r < 0.65) c.socket.stepToServer();
        else if (r < 0.9) c.socket.stepToClient({ lose: rnd() < 0.1 });
        else if (r < 0.93) c.store._checkAcks();
        else if (r < 0.96) c.socket.drop({ deliverPendingToServer: rnd() < 0.5 });
        else if (c.store.ready) c.store.setValue('goal', 20, 'status', rnd() < 0.5 ? 'achieved' : 'revised');
      }
      for (const c of clients) if (!c.socket.open) c.socket.connect();
      settle(clients);
      // A lost last message leaves a client unaware; the watchdog / next message fixes it.
      for (const c of clients) c.store._checkAcks();
      settle(clients);
      for (const c of clients) {
        c.store._requestSync(c.store.rev, 'gap');
      }
      settle(clients);
      for (const c of clients) {
        assert.equal(c.store.pendingCount, 0, `seed ${seed}`);
        for (const key of keys) {
          const [target, id, field] = key.split(':');
          const obj = target === 'plan' ? server.state : server.state.goals.find((g) => g.id === Number(id));
          assert.equal(c.store.textOf(key), obj[field], `seed ${seed} ${key}`);
        }
        assert.deepEqual(c.store.state, server.state, `seed ${seed}`);
        assert.equal(c.store.rev, server.rev);
      }
      const ids = server.log.map((e) => e.op_id);
      assert.equal(new Set(ids).size, ids.length);
    }
  });

  test('keystrokes are composed into one op until sent', () => {
    const server = new FakeServer();
    const a = client(server, 1);
    a.socket.connect();
    settle([a]);
    a.store.editText(KEY, [14, '!']);
    a.store.editText(KEY, [15, '!']);
    a.timers.runAll();
    assert.equal(a.socket.toServer.length, 1);
    assert.deepEqual(a.socket.toServer[0].op.ops, [14, '!!']);
    assert.equal(a.socket.toServer[0].base_rev, 1);
  });

  test('the op sent spans the whole field (explicit trailing retain)', () => {
    const server = new FakeServer();
    const a = client(server, 1);
    a.socket.connect();
    settle([a]);
    a.store.editText(KEY, ['X']);
    a.timers.runAll();
    assert.deepEqual(a.socket.toServer[0].op.ops, ['X', 14]);
  });

  test('edits made offline are sent after reconnecting, once', () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    a.store.editText(KEY, [14, ' i sentrum']);
    a.timers.runAll();
    a.socket.drop({ deliverPendingToServer: true }); // committed, but the ack is lost
    b.store.editText(KEY, ['Ny ']);
    settle([b]);
    a.store.editText(KEY, [0, 'Min ']);
    assert.ok(a.store.pendingCount > 0);
    a.socket.connect();
    settle([a, b]);
    // Both inserted at 0 concurrently: the op committed first goes first.
    assert.equal(server.state.goals[0].text, 'Ny Min Egen leilighet i sentrum');
    assert.equal(a.store.textOf(KEY), server.state.goals[0].text);
    assert.equal(b.store.textOf(KEY), server.state.goals[0].text);
    assert.equal(server.log.length, 3);
  });

  test('after a snapshot, pending edits on an unchanged field are kept even without the log', () => {
    const server = new FakeServer(samplePlan(), { syncLimit: 0 });
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    a.socket.drop();
    a.store.editText(KEY, [14, '!']);
    b.store.editText('plan:1:what_matters', ['Min ']);
    settle([b]);
    a.socket.connect();
    settle([a, b]);
    assert.equal(server.state.goals[0].text, 'Egen leilighet!');
    assert.equal(a.store.textOf('plan:1:what_matters'), 'Min Egen bolig');
  });

  test('when edits cannot be merged after a long absence, the text is handed back', () => {
    const server = new FakeServer(samplePlan(), { syncLimit: 0 });
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    const lost = [];
    a.store.on('lost', (e) => lost.push(e));
    a.socket.drop();
    a.store.editText(KEY, [14, ' i byen']);
    b.store.editText(KEY, ['Ny ']);
    settle([b]);
    a.socket.connect();
    settle([a, b]);
    assert.equal(a.store.textOf(KEY), 'Ny Egen leilighet');
    assert.equal(lost.length, 1);
    assert.equal(lost[0].text, 'Egen leilighet i byen');
  });

  test('a reload sends what was not acknowledged, from sessionStorage', () => {
    const server = new FakeServer();
    const storage = new MemoryStorage();
    const a = client(server, 1, { storage });
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    a.store.editText(KEY, [14, ' nå']);
    a.store.persist();
    a.socket.drop();
    b.store.editText(KEY, ['Helt ']);
    settle([b]);
    // The page reloads: a new store, same storage.
    const again = client(server, 1, { storage });
    again.socket.connect();
    settle([again, b]);
    assert.equal(server.state.goals[0].text, 'Helt Egen leilighet nå');
    assert.equal(again.store.textOf(KEY), server.state.goals[0].text);
    assert.equal(b.store.textOf(KEY), server.state.goals[0].text);
    again.store.persist();
    assert.equal(storage.getItem(again.store.storageKey), null);
  });

  test('a refused scalar is put back and explained', () => {
    const server = new FakeServer();
    server.refuse = (op) => (op.field === 'evaluation_date' ? 'Datoen ligger utenfor planperioden.' : null);
    const a = client(server, 1);
    a.socket.connect();
    settle([a]);
    const errors = [];
    a.store.on('error', (e) => errors.push(e));
    a.store.setValue('goal', 20, 'evaluation_date', '1999-01-01').catch(() => {});
    assert.equal(a.store.valueOf('goal', 20, 'evaluation_date'), '1999-01-01');
    settle([a]);
    assert.equal(a.store.valueOf('goal', 20, 'evaluation_date'), '2030-01-01');
    assert.equal(errors[0].key, 'goal:20:evaluation_date');
    assert.equal(errors[0].message, 'Datoen ligger utenfor planperioden.');
  });

  test('a create resolves with the new id and the object appears for everyone', async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    const created = a.store.structure({
      type: 'create',
      target: 'measure',
      values: { theme: 10, description: 'Søke bolig', status: 'planned' },
    });
    settle([a, b]);
    const result = await created;
    assert.equal(typeof result.id, 'number');
    assert.equal(b.store.state.measures[0].description, 'Søke bolig');
    assert.equal(b.store.textOf(`measure:${result.id}:description`), 'Søke bolig');
  });

  test('text typed into an object someone deletes is handed back, not dropped', () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    const lost = [];
    a.store.on('lost', (e) => lost.push(e));
    b.store.structure({ type: 'delete', target: 'goal', id: 20 });
    settle([b]);
    a.store.editText(KEY, [14, ' med balkong']);
    settle([a, b]);
    assert.equal(lost.length, 1);
    assert.equal(lost[0].text, 'Egen leilighet med balkong');
  });

  test('a gap in revisions is noticed and filled from the server', () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    b.store.editText(KEY, ['1']);
    settle([b]);
    a.socket.toClient.shift(); // lost on the channel layer
    b.store.editText(KEY, ['2']);
    settle([a, b]);
    assert.equal(a.store.textOf(KEY), '21Egen leilighet');
  });
});

describe('UndoManager', () => {
  test('undo removes only my own text, even after someone else typed around it', async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    a.socket.connect();
    b.socket.connect();
    settle([a, b]);
    const undo = new UndoManager(a.store);
    a.store.editText(KEY, [14, ' nær']);
    a.store.editText(KEY, [18, ' byen']);
    settle([a, b]);
    b.store.editText(KEY, ['Ny, ']);
    b.store.editText(KEY, [27, '!']);
    settle([a, b]);
    assert.equal(a.store.textOf(KEY), 'Ny, Egen leilighet nær byen!');
    await undo.undo();
    settle([a, b]);
    assert.equal(server.state.goals[0].text, 'Ny, Egen leilighet!');
    assert.equal(b.store.textOf(KEY), 'Ny, Egen leilighet!');
    await undo.redo();
    settle([a, b]);
    assert.equal(server.state.goals[0].text, 'Ny, Egen leilighet nær byen!');
  });

  test('undo of a status change sets the previous value again', async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    a.socket.connect();
    settle([a]);
    const undo = new UndoManager(a.store);
    a.store.setValue('goal', 20, 'status', 'achieved');
    settle([a]);
    await undo.undo();
    settle([a]);
    assert.equal(server.state.goals[0].status, 'in_progress');
    await undo.redo();
    settle([a]);
    assert.equal(server.state.goals[0].status, 'achieved');
  });

  test('undo of an added measure removes it, redo brings it back', async () => {
    const server = new FakeServer(samplePlan());
    const a = client(server, 1);
    a.socket.connect();
    settle([a]);
    const undo = new UndoManager(a.store);
    const pending = a.store.structure({ type: 'create', target: 'measure', values: { theme: 10, description: 'x' } });
    settle([a]);
    const { id } = await pending;
    undo.recordStructure({
      undo: [{ type: 'delete', target: 'measure', id }],
      redo: [{ type: 'delete', target: 'measure', id }], // restore is not in the fake server
      label: 'x',
    });
    const step = undo.undo();
    settle([a]);
    await step;
    assert.equal(server.state.measures.length, 0);
  });
});
