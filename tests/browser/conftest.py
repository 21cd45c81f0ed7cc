"""Real-browser tests: Debian's chromium driven by Playwright, against a real Daphne
server (HTTP + WebSockets, the project's ASGI application) on the test database.

The test database is transactional here: the server is another process, so the test
data must be committed for it to see it. Each user's browser context gets a session
cookie made with Django's test client (the login form itself is tested elsewhere).

Marked `browser`; skipped when chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from tests.db_support import allow_flush, restore_append_only

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("IPPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Daphne process serving tests.browser.asgi on the test database."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(
            DATABASE_URL=self.database_url,
            DJANGO_SETTINGS_MODULE="ipplan.settings",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        daphne = str(Path(sys.executable).with_name("daphne"))
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [daphne, "-b", "127.0.0.1", "-p", str(self.port), "tests.browser.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    if shutil.which("daphne", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("daphne is not installed in the virtualenv")
    pytest.importorskip("playwright")
    return CHROMIUM


@pytest.fixture
def browser_db(transactional_db):
    """Committed test data (the server is another process); the flush after the test
    may empty the append-only access log."""
    restore_append_only()
    yield
    allow_flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    if nextitem is not None and "browser_db" in getattr(item, "fixturenames", ()):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            restore_append_only()


@pytest.fixture
def server(browser_db, chromium_path, tmp_path) -> Iterator[Server]:
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip("the browser tests run against PostgreSQL")
    srv = Server(url, tmp_path / "daphne.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def session_cookie(user, base_url: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}
