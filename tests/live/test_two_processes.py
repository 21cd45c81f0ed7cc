"""Scale-out: two real ASGI server processes (daphne) on one PostgreSQL and one Redis.

An edit through process A reaches a client of process B; an edit through a form (this
test process, the services directly) reaches both; and two people typing into the same
field through different processes at the same time converge on one text that keeps
every character of both. Needs Redis (REDIS_URL): without it there is no shared
channel layer, which is the point of the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from ipplan.live import ot
from ipplan.plans import services
from ipplan.plans.models import Change, Goal, Plan
from tests.live.conftest import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the two-process test needs PostgreSQL (DATABASE_URL)")
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Two daphne processes on free ports, sharing the test database and Redis (started
    once for this module: each test still gets its own plan and data)."""
    tmp_path = tmp_path_factory.mktemp("daphne")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("the two-process test needs Redis (REDIS_URL)")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ipplan.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "IPPLAN_HTTPS": "0",
        "PYTHONPATH": str(ROOT),
    }
    daphne = str(Path(sys.executable).with_name("daphne"))
    ports, processes = [], []
    for name in ("a", "b"):
        port = _free_port()
        log = open(tmp_path / f"daphne-{name}.log", "wb")  # noqa: SIM115 - closed below
        command = [
            daphne,
            "-b", "127.0.0.1",
            "-p", str(port),
            "--websocket-max-message-size", "1048576",
            # A reconnect storm waits for session lookups before the handshake ends.
            "--websocket_connect_timeout", "30",
            "ipplan.asgi:application",
        ]  # fmt: skip
        processes.append(
            (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log)
        )
        ports.append(port)
    try:
        for port, (process, _) in zip(ports, processes, strict=True):
            _wait_for_port(port, process, tmp_path)
        yield ports
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


@pytest.fixture
def live_servers(servers, live_db):
    """The servers, and after the test, a wait until they have finished the work its
    sockets started (joins still queued, watchers): the database flush that follows
    would otherwise deadlock with them."""
    yield servers
    deadline = time.monotonic() + 120
    quiet_since = None
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            busy = cursor.fetchone()[0]
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.2)


