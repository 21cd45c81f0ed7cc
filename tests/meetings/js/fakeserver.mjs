// A small in-memory stand-in for the live consumer + ipplan.plans.services, enough to
// drive static/js/meeting/store.js in node: snapshot on connect, op -> ack to the sender
// and op to the others, text ops transformed against the text ops on the same field
// committed after base_rev, duplicate op_ids answered with the earlier result, sync,
// resync.  The real server is exercised by the browser test (tests/browser/).

import { apply, baseLength, cpLength, normalize, transform } from '../../../static/js/ot.js';
import { applyEvent, find, isTextField } from '../../../static/js/meeting/state.js';

export function samplePlan() {
  return {
    id: 1,
    person: { name: 'Per Person' },
    status: 'active',
    coordinator: 1,
    what_matters: 'Egen bolig',
    resources: '',
    needs: '',
    cooperation: '',
    next_evaluation: null,
    themes: [
      { id: 10, title: 'Bolig', current_situation: 'Bor hos mor', position: 0 },
      { id: 11, title: 'Arbeid', current_situation: '', position: 1 },
    ],
    goals: [
      {
        id: 20,
        theme: 10,
        level: 'main',
        text: 'Egen leilighet',
        success_criterion: 'Signert kontrakt',
        evaluation_date: '2030-01-01',
        status: 'in_progress',
        expressed_by: 'Per',
        position: 0,
      },
    ],
    measures: [],
    members: [{ id: 1, user: 1, name: 'Kari', role: 'coordinator', access: 'edit' }],
  };
}

export class FakeServer {
  constructor(plan = samplePlan(), { syncLimit = 1000 } = {}) {
    this.state = structuredClone(plan);
    this.rev = 1;
    this.log = [];
    this.sockets = new Set();
    this.nextId = 100;
    this.syncLimit = syncLimit;
    this.refuse = null; // (op) => error message or null
  }

  snapshotMessage() {
    return {
      type: 'snapshot',
      rev: this.rev,
      plan: structuredClone(this.state),
      meeting: null,
      you: { id: 1, name: 'x', level: 'edit', can_edit: true, can_comment: true, can_manage: false, member: 1 },
      presence: [],
    };
  }

  /** A socket connects; with `since` (a reconnect) it gets the ops it missed instead. */
  connect(socket, since = null) {
    this.sockets.add(socket);
    if (since === null || this.rev - since > this.syncLimit) {
      socket.deliver(this.snapshotMessage());
      return;
    }
    const snap = this.snapshotMessage();
    socket.deliver({ type: 'you', you: snap.you });
    socket.deliver(this.opsSince(since, socket));
    socket.deliver({ type: 'meeting', meeting: null });
    socket.deliver({ type: 'presence', users: [] });
  }

  opsSince(since, socket) {
    const ops = this.log
      .filter((e) => e.rev > since)
      .map((e) => ({ ...e, type: e.socket === socket.user ? 'ack' : 'op' }))
      .map(({ socket: _s, ...e }) => e);
    return { type: 'ops', since, rev: this.rev, ops };
  }

  disconnect(socket) {
    this.sockets.delete(socket);
  }

  receive(socket, msg) {
    if (msg.type === 'sync') {
      if (this.rev - msg.since > this.syncLimit) socket.deliver(this.snapshotMessage());
      else socket.deliver(this.opsSince(msg.since, socket));
      return;
    }
    if (msg.type === 'resync') {
      socket.deliver(this.snapshotMessage());
      return;
    }
    if (msg.type !== 'op') return;
    const earlier = this.log.find((e) => e.op_id === msg.op_id);
    if (earlier) {
      const { socket: _s, ...event } = earlier;
      socket.deliver({ ...event, type: 'ack' });
      return;
    }
    let event;
    try {
      event = this.commit(msg, socket.user);
    } catch (error) {
      socket.deliver({ type: 'error', op_id: msg.op_id, code: error.code || 'invalid', message: error.message, field: error.field || null });
      socket.deliver(this.snapshotMessage()); // as the real server does after a refused op
      return;
    }
    event.socket = socket.user;
    const { socket: _s, ...clean } = event;
    for (const s of this.sockets) {
      s.deliver(s === socket ? { ...clean, type: 'ack' } : { ...clean, type: 'op', result: undefined });
    }
  }

