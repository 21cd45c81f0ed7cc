"""Running the browser code's own tests (`node --test`) from pytest.

The meeting room client and ot.js are plain ES modules; their unit tests are .mjs
files run by node's built-in test runner. Skipped where node >= 18 is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def find_node() -> str:
    """The node executable, or skip the calling test."""
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)", version.stdout.strip())
    if not match or int(match.group(1)) < 18:
        pytest.skip(f"node >= 18 needed for node --test, found {version.stdout.strip()!r}")
    return path


def run_node_tests(node: str, script: Path, *, min_passed: int = 1, timeout: int = 300) -> None:
    """Run one .mjs test file; fail with node's output unless every test passed and at
    least `min_passed` ran (a file that fails to import must not pass with 0 tests)."""
    proc = subprocess.run(
        [node, "--test", str(script.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert re.search(r"^# fail 0$", proc.stdout, re.MULTILINE), proc.stdout[-2000:]
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= min_passed, proc.stdout[-2000:]
