"""Runs the meeting room client's own tests (tests/meetings/js/*.test.mjs) with node:
the store, the per-field OT sync and undo against a fake server, with random
concurrent edits, lost messages, reconnects and reloads. Skipped without node >= 18."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = sorted((ROOT / "tests" / "meetings" / "js").glob("*.test.mjs"))


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    major = int(version.stdout.strip().lstrip("v").split(".")[0] or 0)
    if major < 18:
        pytest.skip(f"node >= 18 needed for node --test, found {version.stdout.strip()!r}")
    return path


@pytest.mark.parametrize("script", TESTS, ids=lambda p: p.name)
def test_the_client_tests_pass(node, script):
    proc = subprocess.run(
        [node, "--test", str(script.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
