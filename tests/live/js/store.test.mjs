// node --test tests/live/js/store.test.mjs
// The meeting room's client (static/js/meeting/store.js, connection.js) against the
// rules of docs/protocol.md sections 2 and 3, driven message by message: the server's
// side of each scenario is written out by hand, as the real consumer sends it, so each
// test pins one rule (tests/meetings/js/ has the randomised runs against a fake server).
//
//   a. an ack, or an op carrying one of our pending op_ids, settles that op even at a
//      rev <= ours, also while a sync is in flight; never pending forever, never twice;
//   b. a snapshot that replaces the state while ops are in flight: they go out again
//      unchanged (op_id, base_rev, op); a refused op is dropped, not resent;
//   c. a reconnect: the `ops` reply first (our op_ids in it are acks), then the rest is
//      resent with the original op_id and base_rev;
//   d. the reconnect backoff starts over on the first frame, not on open.

import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { apply } from '../../../static/js/ot.js';
import { Connection, backoffDelay } from '../../../static/js/meeting/connection.js';
import { LiveStore } from '../../../static/js/meeting/store.js';
import { FakeWebSocket, win } from '../../meetings/js/fake_websocket.mjs';

const KEY = 'goal:20:text';
const OTHER = 'plan:1:what_matters';
const YOU = { id: 1, name: 'Kari', level: 'edit', can_edit: true, can_comment: true, can_manage: false, member: 1 };
const SOMEONE = { id: 2, name: 'Siv' };

function plan({ text = 'Egen leilighet', whatMatters = 'Egen bolig', status = 'in_progress', measures = [] } = {}) {
  return {
    id: 1,
    person: { name: 'Per Person' },
    status: 'active',
    coordinator: 1,
    period_start: null,
    period_end: null,
    next_evaluation: null,
    what_matters: whatMatters,
    resources: '',
    needs: '',
    cooperation: '',
    themes: [{ id: 10, title: 'Bolig', current_situation: '', position: 0 }],
    goals: [
      {
        id: 20,
        theme: 10,
        level: 'main',
        text,
        success_criterion: '',
        evaluation_date: null,
        status,
        expressed_by: '',
        position: 0,
      },
    ],
    measures,
    members: [{ id: 1, user: 1, name: 'Kari', role: 'coordinator', access: 'edit' }],
  };
}

function snapshot(rev, p = plan()) {
  return { type: 'snapshot', rev, plan: p, you: YOU, meeting: null, presence: [] };
}

/** A committed change as the server sends it: type 'ack' to its sender, 'op' to others. */
function change(type, rev, opId, op, result = {}) {
  return { type, rev, op_id: opId, op, user: type === 'ack' ? { id: 1, name: 'Kari' } : SOMEONE, at: '2030-01-01T00:00:00Z', meeting: null, result };
}

/** Timers under the test's control (the store's flush and persist timers). */
class ManualTimers {
  constructor() {
    this.due = [];
  }

  setTimeout(fn) {
    this.due.push(fn);
    return this.due.length;
  }

  setInterval() {
    return null;
  }

  run() {
    for (let n = 0; this.due.length && n < 100; n++) this.due.shift()();
  }
}

/** A store whose messages to the server land in `sent`. */
function makeStore({ connected = true } = {}) {
  const sent = [];
  const timers = new ManualTimers();
  let open = connected;
  const store = new LiveStore({
    planId: 1,
    userId: 1,
    send: (m) => {
      if (!open) return false;
      sent.push(structuredClone(m));
      return true;
    },
    timers,
  });
  if (connected) store.connected();
  return {
    store,
    sent,
    timers,
    setOpen(v) {
      open = v;
    },
    take(type = null) {
      const out = type ? sent.filter((m) => m.type === type) : [...sent];
      sent.length = 0;
      return out;
    },
  };
}

/** Type into a text field and let the flush timer send it; returns the op message. */
function typeAndSend(c, key, op) {
  c.store.editText(key, op);
  c.timers.run();
  const msgs = c.take('op');
  assert.equal(msgs.length, 1, `one op for ${key}`);
  return msgs[0];
}

