"""What the sockets of one process check together instead of one by one.

Notifications over the channel layer are at most once, so every socket must notice by
itself when it missed a change, when its session ended or when its meeting moved on.
Done per socket (five queries every two seconds each) that polling took a third to a
half of the database threads under load (docs/performance.md). Here one task per
process does it for all of its sockets:

- every IPPLAN_LIVE_POLL_SECONDS (2 s): the revision of every plan with a socket, who
  may read it today, and the validity of every socket's session, in four queries in
  all (handlers.poll). A socket behind its plan catches up; a socket whose session or
  access is gone gets the full recheck, which closes it. So logout, expiry, a password
  change, deactivation, and membership or consent that ended (by an edit or by the
  calendar) close sockets within 2 s even when Redis is down.
- each (plan, meeting) state once every MEETING_EVERY polls, compared by every socket
  with what it last sent. Each poll reads a different share of the meetings (by plan
  id): all of them in one poll held every database thread of the process for tens of
  milliseconds every 10 s, and ops waited behind them (p99 at low load,
  docs/performance.md). A share is one read of four queries (handlers.
  meeting_states_for), not three queries per meeting: those re-reads were the largest
  part of an idle worker's CPU.

The socket's own full recheck (the same check as every page view) still runs every
IPPLAN_LIVE_RECHECK_SECONDS (120 s), in case the poll's shortcut ever disagrees.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings

from . import handlers
from .dbthreads import on_db_thread

if TYPE_CHECKING:
    from .consumers import PlanConsumer

logger = logging.getLogger(__name__)

MEETING_EVERY = 5  # re-read each meeting state every n-th poll
COALESCE_SECONDS = 0.05  # requests for one meeting state this close together share a read


def stamped(func: Any) -> Any:
    """`func` returning (when it started, its result). Meeting states reach a socket by
    three paths (a notification's read, the poll's share, its own snapshot), and a read
    that started earlier can finish later: a socket keeps the state of the latest read
    it has shown and never steps back to an older one (PlanConsumer.meeting_state_is).
    """

    def run(**kwargs: Any) -> tuple[float, Any]:
        return time.monotonic(), func(**kwargs)

    return run


class MeetingCache:
    """Meeting states read once per process for all its sockets that want them.

    `fresh` returns (when the read started, the state) of a read that *started after
    the call*, so it never hands out a state older than the notification that asked
    for it; callers that arrive while a read is still waiting to start share it. When a
    meeting changes, every socket on the plan in the process is notified at once: they
    share one read instead of K.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[int, int | None], asyncio.Future] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def fresh(
        self, plan_id: int, meeting_id: int | None
    ) -> tuple[float, dict[str, Any] | None]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): futures are per loop
            self._loop = loop
            self._pending = {}
        key = (plan_id, meeting_id)
        future = self._pending.get(key)
        if future is None:
            future = loop.create_future()
            self._pending[key] = future
            _spawn(self._read(key, future))
        return await asyncio.shield(future)

    async def _read(self, key: tuple[int, int | None], future: asyncio.Future) -> None:
        try:
            await asyncio.sleep(COALESCE_SECONDS)
        finally:
            # From here on the read has started: later callers need a new one.
            if self._pending.get(key) is future:
                del self._pending[key]
        try:
            read = await on_db_thread(stamped(handlers.meeting_state_for))(
                plan_id=key[0], meeting_id=key[1]
            )
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not future.done():
            future.set_result(read)


MEETINGS = MeetingCache()


class SocketRegistry:
    """The open sockets of this process, polled together (see the module docstring)."""

    def __init__(self) -> None:
        self.sockets: set[PlanConsumer] = set()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, socket: PlanConsumer) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): start afresh
            self._loop = loop
            self.sockets = set()
            self._task = None
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def discard(self, socket: PlanConsumer) -> None:
        self.sockets.discard(socket)

    async def _run(self) -> None:
        interval = float(getattr(settings, "IPPLAN_LIVE_POLL_SECONDS", 2.0))
        tick = 0
        while self.sockets:
            await asyncio.sleep(interval)
            tick += 1
            try:
                await self.poll(meeting_share=tick % MEETING_EVERY)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be down; the next poll tries again.
                logger.warning("live poll failed", exc_info=True)

    async def poll(self, *, meeting_share: int | None = None) -> None:
        """Catch up, recheck or close this process's sockets; with `meeting_share` n,
        re-read the meeting states of the plans whose id is n modulo MEETING_EVERY."""
        sockets = [s for s in self.sockets if s.joined and not s.closed]
        if not sockets:
            return
        seen = await on_db_thread(handlers.poll)(
            plan_ids=sorted({s.plan_id for s in sockets}),
            sessions={s.session_key: s.user_id for s in sockets if s.session_key},
        )
        revisions, readers, valid = seen["revisions"], seen["readers"], seen["valid"]
        for socket in sockets:
            revision = revisions.get(socket.plan_id)
            if (
                revision is None
                or socket.user_id not in readers[socket.plan_id]
                or valid is None
                or socket.session_key not in valid
            ):
                _spawn(socket.recheck())
            elif revision > socket.sent_rev:
                _spawn(socket.send_pending())
        if meeting_share is not None:
            keys = sorted(
                {
                    (s.plan_id, s.meeting_id)
                    for s in sockets
                    if s.plan_id % MEETING_EVERY == meeting_share
                },
                key=str,
            )
            if not keys:
                return
            # The share in one read (four queries): one read per meeting held the
            # database threads for longer, and ops waited behind them.
            try:
                read_at, states = await on_db_thread(stamped(handlers.meeting_states_for))(
                    keys=keys
                )
            except Exception as exc:
                logger.warning("live meeting poll failed: %s", type(exc).__name__)
                return
            for key, state in zip(keys, states, strict=True):
                for socket in sockets:
                    if (socket.plan_id, socket.meeting_id) == key:
                        _spawn(socket.meeting_state_is(state, read_at=read_at))


_background: set[asyncio.Task] = set()


def _spawn(coroutine: Any) -> None:
    # The event loop keeps only weak references to tasks: hold them until done.
    task = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("live poll follow-up failed: %s", type(task.exception()).__name__)


SOCKETS = SocketRegistry()
