"""The live plan socket: one per open plan page or meeting room (docs/protocol.md).

The consumer is thin. A frame is size- and rate-checked, parsed and validated
(ipplan.live.protocol), and handed to the services, which authorise, validate, commit
and then notify over the channel layer (ids and revisions only). On "plan.changed"
every socket reads the committed changes it has not sent yet from the database (via a
small per-process cache) and sends them in revision order; its own ops become acks.

Nothing here is needed for correctness across processes: the database is the only
shared state. Notifications are at most once, so each socket also re-checks its
session, its access, the plan revision and its meeting on a timer.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError
from django.utils.translation import gettext as _

from ipplan.live import protocol
from ipplan.live.notify import (
    Message,
    collecting,
    plan_changed_message,
    plan_group,
    session_tag,
    user_group,
)
from ipplan.live.protocol import FrameError
from ipplan.live.snapshot import as_ack_message, as_op_message, change_events

from . import fastlane, handlers
from .dbthreads import _setting, close_db_threads, on_db_thread
from .handlers import OperationError
from .watch import MEETINGS, SOCKETS, stamped

__all__ = ["EVENTS", "PlanConsumer", "close_db_threads", "on_db_thread"]

logger = logging.getLogger(__name__)

SYNC_LIMIT = 2000  # further behind than this, a client gets a snapshot instead of ops
LANE_READ_LIMIT = 50  # a notification's read of more revisions than this: on a thread
PRESENCE_REFRESH = 20.0  # seconds between presence keep-alives
PRESENCE_TTL = 60.0  # a presence entry not refreshed for this long is dropped
WATCH_STEP = 5.0  # seconds between the socket's own timer ticks (see _watch)
REFUSED_WINDOW = 10.0  # seconds in which more than RATE_BURST refused frames close
FRAME_COST = {"sync": 5, "resync": 10}  # snapshots and ranges cost more than one op
SNAPSHOT_GAP = 1.0  # seconds between correcting snapshots after refused ops
_ID = re.compile(r"[0-9]{1,18}")


def _collected(func: Callable[..., Any]) -> Callable[..., tuple[Any, list[Message]]]:
    """`func` with the notifications it commits collected, for PlanConsumer.publish."""

    def run(**kwargs: Any) -> tuple[Any, list[Message]]:
        with collecting() as sink:
            result = func(**kwargs)
        return result, sink

    return run


# ------------------------------------------------------------------- the event cache


class EventCache:
    """Committed changes as protocol events, per (plan, revision), for this process.

    When a change is committed, every socket on the plan in this process is notified
    at once; with the cache they share one database read instead of one each. It is
    only a cache: events are immutable once committed, and a miss reads the database.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._events: collections.OrderedDict[tuple[int, int], dict] = collections.OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def _lock(self, plan_id: int) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): locks are per loop
            self._loop = loop
            self._locks = {}
        if len(self._locks) > 10 * self.size:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(plan_id, asyncio.Lock())

    async def since(self, plan_id: int, after: int, upto: int | None = None) -> list[dict]:
        """Events with revision > after (up to `upto` if the cache has them all)."""
        async with self._lock(plan_id):
            events: list[dict] = []
            rev = after + 1
            while (plan_id, rev) in self._events and len(events) < SYNC_LIMIT:
                events.append(self._events[(plan_id, rev)])
                self._events.move_to_end((plan_id, rev))
                rev += 1
            if upto is not None and rev > upto:
                return events
            fresh = None
            if (
                upto is not None
                and upto - rev < LANE_READ_LIMIT
                and len(events) + LANE_READ_LIMIT < SYNC_LIMIT
            ):
                # A notification's read, mostly one revision: on the event loop's own
                # connection, no database thread (fastlane.read_events says why).
                fresh = await fastlane.read_events(
                    plan_id=plan_id, after=rev - 1, limit=LANE_READ_LIMIT
                )
                if fresh is not None and len(fresh) == LANE_READ_LIMIT:
                    # More may follow: the rest on a database thread, as a long read
                    # decoded on the loop would hold up every socket of the process.
                    self._keep(plan_id, fresh)
                    events += fresh
                    rev = fresh[-1]["rev"] + 1
                    fresh = None
            if fresh is None:
                fresh = await on_db_thread(change_events)(
                    plan_id, rev - 1, SYNC_LIMIT - len(events) + 1
                )
            self._keep(plan_id, fresh)
            return events + fresh

    def _keep(self, plan_id: int, fresh: list[dict]) -> None:
        for event in fresh:
            self._events[(plan_id, event["rev"])] = event
        while len(self._events) > self.size:
            self._events.popitem(last=False)

    def put(self, plan_id: int, event: dict) -> None:
        """An event this process committed itself (so need not read back)."""
        self._events[(plan_id, event["rev"])] = event
        while len(self._events) > self.size:
            self._events.popitem(last=False)

    def clear(self) -> None:
        self._events.clear()