function settledFlag(promise) {
  const flag = { done: false, value: undefined, error: undefined };
  promise.then(
    (v) => {
      flag.done = true;
      flag.value = v;
    },
    (e) => {
      flag.done = true;
      flag.error = e;
    },
  );
  return flag;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------- a

describe('an ack or own op at rev <= ours settles the op', () => {
  test('while a catch-up sync is in flight, at once, and it is not applied twice', async () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const t = typeAndSend(c, KEY, [14, '!']);
    const created = settledFlag(
      c.store.structure({ type: 'create', target: 'measure', values: { theme: 10, description: 'Søke bolig' } }),
    );
    const [create] = c.take('op');
    assert.equal(create.op.type, 'create');

    // A resync snapshot: it already holds the create (committed at 6) and someone's
    // change at 7; the text op is not committed yet.
    const measure = { id: 30, theme: 10, goal: null, description: 'Søke bolig', how: '', responsible: null, responsible_service: '', scope: '', start_date: null, due_date: null, status: 'planned', position: 0 };
    c.store.handle(snapshot(7, plan({ measures: [measure], whatMatters: 'Ny bolig' })));
    const out = c.take();
    // The text field has a pending op, so it catches up from its own revision...
    assert.deepEqual(out.filter((m) => m.type === 'sync'), [{ type: 'sync', since: 5 }]);
    assert.equal(c.store.syncing, 'catchup');
    // ...and both ops in flight go out again, unchanged.
    assert.deepEqual(out.filter((m) => m.type === 'op').map((m) => m.op_id).sort(), [create.op_id, t.op_id].sort());
    assert.deepEqual(out.find((m) => m.op_id === create.op_id), create);
    assert.deepEqual(out.find((m) => m.op_id === t.op_id), t);

    // The ack of the resent create comes before the sync reply: it settles at once.
    c.store.handle(change('ack', 6, create.op_id, { type: 'create', target: 'measure', id: 30, values: measure }, { id: 30 }));
    await tick();
    assert.ok(created.done, 'the create is settled while the sync is still in flight');
    assert.deepEqual(created.value, { id: 30 });
    assert.equal(c.store.pending.size, 0);
    assert.equal(c.store.state.measures.length, 1);

    // The sync reply repeats it (as an ack): no second measure, nothing pending twice.
    c.store.handle({
      type: 'ops',
      since: 5,
      rev: 7,
      ops: [
        change('ack', 6, create.op_id, { type: 'create', target: 'measure', id: 30, values: measure }, { id: 30 }),
        change('op', 7, 'x7', { type: 'text', target: 'plan', id: 1, field: 'what_matters', ops: [-4, 'Ny', 6] }),
      ],
    });
    assert.equal(c.store.syncing, null);
    assert.equal(c.store.state.measures.length, 1);
    assert.equal(c.store.rev, 7);
    assert.equal(c.store.textOf(KEY), 'Egen leilighet!');
    assert.equal(c.store.pendingCount, 1); // the text op

    c.store.handle(change('ack', 8, t.op_id, t.op));
    assert.equal(c.store.pendingCount, 0);
    assert.equal(c.store.state.goals[0].text, 'Egen leilighet!');
    // The answer to the resend: the same ack again, at a rev we have. Ignored.
    c.store.handle(change('ack', 8, t.op_id, t.op));
    assert.equal(c.store.rev, 8);
    assert.equal(c.store.textOf(KEY), 'Egen leilighet!');
    assert.equal(c.store.state.goals[0].text, 'Egen leilighet!');
  });

  test('while a gap sync is in flight, an ack at an old rev is not held back', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const done = settledFlag(c.store.setValue('goal', 20, 'status', 'achieved'));
    const [set] = c.take('op');
    // A snapshot holding the set (rev 6); the set goes out again.
    c.store.handle(snapshot(6, plan({ status: 'achieved' })));
    assert.deepEqual(c.take('op'), [set]);
    // Something is missing (8 before 7): the store asks for it and holds live messages.
    c.store.handle(change('op', 8, 'x8', { type: 'set', target: 'goal', id: 20, field: 'level', value: 'sub' }));
    assert.deepEqual(c.take('sync'), [{ type: 'sync', since: 6 }]);
    c.store.handle(change('ack', 6, set.op_id, set.op));
    assert.equal(c.store.pending.size, 0, 'settled at once, not queued behind the sync');
    assert.equal(c.store.valueOf('goal', 20, 'status'), 'achieved');
    c.store.handle({
      type: 'ops',
      since: 6,
      rev: 8,
      ops: [
        change('op', 7, 'x7', { type: 'set', target: 'goal', id: 20, field: 'status', value: 'revised' }),
        change('op', 8, 'x8', { type: 'set', target: 'goal', id: 20, field: 'level', value: 'sub' }),
      ],
    });
    assert.equal(c.store.rev, 8);
    assert.equal(c.store.state.goals[0].status, 'revised');
    assert.equal(c.store.pendingCount, 0);
    return done;
  });

  test('an op (not ack) carrying our text op_id at an old rev settles the text op', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const t = typeAndSend(c, KEY, [14, 'x']);
    // A resync snapshot at 8; the field catches up from 5...
    c.store.handle(snapshot(8, plan()));
    assert.deepEqual(c.take('sync'), [{ type: 'sync', since: 5 }]);
    // ...but the log is gone, a snapshot again: our "x" was committed (6) and deleted
    // by someone (7), so the value looks untouched and the edit is kept as pending.
    c.store.handle(snapshot(8, plan()));
    assert.equal(c.store.textOf(KEY), 'Egen leilighetx');
    assert.equal(c.store.pendingCount, 1);
    const resent = c.take('op');
    assert.ok(resent.length >= 1);
    for (const m of resent) assert.deepEqual(m, t, 'resent unchanged');
    // Its commit arrives as an op (e.g. heard on a socket that did not send it) at 6.
    c.store.handle(change('op', 6, t.op_id, t.op));
    assert.equal(c.store.pendingCount, 0, 'settled, not pending forever');
    assert.equal(c.store.rev, 8);
    assert.equal(c.store.textOf(KEY), 'Egen leilighet', 'not applied again: the truth is the snapshot');
    c.timers.run();
    assert.deepEqual(c.take('op'), []);
  });

  test('settling a text op the state already holds keeps the keystrokes typed after it', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const t = typeAndSend(c, KEY, [14, 'x']);
    c.store.editText(KEY, [15, 'y']); // buffered behind the op in flight
    c.store.handle(snapshot(8, plan()));
    c.store.handle(snapshot(8, plan())); // the catch-up failed; the value looks untouched
    assert.equal(c.store.textOf(KEY), 'Egen leilighetxy');
    c.take();
    const views = [];
    c.store.on('text', (e) => views.push(e));
    c.store.handle(change('ack', 6, t.op_id, t.op));
    // Ours (the "x") is settled and not applied again; the "y" becomes the next op.
    assert.equal(c.store.textOf(KEY), 'Egen leilighety');
    assert.equal(views.length, 1);
    c.timers.run();
    const [next] = c.take('op');
    assert.notEqual(next.op_id, t.op_id);
    assert.equal(next.base_rev, 8);
    assert.deepEqual(next.op.ops, [14, 'y']);
    c.store.handle(change('ack', 9, next.op_id, next.op));
    assert.equal(c.store.pendingCount, 0);
    assert.equal(c.store.state.goals[0].text, 'Egen leilighety');
  });

  test('an ack overdue on the socket: sync, then the op goes out again unchanged', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      const t = typeAndSend(c, KEY, [14, '!']);
      c.store.setValue('goal', 20, 'status', 'achieved');
      const [set] = c.take('op');
      now += 6000;
      c.store._checkAcks();
      assert.deepEqual(c.take(), [{ type: 'sync', since: 5 }], 'nothing resent before the reply');
      c.store.handle({ type: 'ops', since: 5, rev: 5, ops: [] });
      const again = c.take('op');
      assert.deepEqual(again.find((m) => m.op_id === t.op_id), t);
      assert.deepEqual(again.find((m) => m.op_id === set.op_id), set);
      c.store.handle(change('ack', 6, t.op_id, t.op));
      c.store.handle(change('ack', 7, set.op_id, set.op));
      assert.equal(c.store.pendingCount, 0);
    } finally {
      Date.now = realNow;
    }
  });

  test('an own scalar op at an old rev settles it and changes nothing', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const done = settledFlag(c.store.setValue('goal', 20, 'status', 'achieved'));
    const [set] = c.take('op');
    c.store.handle(snapshot(7, plan({ status: 'revised' }))); // ours at 6, someone's at 7
    c.store.handle(change('op', 6, set.op_id, set.op));
    assert.equal(c.store.pending.size, 0);
    assert.equal(c.store.valueOf('goal', 20, 'status'), 'revised');
    assert.equal(c.store.rev, 7);
    return tick().then(() => assert.ok(done.done && !done.error));
  });
});

