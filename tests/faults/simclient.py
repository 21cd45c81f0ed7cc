"""A protocol-level client over a real WebSocket, behaving like the meeting room in the
browser (static/js/meeting/*, docs/protocol.md):

* reconnects with exponential backoff and full jitter, the formula of
  connection.js `backoffDelay` (checked against it with node in test_reconnect_storm);
* after a reconnect it resumes with `since=<rev>`, applies the `ops` reply (an op with
  one of its pending op ids counts as that op's ack), then resends still-pending ops
  with their original op id and base revision;
* one OT client per text field: synchronised -> awaiting ack -> awaiting with buffer;
  keystrokes are composed into the buffer and sent every ~150 ms; incoming ops are
  transformed against the pending ones (the server's op wins ties);
* a revision gap (rev > last + 1) sends `sync` and ignores ops until the reply;
* `unavailable`, `rate_limited` and `conflict` errors keep the op and resend it later.

Behind the endpoints stands a simulated load balancer: a connection refused by one
worker process is tried on the next, as nginx does with its upstreams.

What the client types is recognisable: every edit inserts one token `[<client>-<n>]`
at a token boundary, so the tests can count each edit in the final text (lost: 0 times,
duplicated: more than once).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import json
import random
import re
import time
import uuid
from typing import Any

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ipplan.live import ot
from ipplan.live.snapshot import apply_event

BASE_DELAY = 0.5  # connection.js: BASE_DELAY = 500 ms
MAX_DELAY = 30.0  # connection.js: MAX_DELAY = 30000 ms
FLUSH_EVERY = 0.15  # keystrokes are composed and sent every 100-200 ms
FINAL_CLOSE = {4401, 4403, 4404}  # the browser stops reconnecting on these
TOKEN = re.compile(r"\[[A-Za-z0-9_.-]+\]")

FieldKey = tuple[str, int, str]  # (target, id, field)


def backoff_delay(attempt: int, rnd: float | None = None) -> float:
    """Seconds before reconnect attempt `attempt` (0-based): uniform in [d/2, d] with
    d = 0.5 s * 2**attempt, at most 30 s. Same as connection.js backoffDelay (in ms,
    rounded there)."""
    d = min(MAX_DELAY, BASE_DELAY * 2 ** min(attempt, 16))
    r = random.random() if rnd is None else rnd
    return d / 2 + r * (d / 2)


def field_text(state: dict[str, Any] | None, key: FieldKey) -> str | None:
    if state is None:
        return None
    target, obj_id, name = key
    if target == "plan":
        return state.get(name) or ""
    for obj in state[target + "s"]:
        if obj["id"] == obj_id:
            return obj.get(name) or ""
    return None


class Pending:
    """A sent text op: the frame as sent (resent unchanged) and its local version,
    transformed as other people's ops arrive."""

    def __init__(self, frame: dict[str, Any], local: list, tokens: list[str]) -> None:
        self.frame = frame
        self.op_id: str = frame["op_id"]
        self.local = local
        self.tokens = tokens
        self.retries = 0


class Field:
    def __init__(self, key: FieldKey) -> None:
        self.key = key
        self.inflight: Pending | None = None
        self.buffer: list | None = None
        self.buffer_tokens: list[str] = []

    def local_text(self, committed: str) -> str:
        text = committed
        if self.inflight is not None:
            text = ot.apply(text, self.inflight.local)
        if self.buffer is not None:
            text = ot.apply(text, self.buffer)
        return text

    def transform_incoming(self, incoming: list) -> None:
        if self.inflight is not None:
            incoming, self.inflight.local = ot.transform(
                incoming, self.inflight.local, a_first=True
            )
        if self.buffer is not None:
            incoming, self.buffer = ot.transform(incoming, self.buffer, a_first=True)


