// node --test tests/meetings/js/connection.test.mjs
// The room's socket manager: exponential backoff with jitter, states for the indicator,
// close codes that must not be retried, the URL asked again on each attempt (since=).

import { afterEach, beforeEach, describe, test, mock } from 'node:test';
import assert from 'node:assert/strict';

import { Connection, backoffDelay } from '../../../static/js/meeting/connection.js';
import { FakeWebSocket, win } from './fake_websocket.mjs';

describe('backoffDelay', () => {
  test('doubles per attempt, with jitter between half and all of it, up to 30 s', () => {
    assert.equal(backoffDelay(0, () => 0), 250);
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.equal(backoffDelay(3, () => 1), 4000);
    assert.equal(backoffDelay(20, () => 1), 30000);
    assert.equal(backoffDelay(20, () => 0), 15000);
  });
});

describe('Connection', () => {
  beforeEach(() => {
    FakeWebSocket.made = [];
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  });
  afterEach(() => mock.timers.reset());

  test('reconnects after a drop, asking for the URL again, and reports its states', () => {
    const states = [];
    let n = 0;
    const c = new Connection(() => `ws://x/ws/plans/1/?since=${n++}`, { onState: (s) => states.push(s) }, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    FakeWebSocket.made[0].open();
    assert.equal(c.state, 'open');
    FakeWebSocket.made[0].drop();
    assert.equal(c.state, 'reconnecting');
    mock.timers.tick(600);
    assert.equal(FakeWebSocket.made.length, 2);
    assert.equal(FakeWebSocket.made[1].url, 'ws://x/ws/plans/1/?since=1');
    FakeWebSocket.made[1].open();
    assert.deepEqual(states, ['open', 'reconnecting', 'open']);
  });

  test('after several failed attempts it says offline, and keeps trying', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    for (let i = 0; i < 4; i++) {
      FakeWebSocket.made.at(-1).drop();
      mock.timers.tick(31000);
    }
    assert.equal(c.state, 'offline');
    assert.ok(FakeWebSocket.made.length >= 5);
  });

  test('a session that ended (4401) or access removed (4403) is not retried', () => {
    for (const [code, state] of [[4401, 'ended'], [4403, 'forbidden'], [4404, 'forbidden']]) {
      FakeWebSocket.made = [];
      const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
      c.start();
      FakeWebSocket.made[0].open();
      FakeWebSocket.made[0].drop(code);
      mock.timers.tick(60000);
      assert.equal(c.state, state);
      assert.equal(FakeWebSocket.made.length, 1);
    }
  });

  test('a silent socket is pinged, and given up when no answer comes', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    const ws = FakeWebSocket.made[0];
    ws.open();
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      now += 26000;
      mock.timers.tick(5000);
      assert.deepEqual(ws.sent.at(-1), { type: 'ping' });
      now += 11000;
      mock.timers.tick(5000);
      assert.equal(c.state, 'reconnecting');
    } finally {
      Date.now = realNow;
    }
  });

  test('send refuses while not connected instead of throwing', () => {
    const c = new Connection('ws://x', {}, { WebSocketImpl: FakeWebSocket, win });
    c.start();
    assert.equal(c.send({ type: 'ping' }), false);
    FakeWebSocket.made[0].open();
    assert.equal(c.send({ type: 'ping' }), true);
  });
});