  commit(msg, user) {
    const op = structuredClone(msg.op);
    const refusal = this.refuse && this.refuse(op);
    if (refusal) throw Object.assign(new Error(refusal), { code: 'invalid', field: op.field });
    let committed;
    let result = {};
    if (op.type === 'text') {
      const obj = find(this.state, op.target, op.id);
      if (!obj) throw Object.assign(new Error('not found'), { code: 'not_found' });
      const concurrent = this.log.filter(
        (e) => e.rev > msg.base_rev && e.op.type === 'text' && e.op.target === op.target && e.op.id === op.id && e.op.field === op.field,
      );
      const current = obj[op.field] || '';
      const delta = (o) => o.reduce((n, c) => n + (typeof c === 'string' ? cpLength(c) : c < 0 ? c : 0), 0);
      const expected = cpLength(current) - concurrent.reduce((n, e) => n + delta(e.op.ops), 0);
      if (baseLength(op.ops) !== expected) throw Object.assign(new Error('stale'), { code: 'stale' });
      let ops = normalize(op.ops);
      for (const e of concurrent) [ops] = transform(ops, e.op.ops, false);
      committed = { type: 'text', target: op.target, id: op.id, field: op.field, ops };
      apply(current, ops); // throws if it does not fit
    } else if (op.type === 'set') {
      if (isTextField(op.target, op.field)) throw new Error('use text ops');
      committed = op;
    } else if (op.type === 'create') {
      const id = this.nextId++;
      const list = this.state[`${op.target}s`];
      const siblings = list.filter((o) => op.target === 'theme' || o.theme === op.values.theme);
      committed = { type: 'create', target: op.target, id, values: { ...op.values, id, position: siblings.length } };
      result = { id };
    } else if (op.type === 'delete') {
      if (!find(this.state, op.target, op.id)) throw Object.assign(new Error('not found'), { code: 'not_found' });
      committed = op;
    } else if (op.type === 'move') {
      committed = op;
    } else {
      throw new Error(`unsupported ${op.type}`);
    }
    applyEvent(this.state, committed);
    this.rev += 1;
    const event = {
      rev: this.rev,
      op_id: msg.op_id,
      op: committed,
      user: { id: user, name: `user ${user}` },
      at: '2030-01-01T00:00:00Z',
      meeting: null,
      result,
    };
    this.log.push(event);
    return event;
  }
}

/** One client's socket: messages in both directions wait in queues until delivered. */
export class FakeSocket {
  constructor(server, user) {
    this.server = server;
    this.user = user;
    this.toClient = [];
    this.toServer = [];
    this.open = false;
    this.store = null;
  }

  deliver(msg) {
    if (this.open) this.toClient.push(structuredClone(msg));
  }

  send(msg) {
    if (!this.open) return false;
    this.toServer.push(structuredClone(msg));
    return true;
  }

  connect({ fresh = false } = {}) {
    this.open = true;
    this.toClient = [];
    this.toServer = [];
    const since = fresh ? null : this.store.resumeFrom;
    this.store.connected({ resuming: since !== null });
    this.server.connect(this, since);
  }

  /** The connection drops: whatever was in flight either way is gone. */
  drop({ deliverPendingToServer = false } = {}) {
    if (deliverPendingToServer) while (this.toServer.length) this.server.receive(this, this.toServer.shift());
    this.open = false;
    this.toClient = [];
    this.toServer = [];
    this.server.disconnect(this);
    this.store.disconnected();
  }

  stepToServer() {
    if (!this.toServer.length) return false;
    this.server.receive(this, this.toServer.shift());
    return true;
  }

  stepToClient({ lose = false } = {}) {
    if (!this.toClient.length) return false;
    const msg = this.toClient.shift();
    if (lose && msg.type === 'op') return true; // the channel layer dropped it
    this.store.handle(msg);
    return true;
  }
}

/** Timers under the test's control. */
export class FakeTimers {
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

  runAll() {
    let n = 0;
    while (this.due.length && n < 1000) {
      this.due.shift()();
      n++;
    }
  }
}