EVENTS = EventCache()


# ------------------------------------------------------------------ the rate limiter


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


# ----------------------------------------------------------------------- the consumer


class PlanConsumer(AsyncWebsocketConsumer):
    """ws/plans/<plan_id>/[?meeting=<id>][&since=<rev>]"""

    # ---------------------------------------------------------------- lifecycle

    async def connect(self) -> None:
        self.closed = False
        self.joined = False
        self.subscribed = False
        self.sent_rev = 0
        self.send_lock = asyncio.Lock()
        # op id -> whether its ack went out on this socket (a snapshot can carry an op
        # before its ack; see on_op).
        self.my_ops: collections.OrderedDict[str, bool] = collections.OrderedDict()
        self.refusals: collections.OrderedDict[str, tuple] = collections.OrderedDict()
        self.you: dict[str, Any] | None = None
        self.meeting_id: int | None = None
        self.attended = False
        self.last_meeting: Any = ...  # nothing sent yet
        self.meeting_read_at = 0.0  # when the read of last_meeting started (watch.stamped)
        self.focus: str | None = None
        self.presence: dict[str, dict[str, Any]] = {}
        self.names: dict[int, str] = {}
        self.bucket = TokenBucket(
            _setting("IPPLAN_LIVE_RATE_PER_SECOND", 50), _setting("IPPLAN_LIVE_RATE_BURST", 200)
        )
        self.refused: collections.deque[float] = collections.deque()
        self.watcher: asyncio.Task | None = None
        self.snapshot_task: asyncio.Task | None = None
        self.last_snapshot = 0.0
        # Accept first, so that refusals reach the client as close codes it can read.
        await self.accept()

        user = self.scope.get("user")
        session = self.scope.get("session")
        if not getattr(user, "is_authenticated", False) or session is None:
            await self.close_with(protocol.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.user_id = user.pk
        self.session_key = session.session_key
        self.plan_id = int(self.scope["url_route"]["kwargs"]["plan_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        meeting = (query.get("meeting") or [""])[0]
        since = (query.get("since") or [""])[0]
        if meeting and not _ID.fullmatch(meeting):
            await self.close_with(protocol.CLOSE_NOT_FOUND)
            return
        self.meeting_id = int(meeting) if meeting else None

        # Subscribe before reading the state, so no change falls between the two.
        # (Until `joined` is set, notifications are ignored: the read covers them.)
        # Without the channel layer (Redis down) the socket still works: the process's
        # poll (watch.py) catches it up every 2 s, and _watch subscribes it later.
        await self.subscribe()
        resume = int(since) if since and _ID.fullmatch(since) else None
        join_started = time.monotonic()
        try:
            joined = await self.write(
                handlers.join,
                plan_id=self.plan_id,
                user=user,
                meeting_id=self.meeting_id,
                since=resume,
            )
        except DatabaseError:
            logger.warning("live join failed for plan %s", self.plan_id, exc_info=True)
            await self.close_with(1011)
            return
        if joined is None:
            await self.close_with(protocol.CLOSE_NOT_FOUND)
            return
        self.you = joined["you"]
        self.meeting_read_at = join_started
        self.names = joined["names"]
        self.attended = joined["attended"]
        self.joined = True
        self.presence[self.channel_name] = self._my_presence()

        async with self.send_lock:
            snapshot = joined.get("snapshot")
            resumed = resume is not None and await self._send_since(
                resume, joined["you"], joined["rev"]
            )
            if resumed:
                self.last_meeting = joined["meeting"]
                await self.send_message({"type": "meeting", "meeting": joined["meeting"]})
                await self._send_presence()
            else:
                await self._send_snapshot_locked(snapshot)
        await self._announce_presence(hello=True)
        SOCKETS.add(self)
        fastlane.warm()
        self.watcher = asyncio.ensure_future(self._watch())

    async def subscribe(self) -> bool:
        try:
            await self.channel_layer.group_add(plan_group(self.plan_id), self.channel_name)
            await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        except Exception as exc:
            logger.warning("live subscribe failed for plan %s: %s", self.plan_id, exc_name(exc))
            return False
        self.subscribed = True
        return True

    async def write(self, func: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a handler that may commit on a database thread, then publish its
        notifications from here (see notify.collecting)."""
        result, messages = await on_db_thread(_collected(func))(**kwargs)
        await self.publish(messages)
        return result

    async def publish(self, messages: list[Message]) -> None:
        for group, message in messages:
            try:
                await self.channel_layer.group_send(group, message)
            except Exception as exc:
                # Committed already; the other sockets' poll finds it within 2 s.
                logger.warning("live notify failed for %s: %s", group, exc_name(exc))

    async def disconnect(self, code: int) -> None:
        self.closed = True
        SOCKETS.discard(self)
        for task in (getattr(self, "watcher", None), getattr(self, "snapshot_task", None)):
            if task is not None:
                task.cancel()
        if getattr(self, "subscribed", False):
            try:
                await self.channel_layer.group_send(
                    plan_group(self.plan_id),
                    {"type": "presence.leave", "channel": self.channel_name},
                )
                await self.channel_layer.group_discard(plan_group(self.plan_id), self.channel_name)
                await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
            except Exception:
                logger.warning("live leave failed for plan %s", self.plan_id, exc_info=True)

    async def close_with(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code=code)

    async def send_message(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            await self.send(text_data=text)
        except Exception as exc:
            # The client went away under us (the server's disconnect event follows).
            logger.info("live send failed (%s); closing", type(exc).__name__)
            self.closed = True

    async def dispatch(self, message: dict) -> None:
        """Like Channels' dispatch, without its per-message close_old_connections hop:
        every database call here goes through on_db_thread, which does that
        itself, and the hop would queue each notification behind database work."""
        kind = message.get("type", "")
        handler = getattr(self, kind.replace(".", "_"), None)
        if handler is None or kind.startswith("_"):
            logger.warning("live: no handler for %r", kind[:40])
            return
        if kind.startswith("websocket."):
            await handler(message)
            return
        try:
            await handler(message)
        except Exception as exc:
            # A notification must never take the socket down (e.g. the client went
            # away while we were sending); the watcher repairs anything missed.
            logger.warning(
                "live: %s failed on plan %s: %s",
                kind,
                getattr(self, "plan_id", None),
                type(exc).__name__,
            )

    # ------------------------------------------------------------ client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed or not self.joined:
            return
        try:
            await self._receive(text_data, bytes_data)
        except Exception:
            # Never let a frame take the socket down with an unhandled exception.
            logger.exception("live frame failed on plan %s", self.plan_id)
            await self.send_error(None, "unavailable", _("Something went wrong; try again."))

    async def _receive(self, text_data: str | None, bytes_data: bytes | None) -> None:
        limit = _setting("IPPLAN_LIVE_MAX_FRAME_BYTES", 256 * 1024)
        size = len(bytes_data) if bytes_data is not None else len(text_data or "")
        if size > limit or (
            text_data is not None and size * 4 > limit and len(text_data.encode()) > limit
        ):
            await self.close_with(protocol.CLOSE_TOO_LARGE)
            return
        if text_data is None:
            await self.send_error(None, "bad_frame", _("Send text frames with JSON messages."))
            return
        kind_hint = _peek_type(text_data)
        if not self.bucket.take(FRAME_COST.get(kind_hint, 1)):
            await self._refuse(text_data)
            return
        try:
            message = protocol.parse_client_frame(text_data)
        except FrameError as exc:
            await self.send_error(exc.op_id, "bad_frame", _("The message was not understood."))
            return
        handler = getattr(self, f"on_{message['type']}")
        await handler(message)

    async def _refuse(self, text_data: str) -> None:
        now = time.monotonic()
        self.refused.append(now)
        while self.refused and self.refused[0] < now - REFUSED_WINDOW:
            self.refused.popleft()
        if len(self.refused) > _setting("IPPLAN_LIVE_RATE_BURST", 200):
            await self.close_with(protocol.CLOSE_RATE_LIMITED)
            return
        await self.send_error(
            _peek_op_id(text_data), "rate_limited", _("Too many messages; slow down and resend.")
        )

    async def send_error(
        self, op_id: str | None, code: str, message: str, field: str | None = None
    ) -> None:
        await self.send_message(
            {"type": "error", "op_id": op_id, "code": code, "message": message, "field": field}
        )

    async def on_ping(self, message: dict) -> None:
        await self.send_message({"type": "pong"})

    async def on_op(self, message: dict) -> None:
        op_id = message["op_id"]
        refusal = self.refusals.get(op_id)
        if refusal is not None:
            # Sent again on this socket after it was refused: one op id, one outcome
            # (the world may have changed since, but this op was answered).
            await self.send_error(op_id, *refusal)
            return
        self.my_ops[op_id] = False
        while len(self.my_ops) > 1000:
            self.my_ops.popitem(last=False)
        arguments = {
            "plan_id": self.plan_id,
            "user": self.user,
            "op": message["op"],
            "op_id": op_id,
            "base_rev": message["base_rev"],
            "meeting_id": self.meeting_id,
        }
        try:
            fast = await fastlane.apply_op(**arguments)
            if fast is not None:
                revision, event = fast
                result = revision, False, event
                await self.publish([plan_changed_message(plan_id=self.plan_id, revision=revision)])
            else:
                # Not the plain case, or the lane is off or failed (having written
                # nothing): the ordinary path answers.
                result = await self.write(handlers.apply_op, **arguments)
        except OperationError as exc:
            await self.send_error(op_id, exc.code, exc.message, exc.field)
            if exc.code not in {"conflict", "unavailable"}:
                self.refusals[op_id] = (exc.code, exc.message, exc.field)
                while len(self.refusals) > 1000:
                    self.refusals.popitem(last=False)
                # Put the sender's view right: the truth, at a revision it can follow.
                await self.owe_snapshot()
            return
        except DatabaseError:
            logger.warning("live op failed on plan %s", self.plan_id, exc_info=True)
            await self.send_error(op_id, "unavailable", _("The change was not saved; resend it."))
            return
        revision, duplicate, event = result
        if event is not None:
            EVENTS.put(self.plan_id, event)
        async with self.send_lock:
            if revision > self.sent_rev:
                await self._send_pending_locked(upto=revision)
                return
            # Already sent to this socket: as its ack (a resend: the client lost it, so
            # answer again), or inside a snapshot that went out while this op was being
            # written (a snapshot answers no op, so answer now; the client settles an
            # ack at a revision it already has).
            if duplicate or not self.my_ops.get(op_id):
                events = await EVENTS.since(self.plan_id, revision - 1, revision)
                if events and events[0]["rev"] == revision:
                    await self.send_message(self._for_me(events[0]))

    async def on_sync(self, message: dict) -> None:
        async with self.send_lock:
            if not await self._send_since(message["since"], None):
                await self._send_snapshot_locked()

    async def on_resync(self, message: dict) -> None:
        await self.send_snapshot()

    async def on_presence(self, message: dict) -> None:
        self.focus = message["focus"]
        self.presence[self.channel_name] = self._my_presence()
        await self._send_presence()
        await self._announce_presence()

    async def on_meeting(self, message: dict) -> None:
        request_id = message.get("request_id")
        if self.meeting_id is None:
            await self.send_error(
                request_id, "invalid", _("Open the meeting room to lead the meeting.")
            )
            return
        try:
            await self.write(
                handlers.meeting_action, meeting_id=self.meeting_id, user=self.user, message=message
            )
        except OperationError as exc:
            await self.send_error(request_id, exc.code, exc.message, exc.field)
            return
        except DatabaseError:
            logger.warning("live meeting action failed on plan %s", self.plan_id, exc_info=True)
            await self.send_error(request_id, "unavailable", _("Not saved; try again."))
            return
        await self._send_meeting()

    # ----------------------------------------------------------- group messages

    async def plan_changed(self, message: dict) -> None:
        if not self.joined or self.closed:
            return
        if message.get("rev", 0) > self.sent_rev:
            await self._guard(self.send_pending(upto=message.get("rev")))

    async def plan_access(self, message: dict) -> None:
        if not self.joined or self.closed:
            return
        await self._guard(self.recheck())

    async def meeting_changed(self, message: dict) -> None:
        if not self.joined or self.closed:
            return
        if self.meeting_id is None or message.get("meeting") == self.meeting_id:
            await self._guard(self._send_meeting())

    async def user_session(self, message: dict) -> None:
        if not self.joined:
            return
        ended = message.get("ended")
        if ended is not None and ended == session_tag(self.session_key):
            await self.close_with(protocol.CLOSE_UNAUTHENTICATED)
            return
        await self._guard(self.recheck())

    async def presence_update(self, message: dict) -> None:
        if not self.joined or self.closed:
            return
        channel = message.get("channel")
        if not isinstance(channel, str) or channel == self.channel_name:
            return
        user_id = message.get("user")
        if user_id not in self.names:
            name = await on_db_thread(handlers.user_name)(user_id)
            if name is None:
                return
            self.names[user_id] = name
        entry = {"id": user_id, "focus": message.get("focus"), "at": time.monotonic()}
        previous = self.presence.get(channel)
        self.presence[channel] = entry
        if message.get("hello"):
            # A newcomer: tell it where we are, directly.
            await self.channel_layer.send(channel, self._presence_message())
        if previous is None or previous["focus"] != entry["focus"]:
            await self._send_presence()

    async def presence_leave(self, message: dict) -> None:
        if self.presence.pop(message.get("channel"), None) is not None:
            await self._send_presence()

    async def _guard(self, coroutine: Any) -> None:
        try:
            await coroutine
        except Exception:
            logger.exception("live notification failed on plan %s", self.plan_id)

    # ------------------------------------------------------------------ sending

    async def send_pending(self, upto: int | None = None) -> None:
        """Send every committed change after sent_rev, in order, exactly once each."""
        async with self.send_lock:
            await self._send_pending_locked(upto)

    async def _send_pending_locked(self, upto: int | None = None) -> None:
        if self.closed:
            return
        events = await EVENTS.since(self.plan_id, self.sent_rev, upto)
        if not events:
            return
        if any(_touches_access(e) for e in events) and not await self.recheck(locked=True):
            return  # closed: this user may no longer see what follows
        for event in events:
            if event["rev"] != self.sent_rev + 1:
                break  # never send out of order; the next notification or tick goes on
            await self.send_message(self._for_me(event))
            self.sent_rev = event["rev"]

    def _for_me(self, event: dict) -> dict:
        if event["op_id"] in self.my_ops:
            self.my_ops[event["op_id"]] = True
            return as_ack_message(event)
        return as_op_message(event)

    async def _send_since(self, since: int, you: dict | None, revision: int | None = None) -> bool:
        """Reply with the changes after `since`; False if a snapshot is needed."""
        if revision is None:
            revision = await on_db_thread(handlers.plan_revision)(self.plan_id)
        if revision is None or since > revision or revision - since > SYNC_LIMIT:
            return False
        events = await EVENTS.since(self.plan_id, since)
        events = [e for e in events if e["rev"] <= max(revision, self.sent_rev)]
        if any(e["rev"] != since + i + 1 for i, e in enumerate(events)):
            return False
        if you is not None:
            await self.send_message({"type": "you", "you": you})
        last = events[-1]["rev"] if events else since
        await self.send_message(
            {"type": "ops", "since": since, "rev": last, "ops": [self._for_me(e) for e in events]}
        )
        self.sent_rev = last
        return True

    async def send_snapshot(self) -> None:
        async with self.send_lock:
            await self._send_snapshot_locked()

    async def owe_snapshot(self) -> None:
        """A correcting snapshot after a refused op: at once, but at most one per
        SNAPSHOT_GAP seconds, so a stream of bad ops cannot turn into a stream of
        full-plan reads."""
        wait = self.last_snapshot + SNAPSHOT_GAP - time.monotonic()
        if wait <= 0:
            await self.send_snapshot()
        elif self.snapshot_task is None or self.snapshot_task.done():
            self.snapshot_task = asyncio.ensure_future(self._snapshot_later(wait))

    async def _snapshot_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        await self._guard(self.send_snapshot())

    async def _send_snapshot_locked(self, data: dict | None = None) -> None:
        if data is None:
            read_at, data = await on_db_thread(stamped(handlers.snapshot))(
                plan_id=self.plan_id, user=self.user, meeting_id=self.meeting_id
            )
            self.meeting_read_at = max(self.meeting_read_at, read_at)
        if data is None:
            await self.close_with(protocol.CLOSE_FORBIDDEN)
            return
        self.you = data["you"]
        self.last_meeting = data["meeting"]
        await self.send_message(
            {
                "type": "snapshot",
                "rev": data["rev"],
                "plan": data["plan"],
                "meeting": data["meeting"],
                "you": data["you"],
                "presence": self._presence_list(),
            }
        )
        self.sent_rev = data["rev"]
        self.last_snapshot = time.monotonic()

    async def _send_meeting(self) -> None:
        read_at, state = await MEETINGS.fresh(self.plan_id, self.meeting_id)
        await self.meeting_state_is(state, read_at=read_at)

    async def meeting_state_is(self, state: dict[str, Any] | None, *, read_at: float) -> None:
        """Send the meeting's state if it changed; join a meeting that has started.
        `read_at`: when its read started; a read older than the one this socket has
        shown is dropped (watch.stamped), so a slow read never steps the room back."""
        if self.closed or not self.joined or read_at < self.meeting_read_at:
            return
        self.meeting_read_at = read_at
        if (
            self.meeting_id is not None
            and not self.attended
            and state is not None
            and state["status"] == "in_progress"
        ):
            # Opened before the meeting started: this user attends from now on.
            started = time.monotonic()
            state, self.attended = await self.write(
                handlers.meeting_for_socket,
                plan_id=self.plan_id,
                user=self.user,
                meeting_id=self.meeting_id,
                attended=self.attended,
            )
            if started < self.meeting_read_at:
                return  # a newer read was shown meanwhile
            self.meeting_read_at = started
        if state != self.last_meeting:
            self.last_meeting = state
            await self.send_message({"type": "meeting", "meeting": state})

    # ----------------------------------------------------------------- presence

    def _my_presence(self) -> dict[str, Any]:
        self.names.setdefault(self.user_id, handlers.display_name(self.user))
        return {"id": self.user_id, "focus": self.focus, "at": time.monotonic()}

    def _presence_message(self, hello: bool = False) -> dict[str, Any]:
        # Only ids travel over the channel layer; receivers look the name up.
        return {
            "type": "presence.update",
            "channel": self.channel_name,
            "user": self.user_id,
            "focus": self.focus,
            "hello": hello,
        }

    async def _announce_presence(self, hello: bool = False) -> None:
        # Presence is a courtesy: without the channel layer the socket goes on (the
        # others learn of it at the next keep-alive after Redis is back).
        try:
            await self.channel_layer.group_send(
                plan_group(self.plan_id), self._presence_message(hello)
            )
        except Exception as exc:
            logger.warning("live presence failed on plan %s: %s", self.plan_id, exc_name(exc))

    def _presence_list(self) -> list[dict[str, Any]]:
        users: dict[int, dict[str, Any]] = {}
        for entry in sorted(self.presence.values(), key=lambda e: e["at"]):
            name = self.names.get(entry["id"])
            if name is None:
                continue
            current = users.get(entry["id"])
            if current is None or entry["focus"] is not None or current["focus"] is None:
                users[entry["id"]] = {"id": entry["id"], "name": name, "focus": entry["focus"]}
        return sorted(users.values(), key=lambda u: (u["name"], u["id"]))

    async def _send_presence(self) -> None:
        await self.send_message({"type": "presence", "users": self._presence_list()})

    # -------------------------------------------------------------- the watcher

    async def recheck(self, locked: bool = False) -> bool:
        """Session, account and plan access, fresh from the database. Closes the socket
        (4401 session ended, 4403 access removed) and returns False if it must go."""
        if self.closed:
            return False
        verdict = await on_db_thread(handlers.recheck)(
            session_key=self.session_key, user_id=self.user_id, plan_id=self.plan_id
        )
        if verdict["close"] is not None:
            await self.close_with(verdict["close"])
            return False
        self.user = verdict["user"]
        you = verdict["you"]
        if you != self.you:
            self.you = you
            await self.send_message({"type": "you", "you": you})
        if verdict["rev"] > self.sent_rev and not locked:
            # A plan.changed notification was lost: catch up now.
            await self.send_pending()
        return True

    async def _watch(self) -> None:
        """The socket's own timer. Revisions, sessions and the meeting are polled for
        all sockets of the process together (watch.SOCKETS); here: the full recheck
        every IPPLAN_LIVE_RECHECK_SECONDS, presence keep-alives, and subscribing again
        if the channel layer was down when the socket opened."""
        interval = float(_setting("IPPLAN_LIVE_RECHECK_SECONDS", 120.0))
        step = min(WATCH_STEP, interval)
        now = time.monotonic()
        # Spread the sockets' full checks over the interval.
        next_check = now + random.uniform(0, interval)
        last_refresh = now
        while not self.closed:
            await asyncio.sleep(step)
            try:
                now = time.monotonic()
                if not self.subscribed and await self.subscribe():
                    await self._announce_presence(hello=True)
                    await self.send_pending()  # what the missed notifications said
                if now >= next_check:
                    next_check = now + interval
                    if not await self.recheck():
                        return
                if now - last_refresh > PRESENCE_REFRESH:
                    last_refresh = now
                    self.presence[self.channel_name] = self._my_presence()
                    await self._announce_presence()
                    stale = [
                        channel
                        for channel, entry in self.presence.items()
                        if now - entry["at"] > PRESENCE_TTL and channel != self.channel_name
                    ]
                    for channel in stale:
                        del self.presence[channel]
                    if stale:
                        await self._send_presence()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("live recheck failed on plan %s: %s", self.plan_id, exc_name(exc))


def exc_name(exc: BaseException) -> str:
    # Exception texts can quote data (e.g. a failed statement's values): log the type.
    return type(exc).__name__


def _touches_access(event: dict) -> bool:
    op = event["op"]
    return op["target"] in {"member", "consent"} or (
        op["target"] == "plan" and op.get("field") in {"coordinator", "status"}
    )


_TYPE_RE = re.compile(r'"type"\s*:\s*"([a-z]{1,10})"')
_OP_ID_RE = re.compile(r'"op_id"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


def _peek_type(text: str) -> str | None:
    """A cheap guess at the message type, to price a frame before parsing it."""
    match = _TYPE_RE.search(text[:200])
    return match.group(1) if match else None


def _peek_op_id(text: str) -> str | None:
    match = _OP_ID_RE.search(text[:400])
    return match.group(1) if match else None
