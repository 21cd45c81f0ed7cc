"""Fixtures for the fault tests: real processes, real signals, private services.

* `private_pg` (per session): a PostgreSQL cluster of our own (initdb in a temporary
  directory, the postmaster on a free port) with a migrated template database. The
  tests crash and restart it; the system PostgreSQL on 5432 is never touched.
* `fault_stack` (per test): a fresh database from that template, a private Redis on a
  free port and uvicorn worker processes on both (tests.faults.harness.FaultStack).

The simulated browser clients are in tests/faults/simclient.py, the checks (nothing
lost, nothing doubled, everyone converged) in tests/faults/harness.py.

Tests on the private services are marked `processes` (the long ones also `slow`):
`-m "not processes"` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import harness, stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything on the private services is a process test (-m "not processes" skips it).
    for item in items:
        if "private_pg" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.processes)


def _missing() -> str | None:
    if stack.postgres_bindir() is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    if shutil.which("redis-server") is None:
        return "redis-server not found (apt-get install redis-server)"
    if not Path(sys.executable).with_name("uvicorn").exists():
        return "uvicorn is not installed in the virtualenv"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres system user for initdb"
    return None


@pytest.fixture(scope="session")
def private_pg() -> Iterator[tuple[stack.PrivatePostgres, str]]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    pg = stack.PrivatePostgres(stack.postgres_bindir())
    try:
        pg.initdb()
        pg.start()
        template = "ipplan_fault_template"
        pg.execute(f'CREATE DATABASE "{template}"')
        stack.migrate(pg.url(template))
        yield pg, template
    finally:
        pg.destroy()


@pytest.fixture
def fault_stack(private_pg, request) -> Iterator[harness.FaultStack]:
    pg, template = private_pg
    if pg.process is None or pg.process.poll() is not None:
        pg.start()  # an earlier test left it down
    workdir = Path(tempfile.mkdtemp(prefix="ipplan_fault_"))
    fs = harness.FaultStack(pg, template, request.node.name, workdir)
    try:
        yield fs
    finally:
        failed = (
            getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        )
        if failed or os.environ.get("IPPLAN_FAULT_KEEP_LOGS"):
            harness.keep_logs(fs, request.node.name)
        fs.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """As in tests/live: put the access log's append-only guard back after the flush of
    a transactional test database (the in-process tests here use `live_db`)."""
    yield
    if nextitem is not None and "live_db" in getattr(item, "fixturenames", ()):
        from pytest_django.plugin import blocking_manager_key

        from tests.db_support import restore_append_only

        with item.config.stash[blocking_manager_key].unblock():
            restore_append_only()