class Endpoints:
    """The load balancer: a fixed preference per client, the next one if refused."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.down: set[str] = set()


class SimClient:
    def __init__(
        self,
        name: str,
        *,
        endpoints: Endpoints,
        prefer: int,
        plan_id: int,
        meeting_id: int | None,
        cookie: str,
        fields: list[FieldKey],
        seed: int,
        typing_interval: tuple[float, float] = (0.15, 0.4),
    ) -> None:
        self.name = name
        self.endpoints = endpoints
        self.prefer = prefer
        self.plan_id = plan_id
        self.meeting_id = meeting_id
        self.cookie = cookie
        self.fields = {key: Field(key) for key in fields}
        self.rng = random.Random(seed)
        self.typing_interval = typing_interval

        self.state: dict[str, Any] | None = None
        self.rev = 0
        self.syncing = False
        self.resend_after_catch_up = False
        self.ws: Any = None
        self.server: str | None = None  # which worker serves the open socket
        self.ready = asyncio.Event()
        self.stopped = False
        self.typing = False
        self.attempt = 0
        self.ghosts: dict[str, Pending] = {}  # sent, then a snapshot replaced the state
        self.tasks: list[asyncio.Task] = []
        self.seq = 0

        # What happened, for the checks and the figures.
        self.typed: list[str] = []
        self.op_tokens: dict[str, list[str]] = {}
        self.acked: dict[str, float] = {}  # op id -> when
        self.acked_rev: dict[str, int] = {}  # op id -> its revision
        self.acked_twice: list[str] = []
        self.attempts: list[float] = []  # monotonic time of each connection attempt
        self.opens: list[tuple[float, str]] = []
        self.caught_up: list[float] = []  # when each socket had the state (snapshot/ops)
        self.closes: list[tuple[float, int | None]] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.error_frames: list[dict[str, Any]] = []
        self.seen_at: dict[int, float] = {}  # revision -> when it reached this client
        self.received: collections.Counter[str] = collections.Counter()
        self.snapshots = 0
        self.gaps = 0
        self.problems: list[str] = []
        self.final_close: int | None = None

    # ------------------------------------------------------------------- lifecycle

    def start(self, *, typing: bool = False) -> None:
        self.typing = typing
        self.tasks = [
            asyncio.ensure_future(self._run()),
            asyncio.ensure_future(self._flusher()),
            asyncio.ensure_future(self._typist()),
        ]

    async def stop(self) -> None:
        self.stopped = True
        self.typing = False
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _url(self, base: str) -> str:
        query = []
        if self.meeting_id is not None:
            query.append(f"meeting={self.meeting_id}")
        if self.state is not None:
            query.append(f"since={self.rev}")
        return f"{base}/ws/plans/{self.plan_id}/" + ("?" + "&".join(query) if query else "")

    async def _open(self) -> Any:
        """One connection attempt through the load balancer; None if it failed."""
        bases = self.endpoints.bases
        order = [bases[(self.prefer + i) % len(bases)] for i in range(len(bases))]
        for base in order:
            origin = base.replace("ws://", "http://")
            try:
                ws = await connect(
                    self._url(base),
                    origin=origin,
                    additional_headers={"Cookie": f"sessionid={self.cookie}"},
                    open_timeout=10,
                    close_timeout=2,
                    max_size=2**23,
                    ping_interval=20,
                    ping_timeout=20,
                )
            except (ConnectionRefusedError, ConnectionResetError):
                continue  # the balancer tries the next worker
            except (InvalidStatus, InvalidHandshake, OSError, TimeoutError, EOFError) as exc:
                self.errors[f"handshake:{type(exc).__name__}"] += 1
                return None
            self.server = base
            return ws
        self.errors["handshake:refused"] += 1
        return None

    async def _run(self) -> None:
        while not self.stopped:
            self.attempts.append(time.monotonic())
            ws = await self._open()
            if ws is None:
                await asyncio.sleep(backoff_delay(self.attempt))
                self.attempt += 1
                continue
            # Like connection.js, the backoff starts over only when the first frame
            # arrives (in _session), not on open: the server may accept a socket and
            # close it at once (1011 while the database is down at join).
            self.opens.append((time.monotonic(), self.server or ""))
            await self._session(ws)
            code = ws.close_code
            self.closes.append((time.monotonic(), code))
            if self.stopped:
                return
            if code in FINAL_CLOSE:
                self.final_close = code
                self.problems.append(f"closed for good with {code}")
                return
            if code == 4429:
                self.attempt = max(self.attempt, 4)
            await asyncio.sleep(backoff_delay(self.attempt))
            self.attempt += 1

    async def _session(self, ws: Any) -> None:
        self.ws = ws
        self.syncing = self.state is not None  # the `ops` reply is on its way
        self.resend_after_catch_up = self.state is not None
        try:
            async for raw in ws:
                self.attempt = 0  # a frame: the server joined us (see _run)
                outbox: list[dict] = []
                try:
                    self.handle(json.loads(raw), outbox)
                except Exception as exc:  # a client bug or a protocol violation
                    self.problems.append(f"{type(exc).__name__}: {exc}")
                    raise
                for frame in outbox:
                    await self._send(frame)
        except ConnectionClosed:
            pass
        finally:
            self.ws = None
            self.ready.clear()

    async def _send(self, frame: dict[str, Any]) -> bool:
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(frame, ensure_ascii=False))
        except ConnectionClosed:
            return False
        return True

    # ------------------------------------------------------------------- receiving

    def handle(self, message: dict[str, Any], outbox: list[dict]) -> None:
        kind = message["type"]
        self.received[kind] += 1
        if kind == "snapshot":
            self._snapshot(message, outbox)
        elif kind == "ops":
            self.syncing = False
            for item in message["ops"]:
                self._change(item, outbox)
            self._caught_up(outbox)
        elif kind in {"op", "ack"}:
            if not self.syncing:
                self._change(message, outbox)
        elif kind == "error":
            self._error(message, outbox)

    def _snapshot(self, message: dict[str, Any], outbox: list[dict]) -> None:
        self.snapshots += 1
        self.state = copy.deepcopy(message["plan"])
        self.rev = message["rev"]
        self.syncing = False
        retype: list[tuple[FieldKey, str]] = []
        for field in self.fields.values():
            # What was sent may or may not be in the snapshot: resend it unchanged, the
            # server applies it at most once and its ack tells which.
            if field.inflight is not None:
                self.ghosts[field.inflight.op_id] = field.inflight
                field.inflight = None
            # Unsent keystrokes were relative to the old state: type them again.
            retype += [(field.key, token) for token in field.buffer_tokens]
            field.buffer, field.buffer_tokens = None, []
        for key, token in retype:
            self._insert(key, token, at_end=True)
        self.resend_after_catch_up = True
        self._caught_up(outbox)

    def _caught_up(self, outbox: list[dict]) -> None:
        if not self.ready.is_set():
            self.caught_up.append(time.monotonic())
        self.ready.set()
        if self.resend_after_catch_up:
            self.resend_after_catch_up = False
            for field in self.fields.values():
                if field.inflight is not None:
                    outbox.append(field.inflight.frame)
            outbox.extend(p.frame for p in self.ghosts.values())

    def _change(self, message: dict[str, Any], outbox: list[dict]) -> None:
        rev, op_id, op = message["rev"], message["op_id"], message["op"]
        if op_id in self.op_tokens:
            if op_id in self.acked and rev > self.rev:
                self.acked_twice.append(op_id)
            if op_id not in self.acked:
                self.acked[op_id] = time.monotonic()
                self.acked_rev[op_id] = rev
        if rev <= self.rev:
            self.ghosts.pop(op_id, None)  # already in the state
            return
        if rev != self.rev + 1:
            self.gaps += 1
            self.syncing = True
            outbox.append({"type": "sync", "since": self.rev})
            return
        own = next(
            (f for f in self.fields.values() if f.inflight and f.inflight.op_id == op_id), None
        )
        if own is not None:
            own.inflight = None
        else:
            self.ghosts.pop(op_id, None)
            if op["type"] == "text":
                field = self.fields.get((op["target"], op["id"], op["field"]))
                if field is not None:
                    field.transform_incoming(op["ops"])
        apply_event(self.state, op)
        self.rev = rev
        self.seen_at[rev] = time.monotonic()

    def _error(self, message: dict[str, Any], outbox: list[dict]) -> None:
        code, op_id = message["code"], message["op_id"]
        self.errors[code] += 1
        self.error_frames.append(message)
        if code in {"unavailable", "rate_limited", "conflict"}:
            pending = self._pending(op_id)
            if pending is not None:
                pending.retries += 1
                delay = min(5.0, 0.25 * 2 ** min(pending.retries, 5)) * self.rng.uniform(0.5, 1)
                asyncio.get_running_loop().call_later(
                    delay, lambda: asyncio.ensure_future(self._resend(pending))
                )
            return
        self.problems.append(f"refused: {message}")

    def _pending(self, op_id: str | None) -> Pending | None:
        if op_id is None:
            return None
        for field in self.fields.values():
            if field.inflight is not None and field.inflight.op_id == op_id:
                return field.inflight
        return self.ghosts.get(op_id)

    async def _resend(self, pending: Pending) -> None:
        still = self._pending(pending.op_id) is pending
        if still and not self.syncing and self.ready.is_set():
            await self._send(pending.frame)

    # --------------------------------------------------------------------- editing

    def _insert(self, key: FieldKey, token: str, at_end: bool = False) -> bool:
        field = self.fields[key]
        committed = field_text(self.state, key)
        if committed is None:
            return False
        text = field.local_text(committed)
        # Only between tokens, so that no edit splits another one.
        boundaries = [0, len(text)] + [m.end() for m in TOKEN.finditer(text)]
        pos = len(text) if at_end else self.rng.choice(boundaries)
        op = ot.normalize([pos, token, len(text) - pos])
        field.buffer = op if field.buffer is None else ot.compose(field.buffer, op)
        field.buffer_tokens.append(token)
        return True

    def type_one(self) -> str | None:
        if self.state is None:
            return None
        self.seq += 1
        token = f"[{self.name}-{self.seq}]"
        key = self.rng.choice(list(self.fields))
        if not self._insert(key, token):
            return None
        self.typed.append(token)
        return token

    async def _typist(self) -> None:
        while not self.stopped:
            await asyncio.sleep(self.rng.uniform(*self.typing_interval))
            if self.typing:
                self.type_one()

    async def flush(self) -> None:
        """Send each field's buffer if nothing is in flight on that field."""
        if self.ws is None or self.syncing or not self.ready.is_set():
            return
        for field in self.fields.values():
            if field.inflight is not None or field.buffer is None:
                continue
            committed = field_text(self.state, field.key)
            if committed is None:
                continue
            ops = ot.normalize(field.buffer)
            missing = len(committed) - ot.base_length(ops)
            if missing > 0:
                ops = [*ops, missing]  # the op spans the whole field at base_rev
            target, obj_id, name = field.key
            frame = {
                "type": "op",
                "op_id": uuid.uuid4().hex,
                "base_rev": self.rev,
                "op": {"type": "text", "target": target, "id": obj_id, "field": name, "ops": ops},
            }
            field.inflight = Pending(frame, field.buffer, field.buffer_tokens)
            self.op_tokens[frame["op_id"]] = field.buffer_tokens
            field.buffer, field.buffer_tokens = None, []
            await self._send(frame)

    async def _flusher(self) -> None:
        while not self.stopped:
            await asyncio.sleep(self.rng.uniform(0.1, 0.2))
            await self.flush()

    # ----------------------------------------------------------------------- state

    @property
    def connected(self) -> bool:
        return self.ws is not None and self.ready.is_set()

    def settled(self, revision: int) -> bool:
        return (
            self.connected
            and not self.syncing
            and not self.ghosts
            and all(f.inflight is None and f.buffer is None for f in self.fields.values())
            and self.rev == revision
        )

    def acked_tokens(self) -> list[str]:
        return [t for op_id in self.acked for t in self.op_tokens.get(op_id, [])]


__all__ = ["Endpoints", "SimClient", "backoff_delay", "field_text", "websockets"]
