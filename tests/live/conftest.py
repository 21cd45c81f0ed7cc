"""Helpers for the live socket tests: logged-in sockets against the real ASGI router
(origin validation, session auth, routing), the channel layer the settings choose
(Redis pub/sub when REDIS_URL is set, in-memory otherwise), and transactional test
databases (the consumer reads and writes from another thread, so data must commit)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connection, connections, transaction
from django.test import Client
from pytest_django.plugin import blocking_manager_key

from ipplan.live import consumers, protocol
from tests.db_support import allow_flush, restore_append_only

ORIGIN = b"http://testserver"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield  # the item's fixtures are finalised here (including the flush)
    # After the last test the test database is already gone.
    if nextitem is not None and "live_db" in getattr(item, "fixturenames", ()):
        with item.config.stash[blocking_manager_key].unblock():
            restore_append_only()


@pytest.fixture
def live_db(transactional_db):
    """A transactional database whose flush may empty the append-only access log."""
    restore_append_only()
    yield
    # Consumers ran their queries on asgiref's database thread; make sure nothing there
    # still holds a connection when the database is flushed (and finally dropped).
    consumers.close_db_threads()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
    allow_flush()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The personas' passwords are hashed with the production hasher otherwise: seconds
    # per test, none of it about live editing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_live_state():
    consumers.EVENTS.clear()
    channel_layers.backends.clear()  # a fresh layer per test (and per event loop)
    yield
    consumers.EVENTS.clear()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class Socket:
    """A test client of the live protocol: records everything it receives and checks
    every server message against its schema."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        # Not communicator.receive_output: on a timeout it cancels the application.
        communicator = self.communicator
        if communicator.future.done() and communicator.output_queue.empty():
            communicator.future.result()  # raises what the application raised
            raise AssertionError("the application has stopped")
        output = await asyncio.wait_for(communicator.output_queue.get(), timeout)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code", 1000)
            return {"type": "__closed__", "code": self.close_code}
        message = json.loads(output["text"])
        errors = protocol.server_message_errors(message)
        assert not errors, (message, errors)
        self.received.append(message)
        return message

    async def expect(self, kind: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The next message of `kind` (matching `match`), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} {match} within {timeout}s")
            message = await self.receive(remaining)
            if message["type"] == "__closed__":
                raise AssertionError(f"closed with {self.close_code} while waiting for {kind}")
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    async def expect_close(self, timeout: float = 5) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.close_code is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"not closed within {timeout}s")
            await self.receive(remaining)
        return self.close_code

    async def until_rev(self, rev: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Receive until an op/ack (or ops) with revision `rev` has arrived; return the
        op and ack messages received so far, flattened."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.last_rev() < rev:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"revision {rev} not seen within {timeout}s")
            message = await self.receive(remaining)
            if message["type"] == "__closed__":
                raise AssertionError(f"closed with {self.close_code} before revision {rev}")
        return self.changes()

    def changes(self) -> list[dict[str, Any]]:
        flat: list[dict[str, Any]] = []
        for message in self.received:
            if message["type"] in {"op", "ack"}:
                flat.append(message)
            elif message["type"] == "ops":
                flat.extend(message["ops"])
        return flat

    def last_rev(self) -> int:
        last = 0
        for message in self.received:
            if message["type"] in {"op", "ack", "snapshot", "ops"}:
                last = max(last, message["rev"])
        return last

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within `seconds` (nothing more expected)."""
        got = []
        try:
            while True:
                message = await self.receive(seconds)
                if message["type"] == "__closed__":
                    return got
                got.append(message)
        except TimeoutError:
            return got

    async def close(self) -> None:
        await self.communicator.disconnect()


class SocketFactory:
    def __init__(self) -> None:
        self.sockets: list[Socket] = []
        self.cookies: dict[int, str] = {}

    async def cookie_for(self, user) -> str:
        if user.pk not in self.cookies:
            self.cookies[user.pk] = await database_sync_to_async(session_cookie)(user)
        return self.cookies[user.pk]

    async def open(
        self,
        user,
        plan_id: int,
        *,
        meeting: int | None = None,
        since: int | None = None,
        origin: bytes | None = ORIGIN,
        cookie: str | None = None,
        expect_snapshot: bool = True,
    ) -> Socket:
        from ipplan.asgi import application

        query = []
        if meeting is not None:
            query.append(f"meeting={meeting}")
        if since is not None:
            query.append(f"since={since}")
        path = f"/ws/plans/{plan_id}/" + ("?" + "&".join(query) if query else "")
        headers = [(b"host", b"testserver")]
        if origin is not None:
            headers.append((b"origin", origin))
        if user is not None or cookie is not None:
            cookie = cookie or await self.cookie_for(user)
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        socket = Socket(communicator)
        connected, code = await communicator.connect(timeout=10)
        if not connected:
            socket.close_code = code
            socket.refused = True
            return socket
        socket.refused = False
        self.sockets.append(socket)
        if expect_snapshot:
            await socket.expect("snapshot", timeout=10)
        return socket

    async def close_all(self) -> None:
        for socket in self.sockets:
            with contextlib.suppress(Exception, asyncio.CancelledError):  # closed already
                await socket.close()


@pytest.fixture
async def sockets(live_db):
    factory = SocketFactory()
    yield factory
    await factory.close_all()


def text_op(obj_id: int, target: str, field: str, ops: list, base_rev: int, op_id: str) -> dict:
    return {
        "type": "op",
        "op_id": op_id,
        "base_rev": base_rev,
        "op": {"type": "text", "target": target, "id": obj_id, "field": field, "ops": ops},
    }


@contextlib.asynccontextmanager
async def plan_lock_held(work: Callable[[], Any]) -> AsyncIterator[None]:
    """Run `work` (which takes the plan's row lock) in a transaction on another thread
    and connection, and keep that transaction open until the block ends: writers that
    come meanwhile queue on the lock, as they do behind a busy writer."""
    locked, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                work()
                locked.set()
                release.wait(30)
        except BaseException as exc:  # reported to the test below
            failed.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(locked.wait, 10), "the plan lock was not taken"
        if failed:
            raise failed[0]
        yield
    finally:
        release.set()
        await asyncio.to_thread(thread.join, 10)


async def until_lock_waiters(n: int) -> None:
    """Wait until `n` sessions of the test database wait for a lock (PostgreSQL)."""

    def waiting() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0]

    for _ in range(400):
        if await database_sync_to_async(waiting)() >= n:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"fewer than {n} writers waiting for the plan lock")
