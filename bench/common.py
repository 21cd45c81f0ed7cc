"""Shared pieces of the benchmarks: scratch databases, server processes, /proc readings,
percentiles, tables and JSON.

Nothing here imports Django at module level: the load clients import this module too,
and the server processes must be started from a clean environment.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# Pub/sub channels are not scoped by Redis database number, so the harness also keeps
# its plan and user ids far away from the ones tests use (see offset_ids).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HOST = "127.0.0.1"


# ----------------------------------------------------------------------- databases


def database_url(name: str) -> str:
    return f"{PG_SERVER.rstrip('/')}/{name}"


def _server_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def _admin_conninfo(url: str) -> str:
    return _server_url(url).replace("postgres://", "postgresql://", 1)


def _check_name(name: str) -> None:
    if not name.startswith(("ipplan_bench", "test_ipplan_bench")):
        raise SystemExit(f"refusing to recreate {name!r}: bench databases start with ipplan_bench")


def _migrations_fingerprint() -> str:
    """Changes whenever a migration (ours or a dependency's) could have changed."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "ipplan").glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    for package in ("Django", "django-axes", "django-otp"):
        digest.update(f"{package}={_version(package)}".encode())
    return digest.hexdigest()[:32]


def recreate_database(url: str) -> None:
    """Drop the scratch database named in `url` (never a shared one) and create it
    migrated, as a copy of a migrated template that is rebuilt when migrations change
    (CREATE DATABASE ... TEMPLATE takes a second; migrating takes ten or more)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    _check_name(name)
    template = "ipplan_bench_template"
    fingerprint = _migrations_fingerprint()
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [template],
        ).fetchone()
        if row is None or row[0] != fingerprint:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
            template_url = urlunsplit(urlsplit(url)._replace(path=f"/{template}"))
            migrate(template_url)
            conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{fingerprint}'")
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def migrate(url: str) -> float:
    """`manage.py migrate` on a scratch database; returns seconds taken."""
    started = time.monotonic()
    env = server_env(url, redis_url=None)
    result = subprocess.run(  # fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


def offset_ids(start: int = 7_000_000) -> None:
    """Start plan and user ids high in this scratch database, so the channel groups
    `plan.<id>` / `user.<id>` never meet those of test runs on the same Redis."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("plans_plan", "accounts_user"):
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, start]
            )


def setup_django(url: str, **env: str) -> None:
    """Point this process at the scratch database and set Django up."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipplan.settings")
    os.environ.pop("REDIS_URL", None)  # the harness itself never broadcasts
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# ------------------------------------------------------------------------- servers


def server_env(database: str | None, *, redis_url: str | None, **extra: str) -> dict[str, str]:
    """The production-shaped environment for an ASGI worker (see README: Production)."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="ipplan.settings",
        ALLOWED_HOSTS=f"{HOST},localhost",
        DEBUG="0",
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if database:
        env["DATABASE_URL"] = database
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Servers:
    """N ASGI worker processes serving `app` on one port (uvicorn --workers N) or on N
    ports (N daphne processes; the load client spreads its connections over them)."""

    def __init__(
        self,
        kind: str,
        app: str,
        workers: int,
        env: dict[str, str],
        log: Path,
        ws: str = "auto",
    ) -> None:
        self.kind = kind
        self.ws = ws
        self.app = app
        self.workers = workers
        self.env = env
        self.log = log
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self, timeout: float = 60) -> Servers:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("a")
        if self.kind == "uvicorn":
            port = free_port()
            self.ports = [port]
            cmd = [
                str(VENV_BIN / "uvicorn"),
                self.app,
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--ws",
                self.ws,
                "--ws-max-size",
                "1048576",
                "--no-access-log",
                "--log-level",
                "warning",
                "--backlog",
                "4096",
            ]
            self.procs = [
                subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            ]
        elif self.kind == "daphne":
            self.ports = [free_port() for _ in range(self.workers)]
            for port in self.ports:
                cmd = [
                    str(VENV_BIN / "daphne"),
                    "-b",
                    HOST,
                    "-p",
                    str(port),
                    "-v",
                    "0",
                    "--websocket-max-message-size",
                    "1048576",
                    self.app,
                ]
                self.procs.append(
                    subprocess.Popen(
                        cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        else:
            raise ValueError(self.kind)
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while True:
                if any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"server exited:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{self.log.read_text()[-3000:]}")
                time.sleep(0.2)
        if self.kind == "uvicorn":
            # Every worker must be up, not just the first to bind.
            while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # workers import the app after the port opens
        return self

    def worker_pids(self) -> list[int]:
        """The processes that run the application."""
        if self.kind == "daphne":
            return [p.pid for p in self.procs]
        pids = []
        for child in children(self.procs[0].pid):
            if "resource_tracker" not in cmdline(child):
                pids.append(child)
        return pids

    def urls(self, path: str) -> list[str]:
        return [f"ws://{HOST}:{port}{path}" for port in self.ports]

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.ports[0]}"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []

    def __enter__(self) -> Servers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class OwnRedis:
    """A private redis-server for one benchmark run (no persistence), so other users of
    the machine's Redis neither disturb nor see the run. Stopped by its pid."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def __enter__(self) -> OwnRedis:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                return self
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------------------- /proc


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set since the process started), KiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def established(pid: int, ports: Iterable[int]) -> int:
    """WebSocket (TCP) connections a server process holds on one of `ports`."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    wanted = {f"{port:04X}" for port in ports}
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                port = fields[1].rsplit(":", 1)[1]
                if fields[3] == "01" and port in wanted and fields[9] in inodes:
                    count += 1
    return count


