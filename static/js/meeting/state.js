// The plan state as the server sends it (snapshot) and the rules for applying a committed
// op to it.  A mirror of ipplan/live/snapshot.py (plan_state / apply_event): the same
// shapes, the same ordering rules, so a client that applies every op in revision order
// holds exactly what a fresh snapshot would give.  No DOM here.

import { apply as applyText } from '../ot.js';

export const LISTS = {
  theme: 'themes',
  goal: 'goals',
  measure: 'measures',
  member: 'members',
  course: 'courses',
};
const STATE_TARGETS = new Set(['plan', 'theme', 'goal', 'measure', 'member', 'course']);
// Plain lists ordered by id: no positions, nothing to renumber.
const BY_ID = new Set(['member', 'course']);

// Fields edited as text with OT (ipplan.plans.services.FIELDS, kind "text").
export const TEXT_FIELDS = {
  plan: ['what_matters', 'resources', 'needs', 'cooperation'],
  theme: ['title', 'current_situation'],
  goal: ['text', 'success_criterion', 'expressed_by'],
  measure: ['description', 'how', 'responsible_service', 'scope'],
  member: ['service', 'contribution'],
  course: ['provider', 'break_note'],
};

export function isTextField(target, field) {
  return (TEXT_FIELDS[target] || []).includes(field);
}

export function fieldKey(target, id, field) {
  return `${target}:${id}:${field}`;
}

export function parseKey(key) {
  const [target, id, field] = key.split(':');
  return { target, id: Number(id), field };
}

function byPosition(a, b) {
  return a.position - b.position || a.id - b.id;
}

/** Objects of `target` in display order (goals and measures: of one theme). */
export function group(state, target, theme = null) {
  let items = state[LISTS[target]];
  if (target === 'goal' || target === 'measure') items = items.filter((o) => o.theme === theme);
  return items.slice().sort(byPosition);
}

function renumber(items) {
  items.forEach((o, i) => {
    o.position = i;
  });
}

function insert(state, target, obj, position) {
  const items = group(state, target, obj.theme ?? null).filter((o) => o.id !== obj.id);
  items.splice(Math.min(position, items.length), 0, obj);
  renumber(items);
}

export function find(state, target, id) {
  if (target === 'plan') return state;
  const list = state[LISTS[target]];
  return list ? list.find((o) => o.id === id) || null : null;
}

/**
 * Apply one committed op (the `op` of an op/ack message) to `state`, in place.
 * Throws if the op names an object that is not there (the caller resyncs).
 */
export function applyEvent(state, op) {
  const { type, target } = op;
  if (!STATE_TARGETS.has(target) || (target === 'plan' && type === 'create')) return state;
  if (type === 'set' || type === 'text') {
    const obj = find(state, target, op.id);
    if (!obj) throw new Error(`${target} ${op.id} is not in the state`);
    if (type === 'set') obj[op.field] = op.value;
    else obj[op.field] = applyText(obj[op.field] || '', op.ops);
    return state;
  }
  if (type === 'create' || type === 'restore') {
    const values = structuredClone(op.values);
    const list = state[LISTS[target]];
    const kept = list.filter((o) => o.id !== values.id);
    list.length = 0;
    list.push(...kept, values);
    if (BY_ID.has(target)) list.sort((a, b) => a.id - b.id);
    else insert(state, target, values, values.position);
    return state;
  }
  const obj = find(state, target, op.id);
  if (!obj) throw new Error(`${target} ${op.id} is not in the state`);
  if (type === 'delete') {
    const list = state[LISTS[target]];
    list.splice(list.indexOf(obj), 1);
    if (!BY_ID.has(target)) renumber(group(state, target, obj.theme ?? null));
    return state;
  }
  if (type === 'move') {
    const oldTheme = obj.theme ?? null;
    const newTheme = 'theme' in op ? op.theme : oldTheme;
    if ((target === 'goal' || target === 'measure') && newTheme !== oldTheme) {
      obj.theme = newTheme;
      renumber(group(state, target, oldTheme));
      if (target === 'goal') {
        const start = group(state, 'measure', newTheme).length;
        const followers = (op.measures || []).map((id) => find(state, 'measure', id)).filter(Boolean);
        followers.forEach((m, offset) => {
          m.theme = newTheme;
          m.position = start + offset;
        });
        renumber(group(state, 'measure', oldTheme));
      }
    }
    if (target === 'measure' && 'goal' in op) obj.goal = op.goal;
    insert(state, target, obj, op.position);
    return state;
  }
  throw new Error(`unknown op type ${type}`);
}
