"""Runs the meeting room client's own tests (tests/meetings/js/*.test.mjs) with node:
the store, the per-field OT sync and undo against a fake server, with random
concurrent edits, lost messages, reconnects and reloads. Skipped without node >= 18."""

from __future__ import annotations

import pytest

from tests.node_support import ROOT, find_node, run_node_tests

TESTS = sorted((ROOT / "tests" / "meetings" / "js").glob("*.test.mjs"))


@pytest.mark.parametrize("script", TESTS, ids=lambda p: p.name)
def test_the_client_tests_pass(script):
    run_node_tests(find_node(), script)
