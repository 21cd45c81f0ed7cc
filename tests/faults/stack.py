"""Private services for the fault tests: a PostgreSQL cluster, a Redis server and ASGI
worker processes of our own, on free ports, that the tests may kill and restart.

Other tests (and other people's runs on the same machine) use the system PostgreSQL on
5432 and Redis on 6379; nothing here touches those. Every process started here is a
child of the test process in its own session, stopped by the fixtures and, as a last
resort, at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
_CHILDREN: list[subprocess.Popen] = []


def _cleanup_children() -> None:
    for process in _CHILDREN:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


atexit.register(_cleanup_children)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited ({process.returncode}): {_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s: {_tail(log)}")


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _spawn(args: list[str], log: Path, **kwargs: Any) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        args,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C for pytest does not hit the services first
        **kwargs,
    )
    _CHILDREN.append(process)
    return process


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------ PostgreSQL


def postgres_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()],
    )
    if candidates:
        return Path(candidates[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "postgres").exists():
            return path
    return None


class PrivatePostgres:
    """A throw-away cluster: initdb in a temporary directory, the postmaster as our
    child process on a free port (TCP on 127.0.0.1 and a private socket directory),
    trust authentication. As root, initdb and postgres refuse to run, so they run as
    the `postgres` system user, which then owns the directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ipplan_fault_pg_"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        os.chmod(self.root, 0o700)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        subprocess.run(  # noqa: S603
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=self.root,
            **self.run_as,
        )

    def start(self, timeout: float = 30) -> None:
        self.process = _spawn(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
                # A killed postmaster (not a killed machine) keeps the OS page cache, so
                # committed data survives without fsync; crash recovery still replays WAL.
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "logging_collector=off",
            ],
            self.log,
            cwd=self.root,
            **self.run_as,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {_tail(self.log)}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): backends die at once, no checkpoint; the next
        start runs crash recovery from the WAL, as after a crash."""
        _stop(self.process, signal.SIGQUIT)
        self.process = None

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)  # fast shutdown
        self.process = None

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def revisions(self, database: str, plan_ids: list[int]) -> dict[int, int]:
        with psycopg.connect(self.url(database), connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT id, revision FROM plans_plan WHERE id = ANY(%s)", (plan_ids,)
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# ----------------------------------------------------------------------------- Redis


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = _spawn(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.log,
        )
        wait_for_port(self.port, self.process, 10, self.log)

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)
        self.process = None


# --------------------------------------------------------------------------- workers


class Worker:
    """One ASGI worker process: uvicorn serving ipplan.asgi:application, as in the
    README's production command (several of them behind a load balancer)."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.env = env
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        uvicorn = str(Path(PYTHON).with_name("uvicorn"))
        self.process = _spawn(
            [
                uvicorn,
                "ipplan.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--lifespan",
                "off",
                "--ws-max-size",
                "1048576",
                "--log-level",
                "warning",
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ],
            self.log,
            cwd=ROOT,
            env=self.env,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.process is not None
        wait_for_port(self.port, self.process, timeout, self.log)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, timeout=10)
        self.process = None

    def log_text(self) -> str:
        return _tail(self.log, 10**7)


def worker_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
        and not k.startswith("PYTEST")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="ipplan.settings",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # As in production: connections are kept between requests, so a database
        # restart leaves every worker with stale connections to notice and replace.
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def control(database_url: str, *args: str, timeout: float = 120) -> Any:
    """Run tests.faults.control against the private database; its JSON output."""
    env = worker_env(database_url, "")
    env.pop("REDIS_URL")
    out = subprocess.run(  # noqa: S603
        [PYTHON, "-m", "tests.faults.control", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"control {args[0]} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout)


def migrate(database_url: str) -> None:
    env = worker_env(database_url, "")
    env.pop("REDIS_URL")
    out = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"migrate failed: {out.stderr[-3000:]}")