def renice(pids: Iterable[int], nice: int) -> int:
    """Set the scheduling priority of these processes and their threads; returns how
    many it could change (needs root for a negative value)."""
    done = 0
    for pid in pids:
        # Linux groups processes by session (autogroup) and weighs groups first: a
        # process in a session of its own (a PostgreSQL backend) needs its group reniced.
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, nice)
            done += 1
    return done


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _stat_fields(path: str) -> list[str] | None:
    try:
        return Path(path).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time of one process split by thread: the main thread (`loop`: an ASGI
    worker's event loop) and all other threads (`threads`: the live sockets' database
    threads, for ipplan). Threads that ended are not counted (a pool's threads live as
    long as the worker)."""
    out = {"loop": 0.0, "threads": 0.0}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        fields = _stat_fields(f"{task}/stat")
        if fields is None:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / CLK_TCK
        out["loop" if task.name == str(pid) else "threads"] += seconds
    return out


def service_cpu_seconds() -> dict[str, float]:
    """CPU time of this machine's PostgreSQL (every server process, and the backends
    that exited, through the postmaster's reaped-children times) and redis-server
    processes. Differences of two readings give what the services spent in between,
    for everyone using them."""
    out = {"postgres": 0.0, "redis": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        line = cmdline(int(entry.name))
        kind = (
            "postgres"
            if line.startswith(("postgres", "/usr/lib/postgresql/"))
            else "redis"
            if line.startswith(("redis-server", "/usr/bin/redis-server"))
            else None
        )
        if kind is None:
            continue
        fields = _stat_fields(f"{entry}/stat")
        if fields is None:
            continue
        seconds = int(fields[11]) + int(fields[12])
        if kind == "postgres" and " -D " in f" {line} ":
            seconds += int(fields[13]) + int(fields[14])  # the postmaster: reaped backends
        out[kind] += seconds / CLK_TCK
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def busy_percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    busy = after[0] - before[0]
    total = after[1] - before[1]
    return round(100.0 * busy / total, 1) if total else 0.0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _server_version(cmd: list[str]) -> str | None:
    if not shutil.which(cmd[0]):
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    return None


def machine() -> dict[str, Any]:
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
        "packages": {
            name: _version(name)
            for name in (
                "Django",
                "channels",
                "channels-redis",
                "redis",
                "uvicorn",
                "daphne",
                "uvloop",
                "websockets",
                "psycopg",
            )
        },
        "postgres": _server_version(["psql", "--version"]),
        "redis": _server_version(["redis-server", "--version"]),
    }


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- figures


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(values_seconds: Iterable[float]) -> dict[str, Any]:
    """p50/p95/p99/max (milliseconds, 2 decimals) and the count."""
    values = sorted(values_seconds)
    out: dict[str, Any] = {"n": len(values)}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        v = percentile(values, q)
        out[name] = None if v is None else round(v * 1000, 2)
    out["max"] = round(values[-1] * 1000, 2) if values else None
    out["mean"] = round(sum(values) / len(values) * 1000, 2) if values else None
    return out


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain text table (also valid Markdown)."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join([line, rule, *body])


def write_json(path: str | os.PathLike | None, data: dict[str, Any]) -> None:
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"wrote {path}")


# -------------------------------------------------------------------------- profiles

# What a worker's threads spend their samples on (py-spy raw output, --threads --idle).
# First matching rule wins; rules look at the whole stack (inclusive) or the leaf frame.
DB_THREAD_RULES = [
    ("notify: waiting for the Redis publish", "stack", ("notify.py",)),
    ("idle: waiting for work", "leaf", ("_worker (concurrent/futures/thread.py",)),
    ("idle: waiting for work", "idlequeue", ("Queue.get (queue.py",)),
    ("apply_op: waiting for PostgreSQL", "apply_op+leaf", ("psycopg/",)),
    ("apply_op: Python (Django ORM, services, OT)", "stack", ("apply_op (ipplan/live",)),
    ("change_events: waiting for PostgreSQL", "change_events+leaf", ("psycopg/",)),
    ("change_events: Python", "stack", ("change_events (ipplan/live",)),
    ("recheck (each socket, every 30 s): PostgreSQL", "recheck+leaf", ("psycopg/",)),
    ("recheck (each socket, every 30 s): Python", "stack", ("recheck (ipplan/live",)),
    ("poll (each process, every 2 s)", "stack", ("poll (ipplan/live",)),
    ("meeting state re-read", "stack", ("meeting_for_socket", "meeting_state")),
    ("join / snapshot", "stack", ("join (ipplan/live", "snapshot (ipplan/live")),
    ("other", "stack", ("",)),
]
# The consumer runs inside uvicorn's run_asgi, so "uvicorn/protocols" is in every
# consumer stack: the WebSocket protocol's rule looks at the innermost frame of a known
# package only ("inner"), or it would count all the consumer's work as framing (which
# the summaries up to session 9 did).
LOOP_THREAD_RULES = [
    ("idle (event loop waiting, or inside uvloop's C code)", "leafonly", ("Runner.run",)),
    # psycopg runs on the loop only for the fast lane (some sampled stacks lack the
    # lane's own frame: py-spy --nonblocking reads a running stack).
    (
        "fast lane (ipplan/live/fastlane.py, with psycopg)",
        "stack",
        ("ipplan/live/fastlane", "psycopg/"),
    ),
    ("frame validation (jsonschema)", "stack", ("jsonschema/",)),
    ("channel layer (channels_redis, redis-py)", "stack", ("channels_redis/", "redis/")),
    ("JSON encode/decode", "stack", ("json/",)),
    (
        "WebSocket protocol (uvicorn/websockets/daphne)",
        "inner",
        ("websockets/", "daphne/", "autobahn/", "twisted/", "uvicorn/protocols"),
    ),
    ("consumer and Channels dispatch", "stack", ("ipplan/", "channels/")),
    ("other", "stack", ("",)),
]
# Packages whose frames decide "inner": the innermost frame from one of these.
_KNOWN_PACKAGES = (
    "websockets/",
    "daphne/",
    "autobahn/",
    "twisted/",
    "uvicorn/",
    "ipplan/",
    "channels/",
    "channels_redis/",
    "psycopg/",
    "django/",
    "redis/",
)


def _classify(stack: list[str], rules: list[tuple]) -> str:
    text = ";".join(stack)
    leaf = stack[-1] if stack else ""
    for label, how, needles in rules:
        if how == "leaf" and any(n in leaf for n in needles):
            return label
        if how == "leafonly" and any(leaf.startswith(n) for n in needles):
            return label
        if how == "stack" and any(n in text for n in needles):
            return label
        if how == "inner":
            inner = next((f for f in reversed(stack) if any(p in f for p in _KNOWN_PACKAGES)), "")
            if any(n in inner for n in needles):
                return label
        if how == "idlequeue" and any(n in f for f in stack[-3:] for n in needles):
            return label
        if "+leaf" in how:
            scope = how.split("+")[0]
            if f"{scope} (ipplan/live" in text and any(n in leaf for n in needles):
                return label
    return "other"


def summarise_profile(path: str | os.PathLike) -> dict[str, Any]:
    """Per kind of thread (the database thread(s), summed; the event loop): its share
    of samples by activity (see the rules above)."""
    per_thread: dict[str, collections.Counter] = {}
    kinds: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text:
            continue
        frames = stack_text.split(";")
        name = frames[0].split(":", 1)[-1].strip()
        if name.startswith(("ThreadPoolExecutor", "bench-db", "ipplan-live-db")):
            kind = "db"  # database_sync_to_async's thread(s), summed over the pool
        elif name == "MainThread":
            kind = "loop"  # the event loop: sockets, Channels, the channel layer
        else:
            continue  # uvicorn's supervisor ping thread and other helpers: never busy
        rules = DB_THREAD_RULES if kind == "db" else LOOP_THREAD_RULES
        label = _classify(frames[1:], rules)
        per_thread.setdefault(frames[0], collections.Counter())[label] += int(count)
        kinds[frames[0]] = kind
    threads: dict[str, collections.Counter] = {}
    for thread, counter in per_thread.items():
        busy = sum(v for k, v in counter.items() if not k.startswith("idle: waiting for work"))
        if kinds[thread] == "db" and busy < 0.01 * sum(counter.values()):
            continue  # a database thread that never ran anything (e.g. an unused default)
        threads.setdefault(kinds[thread], collections.Counter()).update(counter)
    out = {}
    for kind, counter in threads.items():
        total = sum(counter.values())
        out[kind] = {
            "samples": total,
            "percent": {k: round(100 * v / total, 1) for k, v in counter.most_common()},
        }
    return out
