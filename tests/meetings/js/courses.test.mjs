// node --test tests/meetings/js/courses.test.mjs
// Treatment courses in the client's live state (static/js/meeting/state.js): the same
// rules as ipplan/live/snapshot.py apply_event — a plain list ordered by id.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { applyEvent, find } from '../../../static/js/meeting/state.js';

function course(id, extra = {}) {
  return { id, kind: 'lar', provider: 'LAR', referral_date: null, start_date: null, planned_end: null,
    status: 'referred', end_date: null, break_reason: '', break_note: '', ...extra };
}

function emptyPlan() {
  return { id: 1, themes: [], goals: [], measures: [], members: [], courses: [] };
}

test('created and restored courses are kept in id order without positions', () => {
  const state = emptyPlan();
  applyEvent(state, { type: 'create', target: 'course', id: 7, values: course(7) });
  applyEvent(state, { type: 'create', target: 'course', id: 3, values: course(3) });
  assert.deepEqual(state.courses.map((c) => c.id), [3, 7]);
  assert.equal('position' in state.courses[0], false);

  applyEvent(state, { type: 'delete', target: 'course', id: 3 });
  assert.deepEqual(state.courses.map((c) => c.id), [7]);
  applyEvent(state, { type: 'restore', target: 'course', id: 3, values: course(3) });
  assert.deepEqual(state.courses.map((c) => c.id), [3, 7]);
});

test('set and text ops change a course field', () => {
  const state = emptyPlan();
  applyEvent(state, { type: 'create', target: 'course', id: 5, values: course(5) });
  applyEvent(state, { type: 'set', target: 'course', id: 5, field: 'status', value: 'ongoing' });
  applyEvent(state, { type: 'text', target: 'course', id: 5, field: 'provider', ops: [3, ' Stavanger'] });
  assert.equal(find(state, 'course', 5).status, 'ongoing');
  assert.equal(find(state, 'course', 5).provider, 'LAR Stavanger');
});

test('an op on a course that is not there asks for a resync', () => {
  assert.throws(() => applyEvent(emptyPlan(), { type: 'delete', target: 'course', id: 9 }));
});
