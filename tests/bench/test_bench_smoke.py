"""The benchmark scripts still run: each one, with tiny parameters, against real server
processes, PostgreSQL and Redis. These tests check that a run completes, accounts for
every change (nothing lost, nothing duplicated) and writes its JSON; they never check a
timing (figures come from the full runs, see docs/performance.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.processes


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def bench_env() -> dict[str, str]:
    """Where the scripts find PostgreSQL and Redis: the suite's own servers."""
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith(("postgres://", "postgresql://")):
        pytest.skip("the benchmarks run on PostgreSQL (set DATABASE_URL)")
    parts = urlsplit(database)
    if not _reachable(parts.hostname or "127.0.0.1", parts.port or 5432):
        pytest.skip("PostgreSQL is not reachable")
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    env = dict(os.environ)
    env["BENCH_PG"] = f"{parts.scheme}://{parts.netloc}"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _drop(env: dict[str, str], name: str) -> None:
    import psycopg

    with psycopg.connect(f"{env['BENCH_PG']}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_live_load_run_loses_and_duplicates_nothing(bench_env, tmp_path):
    out = tmp_path / "live.json"
    database = "ipplan_bench_smoke_live"
    try:
        _run(
            bench_env,
            "bench/live_load.py",
            "--meetings=1",
            "--participants=2",
            "--duration=2",
            "--settle=0.5",
            "--call-costs=2",
            f"--database={bench_env['BENCH_PG']}/{database}",
            f"--log-dir={tmp_path}",
            f"--json={out}",
        )
    finally:
        _drop(bench_env, database)
    report = json.loads(out.read_text())
    ipplan = report["results"]["ipplan"]["correctness"]
    floor = report["results"]["floor"]["correctness"]
    assert report["results"]["ipplan"]["connections"] == 2
    assert ipplan["committed_live_ops"] > 0  # the typists really typed
    assert ipplan["acked_ops"] == ipplan["committed_live_ops"]
    for key in (
        "lost",
        "duplicated",
        "text_mismatches",
        "clients_behind_database",
        "acked_not_committed",
        "committed_not_acked",
        "committed_twice",
        "pending_edits",
    ):
        assert ipplan[key] == 0, (key, ipplan)
    assert floor["receipts"] > 0
    assert floor["lost"] == 0 and floor["duplicated"] == 0, floor
    assert report["summary"]["ipplan"]["peak_rss_mib"][0] > 0
    assert report["call_costs"]  # the direct per-call measurements ran too


def test_the_page_cost_run_answers_every_endpoint(bench_env, tmp_path):
    out = tmp_path / "pages.json"
    database = "ipplan_bench_smoke_pages"
    try:
        _run(
            bench_env,
            "bench/page_cost.py",
            "--runs=1",
            "--large=themes=3,goals=4,measures=6,members=4",
            "--changes=40",
            f"--database={bench_env['BENCH_PG']}/{database}",
            f"--json={out}",
        )
    finally:
        _drop(bench_env, database)
    report = json.loads(out.read_text())
    assert set(report["results"]) == {
        "small/coordinator",
        "small/member",
        "large/coordinator",
        "large/member",
    }
    for rows in report["results"].values():
        assert "plan page (plans:detail)" in rows
        for label, row in rows.items():
            assert row["status"] in (200, "ok"), (label, row)
            assert row["queries"] > 0


def test_the_op_cost_run_measures_every_op(bench_env, tmp_path):
    out = tmp_path / "op_cost.json"
    database = "ipplan_bench_smoke_opcost"
    try:
        _run(
            bench_env,
            "bench/op_cost.py",
            "--ops=3",
            "--participants=3",
            f"--database={bench_env['BENCH_PG']}/{database}",
            f"--json={out}",
        )
    finally:
        _drop(bench_env, database)
    result = json.loads(out.read_text())["result"]
    assert result["ops"] == 3 and result["participants"] == 3
    assert result["cpu_ms_per_op"] > 0


def test_the_transaction_grouping_run_commits_every_op_once(bench_env, tmp_path):
    out = tmp_path / "grouping.json"
    database = "ipplan_bench_smoke_grouping"
    try:
        _run(
            bench_env,
            "bench/txn_grouping.py",
            "--ops=6",
            "--plans=2",
            "--groups",
            "1",
            "3",
            f"--database={bench_env['BENCH_PG']}/{database}",
            f"--json={out}",
        )
    finally:
        _drop(bench_env, database)
    report = json.loads(out.read_text())
    assert [r["ops_per_transaction"] for r in report["rows"]] == [1, 3, 1, 3]
    assert report["committed"] == report["applied"] == 2 * 4 + 4 * 6
    assert all(r["python_ms_per_op"] > 0 for r in report["rows"])
