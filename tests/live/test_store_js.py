"""Runs tests/live/js/store.test.mjs with node: the meeting room client
(static/js/meeting/store.js and connection.js) against the rules of docs/protocol.md
sections 2 and 3 — own acks at old revisions settle, ops in flight are resent unchanged
after a snapshot or a reconnect, refused ops are dropped — and the reconnect backoff,
which starts over on the first frame rather than on open.  Skipped without node >= 18.
"""

from __future__ import annotations

from tests.node_support import ROOT, find_node, run_node_tests

JS_TESTS = ROOT / "tests" / "live" / "js" / "store.test.mjs"


def test_store_protocol_rules_hold():
    run_node_tests(find_node(), JS_TESTS, min_passed=10, timeout=120)