// ---------------------------------------------------------------------------------- b

describe('a refused op, then a snapshot', () => {
  test('ops in flight go out again unchanged; the refused op and its field edits are dropped', async () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const lost = [];
    const errors = [];
    c.store.on('lost', (e) => lost.push(e));
    c.store.on('error', (e) => errors.push(e));

    const other = typeAndSend(c, OTHER, [10, ' i byen']);
    const refused = typeAndSend(c, KEY, [0, 'Ny ']);
    c.store.editText(KEY, [17, '!']); // buffered behind the refused op
    const set = settledFlag(c.store.setValue('goal', 20, 'status', 'achieved'));
    const del = settledFlag(c.store.structure({ type: 'delete', target: 'goal', id: 99 }));
    const ops = c.take('op');
    const setMsg = ops.find((m) => m.op.type === 'set');
    const delMsg = ops.find((m) => m.op.type === 'delete');

    // Someone else's change lands first, so the snapshot is newer than our base_rev.
    c.store.handle(change('op', 6, 'x6', { type: 'set', target: 'goal', id: 20, field: 'level', value: 'sub' }));
    c.store.handle({ type: 'error', op_id: delMsg.op_id, code: 'not_found', message: 'Finnes ikke.', field: null });
    c.store.handle({ type: 'error', op_id: refused.op_id, code: 'stale', message: 'Utdatert.', field: 'text' });
    await tick();
    assert.ok(del.done && del.error, 'the refused structure op is rejected');
    assert.equal(c.store.textOf(KEY), 'Egen leilighet', 'everything pending on the refused field is dropped');
    assert.equal(lost.length, 1);
    assert.equal(lost[0].text, 'Ny Egen leilighet!');

    // The correcting snapshot: it holds our text op on OTHER (committed at 7), not the set.
    c.take();
    c.store.handle(snapshot(7, plan({ whatMatters: 'Egen bolig i byen' })));
    const out = c.take();
    const resent = out.filter((m) => m.type === 'op');
    assert.deepEqual(resent.find((m) => m.op_id === other.op_id), other, 'text op resent: same op_id, base_rev, ops');
    assert.equal(other.base_rev, 5);
    assert.deepEqual(resent.find((m) => m.op_id === setMsg.op_id), setMsg, 'set resent unchanged');
    assert.ok(!resent.some((m) => m.op_id === refused.op_id || m.op_id === delMsg.op_id), 'refused ops are not resent');
    assert.equal(resent.length, 2);

    // The catch-up reply for OTHER (from 5) holds our op as an ack: settled there.
    assert.deepEqual(out.filter((m) => m.type === 'sync'), [{ type: 'sync', since: 5 }]);
    c.store.handle({
      type: 'ops',
      since: 5,
      rev: 7,
      ops: [
        change('op', 6, 'x6', { type: 'set', target: 'goal', id: 20, field: 'level', value: 'sub' }),
        change('ack', 7, other.op_id, other.op),
      ],
    });
    // The answers to the resends: the text op's original ack (7 <= 7) and the set's new one.
    c.store.handle(change('ack', 7, other.op_id, other.op));
    c.store.handle(change('ack', 8, setMsg.op_id, setMsg.op));
    await tick();
    assert.ok(set.done && !set.error);
    assert.equal(c.store.pendingCount, 0);
    assert.equal(c.store.rev, 8);
    assert.equal(c.store.textOf(OTHER), 'Egen bolig i byen');
    assert.equal(c.store.state.goals[0].status, 'achieved');
    // The refusal reported once, even if the server repeats it.
    c.store.handle({ type: 'error', op_id: delMsg.op_id, code: 'not_found', message: 'Finnes ikke.', field: null });
    assert.equal(errors.filter((e) => e.code === 'not_found').length, 1);
    c.timers.run();
    assert.deepEqual(c.take('op'), [], 'nothing left to send');
  });

  test('a snapshot that holds our in-flight set: the resend is acked at an old rev', async () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const done = settledFlag(c.store.setValue('goal', 20, 'status', 'achieved'));
    const [set] = c.take('op');
    // The server committed it (6), then a correcting snapshot covered it before its ack
    // went out; the server will not send that ack by itself.
    c.store.handle(snapshot(6, plan({ status: 'achieved' })));
    assert.deepEqual(c.take('op'), [set]);
    c.store.handle(change('ack', 6, set.op_id, set.op));
    await tick();
    assert.ok(done.done && !done.error);
    assert.equal(c.store.pendingCount, 0);
  });

  test('an ack whose op is no longer pending is applied like an op', () => {
    const c = makeStore();
    c.store.handle(snapshot(5));
    const t = typeAndSend(c, KEY, [14, '!']);
    c.store.handle({ type: 'error', op_id: t.op_id, code: 'invalid', message: 'Nei.', field: 'text' });
    c.store.handle(snapshot(5));
    assert.equal(c.store.textOf(KEY), 'Egen leilighet');
    // A stray ack for something we dropped: the server did commit it at 6.
    c.store.handle(change('ack', 6, 'gone', { type: 'text', target: 'goal', id: 20, field: 'text', ops: [14, '?'] }));
    assert.equal(c.store.rev, 6);
    assert.equal(c.store.textOf(KEY), 'Egen leilighet?');
  });
});

