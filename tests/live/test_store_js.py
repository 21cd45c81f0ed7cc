"""Runs tests/live/js/store.test.mjs with node: the meeting room client
(static/js/meeting/store.js and connection.js) against the rules of docs/protocol.md
sections 2 and 3 — own acks at old revisions settle, ops in flight are resent unchanged
after a snapshot or a reconnect, refused ops are dropped — and the reconnect backoff,
which starts over on the first frame rather than on open.  Skipped without node >= 18.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "live" / "js" / "store.test.mjs"


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)", version.stdout.strip())
    if not match or int(match.group(1)) < 18:
        pytest.skip(f"node >= 18 needed for node --test, found {version.stdout.strip()!r}")
    return path


def test_store_protocol_rules_hold(node):
    proc = subprocess.run(
        [node, "--test", str(JS_TESTS.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert re.search(r"^# fail 0$", proc.stdout, re.MULTILINE), proc.stdout[-2000:]
    # The file must actually have run its tests (not, say, failed to import and passed 0).
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, proc.stdout[-2000:]