def _wait_for_port(port: int, process: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded CI machine starts Django slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
            raise AssertionError(f"daphne exited:\n{logs[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"daphne did not listen on {port}")


class Typist:
    """A minimal real-network client for one text field: one op in flight, incoming
    ops transformed against pending ones (docs/protocol.md, "Text fields")."""

    def __init__(self, ws, key: tuple, alphabet: str) -> None:
        self.ws = ws
        self.key = key  # (target, id, field)
        self.alphabet = alphabet
        self.text = ""
        self.rev = 0
        self.pending: list[tuple[str, list]] = []  # (op_id, op relative to the chain)
        self.in_flight: str | None = None
        self.received: list[dict] = []

    async def start(self) -> None:
        snapshot = json.loads(await self.ws.recv())
        assert snapshot["type"] == "snapshot"
        target, obj_id, field = self.key
        goal = next(g for g in snapshot["plan"]["goals"] if g["id"] == obj_id)
        self.text, self.rev = goal[field], snapshot["rev"]

    def local(self) -> str:
        text = self.text
        for _, op in self.pending:
            text = ot.apply(text, op)
        return text

    def type_some(self, rng: random.Random) -> None:
        local = self.local()
        pos = rng.randint(0, len(local))
        chars = "".join(rng.choice(self.alphabet) for _ in range(rng.randint(1, 3)))
        self.pending.append((uuid.uuid4().hex, ot.normalize([pos, chars, len(local) - pos])))

    async def pump(self) -> None:
        if self.in_flight is None and self.pending:
            op_id, op = self.pending[0]
            missing = len(self.text) - ot.base_length(op)
            full = op + ([missing] if missing > 0 else [])
            target, obj_id, field = self.key
            frame = {
                "type": "op",
                "op_id": op_id,
                "base_rev": self.rev,
                "op": {"type": "text", "target": target, "id": obj_id, "field": field, "ops": full},
            }
            self.in_flight = op_id
            await self.ws.send(json.dumps(frame, ensure_ascii=False))

    def handle(self, message: dict) -> None:
        self.received.append(message)
        if message["type"] not in {"op", "ack"}:
            assert message["type"] in {"presence", "meeting", "pong"}, message
            return
        assert message["rev"] == self.rev + 1, (message["rev"], self.rev)
        self.rev = message["rev"]
        op = message["op"]
        if self.in_flight == message["op_id"]:
            self.pending.pop(0)
            self.text = ot.apply(self.text, op["ops"])
            self.in_flight = None
            return
        if (op["type"], op["target"], op.get("id"), op.get("field")) != ("text", *self.key):
            return
        incoming = op["ops"]
        for index, (op_id, pending) in enumerate(self.pending):
            incoming, transformed = ot.transform(incoming, pending, a_first=True)
            self.pending[index] = (op_id, transformed)
        self.text = ot.apply(self.text, op["ops"])

    async def read_until(self, rev: int, timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while self.rev < rev:
                self.handle(json.loads(await self.ws.recv()))
                await self.pump()


async def _connect(port: int, plan_id: int, cookie: str):
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://127.0.0.1:{port}/ws/plans/{plan_id}/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={cookie}"},
        max_size=2**20,
    )


async def test_an_edit_through_one_process_reaches_a_client_of_the_other(
    live_servers, plan, coordinator, specialist
):
    port_a, port_b = live_servers
    kari_cookie = await database_sync_to_async(session_cookie)(coordinator)
    siv_cookie = await database_sync_to_async(session_cookie)(specialist)
    goal = await database_sync_to_async(Goal.objects.get)(plan=plan)
    kari = await _connect(port_a, plan.pk, kari_cookie)
    siv = await _connect(port_b, plan.pk, siv_cookie)
    try:
        for ws in (kari, siv):
            assert json.loads(await ws.recv())["type"] == "snapshot"
        op_id = uuid.uuid4().hex
        await kari.send(
            json.dumps(
                {
                    "type": "op",
                    "op_id": op_id,
                    "base_rev": plan.revision,
                    "op": {
                        "type": "set",
                        "target": "goal",
                        "id": goal.pk,
                        "field": "status",
                        "value": "achieved",
                    },
                }
            )
        )
        seen = await _next_change(siv)
        assert (seen["type"], seen["op_id"], seen["rev"]) == ("op", op_id, plan.revision + 1)
        assert (await _next_change(kari))["type"] == "ack"

        # A form edit in a third process (this one) reaches both servers' clients.
        await database_sync_to_async(services.object_update)(
            plan_id=plan.pk, user=coordinator, target="goal", target_id=goal.pk,
            values={"status": "revised"},
        )  # fmt: skip
        for ws in (kari, siv):
            change = await _next_change(ws)
            assert (change["rev"], change["op"]["value"]) == (plan.revision + 2, "revised")
    finally:
        await kari.close()
        await siv.close()


async def _next_change(ws, timeout: float = 10) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] in {"op", "ack"}:
                return message


async def test_concurrent_typing_through_both_processes_converges(
    live_servers, plan, coordinator, specialist
):
    port_a, port_b = live_servers
    goal = await database_sync_to_async(Goal.objects.get)(plan=plan)
    key = ("goal", goal.pk, "text")
    typists = []
    for port, user, alphabet in (
        (port_a, coordinator, "ABCDEFGH"),
        (port_b, specialist, "æøåxyzqw"),
    ):
        cookie = await database_sync_to_async(session_cookie)(user)
        typist = Typist(await _connect(port, plan.pk, cookie), key, alphabet)
        await typist.start()
        typists.append(typist)
    try:
        rng = random.Random(20261124)

        async def type_(typist: Typist) -> None:
            for _ in range(25):
                typist.type_some(rng)
                await typist.pump()
                # Read whatever has arrived, without waiting for the other typist.
                try:
                    async with asyncio.timeout(rng.uniform(0.0, 0.03)):
                        while True:
                            typist.handle(json.loads(await typist.ws.recv()))
                            await typist.pump()
                except TimeoutError:
                    pass

        await asyncio.gather(*(type_(t) for t in typists))
        # Let everything in flight land, then read up to the final revision.
        async with asyncio.timeout(30):
            while any(t.pending for t in typists):
                for typist in typists:
                    if typist.pending:
                        try:
                            async with asyncio.timeout(0.05):
                                typist.handle(json.loads(await typist.ws.recv()))
                        except TimeoutError:
                            pass
                        await typist.pump()
        final = (await database_sync_to_async(Plan.objects.get)(pk=plan.pk)).revision
        for typist in typists:
            await typist.read_until(final)
        text = (await database_sync_to_async(Goal.objects.get)(pk=goal.pk)).text
        assert typists[0].text == typists[1].text == text
        # Both people's characters are all there, and each op is in the log once.
        for typist in typists:
            acked = [m["op_id"] for m in typist.received if m["type"] == "ack"]
            assert len(acked) == 25
            typed = sum(1 for c in text if c in typist.alphabet)
            before = sum(1 for c in goal.text if c in typist.alphabet)
            assert typed - before == sum(
                len(c)
                for m in typist.received
                if m["type"] == "ack"
                for c in m["op"]["ops"]
                if isinstance(c, str)
            )
            logged = await database_sync_to_async(
                lambda ids=acked: Change.objects.filter(plan=plan, op_id__in=ids).count()
            )()
            assert logged == 25
    finally:
        for typist in typists:
            await typist.ws.close()


async def test_a_burst_of_connects_to_one_process_all_succeed(live_servers, plan, reader):
    """More simultaneous connects than redis-py's default pool of 100 (the layer's
    max_connections is raised in the settings)."""
    port_a, _ = live_servers
    cookie = await database_sync_to_async(session_cookie)(reader)

    async def one():
        ws = await _connect(port_a, plan.pk, cookie)
        try:
            async with asyncio.timeout(120):
                return json.loads(await ws.recv())["type"]
        finally:
            await ws.close()

    kinds = await asyncio.gather(*(one() for _ in range(110)), return_exceptions=True)
    assert kinds == ["snapshot"] * 110, [k for k in kinds if k != "snapshot"][:3]