// ---------------------------------------------------------------------------------- c

/** The store and the connection wired as room.js wires them. */
function room() {
  const timers = new ManualTimers();
  let resuming = false;
  let conn = null;
  const store = new LiveStore({ planId: 1, userId: 1, send: (m) => conn.send(m), timers });
  conn = new Connection(
    () => {
      const since = store.resumeFrom;
      resuming = since !== null;
      return `ws://x/ws/plans/1/${since !== null ? `?since=${since}` : ''}`;
    },
    {
      onOpen: () => store.connected({ resuming }),
      onMessage: (msg) => store.handle(msg),
      onClose: () => store.disconnected(),
    },
    { WebSocketImpl: FakeWebSocket, win },
  );
  return { store, conn, timers };
}

describe('a reconnect', () => {
  beforeEach(() => {
    FakeWebSocket.made = [];
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  });
  afterEach(() => mock.timers.reset());

  test('the ops reply settles our ops in it; the rest is resent after it, as first sent', async () => {
    const { store, conn, timers } = room();
    conn.start();
    const ws0 = FakeWebSocket.made[0];
    ws0.open();
    ws0.frame(snapshot(5));
    const done = settledFlag(store.setValue('goal', 20, 'status', 'achieved'));
    store.editText(KEY, [14, '!']);
    store.editText(OTHER, [0, 'Min ']);
    timers.run();
    const sent = ws0.take().filter((m) => m.type === 'op');
    assert.equal(sent.length, 3);
    const set = sent.find((m) => m.op.type === 'set');
    const t = sent.find((m) => m.op.target === 'goal' && m.op.type === 'text');
    const u = sent.find((m) => m.op.target === 'plan');

    ws0.drop(1006);
    store.editText(KEY, [15, '?']); // typed while offline, behind the text op in flight
    mock.timers.tick(600);
    const ws1 = FakeWebSocket.made[1];
    assert.equal(ws1.url, 'ws://x/ws/plans/1/?since=5');
    ws1.open();
    timers.run();
    assert.deepEqual(ws1.take(), [], 'nothing is sent before the ops reply');

    ws1.frame({ type: 'you', you: YOU });
    assert.deepEqual(ws1.take(), []);
    ws1.frame({
      type: 'ops',
      since: 5,
      rev: 8,
      ops: [
        // The new socket does not know our op_ids: our own ops come as plain ops.
        change('op', 6, set.op_id, set.op),
        change('op', 7, 'x7', { type: 'text', target: 'plan', id: 1, field: 'what_matters', ops: [10, '!'] }),
        change('op', 8, t.op_id, t.op),
      ],
    });
    await tick();
    assert.ok(done.done && !done.error, 'the set is settled by the ops reply');
    assert.equal(store.rev, 8);
    assert.equal(store.state.goals[0].text, 'Egen leilighet!');
    assert.equal(store.textOf(OTHER), 'Min Egen bolig!');

    timers.run();
    const resent = ws1.take().filter((m) => m.type === 'op');
    assert.deepEqual(resent.find((m) => m.op_id === u.op_id), u, 'resent with its original op_id, base_rev and ops');
    assert.equal(u.base_rev, 5);
    assert.ok(!resent.some((m) => m.op_id === set.op_id || m.op_id === t.op_id), 'settled ops are not resent');
    // The keystroke buffered behind the acked text op goes out as a new op.
    const next = resent.filter((m) => m.op_id !== u.op_id);
    assert.equal(next.length, 1);
    assert.equal(next[0].op.target, 'goal');
    assert.equal(next[0].base_rev, 8);
    assert.deepEqual(next[0].op.ops, [15, '?']);

    // The server transforms the resent op from rev 5 past 7 and commits it at 9.
    ws1.frame(change('ack', 9, u.op_id, { ...u.op, ops: ['Min ', 11] }));
    ws1.frame(change('ack', 10, next[0].op_id, next[0].op));
    assert.equal(store.pendingCount, 0);
    assert.equal(store.textOf(OTHER), 'Min Egen bolig!');
    assert.equal(store.state.what_matters, 'Min Egen bolig!');
    assert.equal(store.textOf(KEY), 'Egen leilighet!?');
    conn.stop();
  });

  test('a text op committed before the drop is not applied twice when the ops reply and its ack both come', () => {
    const { store, conn, timers } = room();
    conn.start();
    const ws0 = FakeWebSocket.made[0];
    ws0.open();
    ws0.frame(snapshot(5));
    store.editText(KEY, [0, 'Ny ']);
    timers.run();
    const [t] = ws0.take();
    ws0.drop(1001);
    mock.timers.tick(600);
    const ws1 = FakeWebSocket.made[1];
    ws1.open();
    ws1.frame({ type: 'ops', since: 5, rev: 6, ops: [change('op', 6, t.op_id, t.op)] });
    assert.deepEqual(ws1.take(), []);
    ws1.frame(change('ack', 6, t.op_id, t.op)); // e.g. the answer to an earlier resend
    assert.equal(store.textOf(KEY), 'Ny Egen leilighet');
    assert.equal(apply('Egen leilighet', t.op.ops), store.state.goals[0].text);
    assert.equal(store.pendingCount, 0);
    conn.stop();
  });
});

// ---------------------------------------------------------------------------------- d

describe('reconnect backoff', () => {
  beforeEach(() => {
    FakeWebSocket.made = [];
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  });
  afterEach(() => mock.timers.reset());

  /** Let the pending retry fire; returns the new socket. */
  function nextSocket(ms = 31000) {
    const before = FakeWebSocket.made.length;
    mock.timers.tick(ms);
    assert.equal(FakeWebSocket.made.length, before + 1, 'one new attempt');
    return FakeWebSocket.made.at(-1);
  }

  test('sockets that open and are closed before any frame keep backing off', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    let ws = FakeWebSocket.made[0];
    for (let i = 0; i < 5; i++) {
      ws.open(); // accepted...
      ws.drop(1011); // ...and closed at once (the database is down at join)
      if (i < 4) ws = nextSocket();
    }
    assert.equal(c.attempt, 5);
    // The next attempt waits at least backoffDelay(4, () => 0) = 4 s, not 0.25-0.5 s.
    mock.timers.tick(backoffDelay(4, () => 0) - 1);
    assert.equal(FakeWebSocket.made.length, 5, 'no tight reconnect loop');
    c.stop();
  });

  test('a frame after open starts the backoff over', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    let ws = FakeWebSocket.made[0];
    for (let i = 0; i < 3; i++) {
      ws.drop(1006); // refused at the handshake
      ws = nextSocket();
    }
    ws.open();
    assert.equal(c.attempt, 3, 'an open alone does not reset it');
    ws.frame(snapshot(5));
    assert.equal(c.attempt, 0);
    ws.drop(1006);
    mock.timers.tick(backoffDelay(0, () => 1));
    assert.equal(FakeWebSocket.made.length, 5, 'back within the first step of the backoff');
    c.stop();
  });

  test('on a resume the first frame (you/ops) counts too; 4429 still waits longer', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    const ws = FakeWebSocket.made[0];
    ws.open();
    ws.frame({ type: 'you', you: YOU });
    assert.equal(c.attempt, 0);
    ws.drop(4429);
    mock.timers.tick(backoffDelay(4, () => 0) - 1);
    assert.equal(FakeWebSocket.made.length, 1);
    c.stop();
  });
});
