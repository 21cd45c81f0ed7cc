"""The live sockets' fast lane: the hot path (one plain text op, plans/hotpath.py) run
on the worker's event loop over an asynchronous PostgreSQL connection, instead of on a
database thread.

Why: on a database thread each of the op's statements ends with that thread waiting to
take the GIL back from the event loop, which under load is busy relaying other sockets'
messages; the op's time on the thread (and the plan lock it holds meanwhile) grew to
about twice its time in a quiet process (docs/performance.md, session 9). On the event
loop the same statements are awaited like any other I/O: no thread hand-offs at all.

What does not change:
- the statements and the rules: `hotpath.text_op_steps` yields the very statements
  the thread path runs, and decides the same way (one copy of the logic);
- one transaction per op, under the plan row lock that every writer takes;
- anything but the plain case (a known op id, any refusal, a text that no longer
  fits) rolls back having written nothing, and the socket takes the ordinary path on
  a database thread, which answers it as before;
- an error of the connection, even during COMMIT (whose outcome is then unknown),
  also falls back: if the commit went through, the ordinary path finds the op id and
  answers the op as a duplicate, so it is applied exactly once either way.

The lane also reads the log for the fan-out (`read_events`): a revision another
process committed, which this process must read back once for its sockets. Only the
plain case (a few revisions, no member's entry) is read there; anything else, and any
failure, is read on a database thread as before.

Each event loop (a worker has one; tests make many) has its own few connections
(IPPLAN_LIVE_FAST_LANE_CONNECTIONS), opened on first use with the settings of Django's
default database. `close_all` closes every one (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections

from ipplan.core.precompiled import CompileError
from ipplan.plans import hotpath

from .dbthreads import on_db_thread
from .snapshot import changes_statement, committed_event, compile_changes, events_from_rows

logger = logging.getLogger(__name__)

APPLICATION_NAME = "ipplan-live-fast-lane"

T = TypeVar("T")

_pools: dict[int, tuple[asyncio.AbstractEventLoop, _Pool]] = {}
_pools_lock = threading.Lock()
_compiled: bool | None = None  # None: not yet tried; False: the hot path cannot compile


def enabled() -> bool:
    return (
        bool(getattr(settings, "IPPLAN_LIVE_FAST_LANE", True))
        and _compiled is not False
        and hotpath.enabled()
        and not connections["default"].settings_dict["OPTIONS"].get("assume_role")
    )


async def apply_op(
    *,
    plan_id: int,
    user: Any,
    op: Any,
    op_id: Any,
    base_rev: Any,
    meeting_id: int | None,
) -> tuple[int, dict[str, Any]] | None:
    """Apply one plain text op and commit it: (revision, event). None if the op is not
    the plain case or the lane failed; nothing is written then, and the caller must
    take the ordinary path (handlers.apply_op), which answers it."""
    if not enabled() or not await _compile():
        return None
    steps = hotpath.text_op_steps(
        plan_id=plan_id,
        user=user,
        op=op,
        op_id=op_id,
        base_revision=base_rev,
        meeting_id=meeting_id,
        via="live",
    )
    try:
        # Before taking a connection: an op that is not a plain text op is decided
        # without the database and must not queue for the lane's connections.
        first = next(steps)
    except StopIteration:
        return None
    except CompileError as exc:
        hotpath.warn_compile_error(exc)
        return None
    result = await _on_connection(plan_id, lambda conn: _run(conn, steps, first))
    if result is None:
        return None
    return result.revision, committed_event(result.change)


async def read_events(*, plan_id: int, after: int, limit: int) -> list[dict[str, Any]] | None:
    """The committed changes with revision > after (at most `limit`) as events, exactly
    as snapshot.change_events gives them, read in one round trip on the lane. None if
    the lane is off or failed, or if a change needs a further read (a member who
    joined): the caller reads on a database thread then.

    Why: every process that did not commit a revision reads it back (once per process:
    the event cache shares it among its sockets). On a database thread that read and
    its two hand-offs cost 0.5-0.8 ms of thread CPU per op at 25 x 8, and the thread
    waits for the GIL the event loop holds; here it is one write and one read on the
    loop (docs/performance.md, session 11: -7 % machine CPU per op).

    One SELECT outside any transaction block sees one snapshot, so it reads a gap-free
    prefix as change_events does (writers commit revisions in order under the plan
    lock)."""
    if not enabled() or not await _compile():
        return None
    try:
        statement = changes_statement(plan_id, after, limit)
    except CompileError:  # cached by Precompiled: once per process, then every call
        return None
    rows = await _on_connection(
        plan_id, lambda conn: _round_trip(conn, [statement], begin=False, commit=False)
    )
    if rows is None:
        return None
    return events_from_rows(rows[0])


async def _on_connection(plan_id: int, work: Callable[[Any], Awaitable[T]]) -> T | None:
    """`work` on one of the loop's lane connections; None if there is none to be had or
    the work fails with a database error (logged without plan data)."""
    pool = _pool()
    try:
        conn = await pool.acquire()
    except Exception as exc:
        # No plan data here: the error's class only.
        logger.warning("live fast lane cannot connect: %s", type(exc).__name__)
        return None
    try:
        return await work(conn)
    except _psycopg().Error as exc:
        logger.warning("live fast lane failed on plan %s: %s", plan_id, type(exc).__name__)
        return None
    finally:
        pool.release(conn)


async def _run(conn: Any, steps: hotpath.Steps, batch: hotpath.Batch) -> Any:
    """Run the steps' batches, starting with `batch` (their first), in one transaction,
    each batch in one round trip; BEGIN goes with the first batch and COMMIT with the
    one that writes, so a plain op takes two round trips in all. Rolls back (and
    returns None) if the steps end in None."""
    begin = True
    try:
        while True:
            rows = await _round_trip(conn, batch, begin=begin, commit=batch.writes)
            begin = False
            if batch.writes:
                break
            batch = steps.send(rows)
        steps.send(rows)
    except StopIteration as done:
        if done.value is None or not batch.writes:
            await conn.execute("ROLLBACK")
            return None
        return done.value
    except Exception:
        # (Not on cancellation: the pool closes a connection left inside a transaction.)
        if not conn.broken and not conn.closed:
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
        raise
    raise AssertionError("the hot path went on after its write")


async def _round_trip(
    conn: Any, batch: list[tuple[str, list[Any]]], *, begin: bool, commit: bool
) -> list[list[tuple]]:
    """Send a batch of statements (with BEGIN and COMMIT if asked) in one write, and
    read their answers: one round trip, the statements prepared once per connection.

    Why not psycopg's `pipeline()`: it writes each statement to the socket as it is
    queued, so an op cost six or more writes. Each write over loopback wakes the
    PostgreSQL backend, which on a busy machine may take the CPU from the event loop
    there and then, with every socket of the process waiting. Under the benchmark the
    lane was 40 % of the loop's time (docs/performance.md, session 10).

    Uses libpq's pipeline mode directly (psycopg.pq) and psycopg's own query
    conversion and loaders, so values and rows are exactly as `cursor.execute` gives.
    Raises a psycopg error for any failed statement, and closes the connection then,
    as it does when left mid-batch (cancellation, a lost server); the pool never hands
    out a closed connection."""
    psycopg = _psycopg()
    from psycopg._queries import PostgresQuery  # checked by _compile_once

    pq = psycopg.pq
    pgconn = conn.pgconn
    transformer = psycopg.adapt.Transformer(conn)
    names = _statement_names.setdefault(conn, {})
    wanted: list[bool] = []  # per statement sent: are its rows returned?
    done = False
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(b"BEGIN", None)
            wanted.append(False)
        for sql, params in batch:
            query = PostgresQuery(transformer)
            query.convert(sql, params)
            name = names.get(sql)
            if name is None:
                # Recorded at once: a batch that fails closes the connection, and the
                # names with it, so a name never outlives what the server prepared.
                name = names[sql] = f"ipplan_lane_{len(names)}".encode()
                pgconn.send_prepare(name, query.query, param_types=query.types)
                wanted.append(False)
            pgconn.send_query_prepared(name, query.params, param_formats=query.formats)
            wanted.append(True)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            wanted.append(False)
        pgconn.pipeline_sync()
        while pgconn.flush():  # 1: more to send (the socket's buffer was full)
            # Read what the server sends meanwhile, or both sides could wait on full
            # buffers (libpq's advice for pipeline mode).
            await _io_ready(pgconn.socket, write=True)
            pgconn.consume_input()
        results = await _results_until_sync(pgconn, pq)
        pgconn.exit_pipeline_mode()
        done = True
    finally:
        if not done:
            _finish(conn)
    failed = next((r for r in results if r.status == pq.ExecStatus.FATAL_ERROR), None)
    if failed is not None or len(results) != len(wanted):
        # Rare (a lock timeout, a lost prepared statement, a server restarting): close
        # the connection rather than reason about what it has prepared.
        encoding = conn.info.encoding
        _finish(conn)
        if failed is not None:
            raise psycopg.errors.error_from_result(failed, encoding=encoding)
        raise psycopg.InternalError("fast lane: answers and statements do not match")
    rows = []
    for want, result in zip(wanted, results, strict=True):
        if want:
            transformer.set_pgresult(result)
            rows.append(transformer.load_rows(0, result.ntuples, tuple))
    return rows


async def _results_until_sync(pgconn: Any, pq: Any) -> list[Any]:
    """Every statement's result (one each, in order) up to the pipeline's sync."""
    results = []
    while True:
        if pgconn.is_busy():
            await _io_ready(pgconn.socket, write=False)
            pgconn.consume_input()
            continue
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


async def _io_ready(fileno: int, *, write: bool) -> None:
    """Until the socket can be read (write=False), or read or written (write=True)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fileno, wake)
    if write:
        loop.add_writer(fileno, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fileno)
        if write:
            loop.remove_writer(fileno)


# The statements each connection has prepared (SQL -> name); gone with the connection.
_statement_names: weakref.WeakKeyDictionary[Any, dict[str, bytes]] = weakref.WeakKeyDictionary()


def warm() -> None:
    """Start compiling the hot path's statements now, in the background (a socket
    joined): otherwise the first ops of a process wait for it, a stall of a few
    hundred milliseconds that showed as the lane's worst latencies in the benchmark."""
    if _compiled is None and enabled():
        _compile_task()


async def _compile() -> bool:
    if _compiled is None:
        # Every op that comes meanwhile waits for the same compilation (shield: one
        # op's cancellation must not cancel it for the others).
        await asyncio.shield(_compile_task())
    return bool(_compiled)


_compiling: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Task]] = {}


def _compile_task() -> asyncio.Task:
    loop = asyncio.get_running_loop()
    entry = _compiling.get(id(loop))
    if entry is None or entry[0] is not loop:
        _compiling.clear()  # an earlier loop's (tests)
        entry = _compiling[id(loop)] = (loop, loop.create_task(_compile_once()))
    return entry[1]


async def _compile_once() -> None:
    """Compile the hot path's statements once per process, on a database thread:
    compiling may ask the server for its version, which Django does not allow on an
    event loop."""
    global _compiled
    if _compiled is not None:
        return
    try:
        # psycopg's own %s -> $n conversion, which _round_trip uses: a private module,
        # so a psycopg release that moves it turns the lane off rather than failing ops.
        from psycopg._queries import PostgresQuery  # noqa: F401
    except ImportError:
        logger.warning("live fast lane off: this psycopg has no psycopg._queries")
        _compiled = False
        return
    try:
        await on_db_thread(_compile_statements)()
        _compiled = True
    except CompileError as exc:
        hotpath.warn_compile_error(exc)
        _compiled = False
    except Exception as exc:  # the database is away, say: try again on the next op
        logger.warning("live fast lane cannot compile yet: %s", type(exc).__name__)
        _compiling.clear()


def _compile_statements() -> None:
    hotpath.compile_all()
    compile_changes()  # may fail alone: then read_events leaves the reads to the threads


def _psycopg() -> Any:
    import psycopg

    return psycopg


def _connect_kwargs() -> dict[str, Any]:
    wrapper = connections["default"]
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)  # Django's, a synchronous cursor
    params["autocommit"] = True  # each op is an explicit transaction block
    # Only statements asked to be prepared are (see _run), as on the thread path; a
    # threshold of None would refuse those too.
    params["prepare_threshold"] = 2**31 - 1
    params.setdefault("application_name", APPLICATION_NAME)
    return params


class _Pool:
    """At most `size` connections of one event loop, opened on demand, each used for
    at most `max_age` seconds.

    Why an age limit: a worker lives for weeks, and a connection that lives as long
    never follows a failover, a changed password or a pooler's rebalancing until it
    fails, and its backend keeps the memory it has grown (as Django's CONN_MAX_AGE
    avoids for the ordinary connections)."""

    def __init__(self, size: int, max_age: float) -> None:
        self.size = size
        self.max_age = max_age
        self.idle: list[Any] = []
        self.every: dict[Any, float] = {}  # connection -> when it was opened
        self.free = asyncio.Semaphore(size)

    async def acquire(self) -> Any:
        await self.free.acquire()
        try:
            while self.idle:
                conn = self.idle.pop()
                if (
                    not conn.closed
                    and not conn.broken
                    and time.monotonic() - self.every.get(conn, 0.0) < self.max_age
                ):
                    return conn
                self._discard(conn)
            conn = await _psycopg().AsyncConnection.connect(**_connect_kwargs())
            timezone_name = connections["default"].timezone_name
            if conn.info.parameter_status("TimeZone") != timezone_name:
                await conn.execute("SELECT set_config('TimeZone', %s, false)", [timezone_name])
            self.every[conn] = time.monotonic()
            return conn
        except BaseException:
            self.free.release()
            raise

    def release(self, conn: Any) -> None:
        """Back to the idle list if it is healthy and outside any transaction (it may
        be neither after a cancellation or a lost server); otherwise closed."""
        from psycopg import pq

        if (
            not conn.closed
            and not conn.broken
            and conn.info.transaction_status == pq.TransactionStatus.IDLE
        ):
            self.idle.append(conn)
        else:
            self._discard(conn)
        self.free.release()

    def _discard(self, conn: Any) -> None:
        self.every.pop(conn, None)
        _finish(conn)

    def close(self) -> None:
        for conn in list(self.every):
            _finish(conn)
        self.every.clear()
        self.idle.clear()


def _finish(conn: Any) -> None:
    # Synchronous on purpose: callable from any thread, and after the loop is gone.
    with contextlib.suppress(Exception):  # it may be half-dead already
        conn.pgconn.finish()


def _pool() -> _Pool:
    loop = asyncio.get_running_loop()
    entry = _pools.get(id(loop))
    if entry is not None and entry[0] is loop:
        return entry[1]
    with _pools_lock:
        # A loop that has been closed will never use its pool again (tests make one
        # loop per test): close its connections now.
        for key, (old_loop, old_pool) in list(_pools.items()):
            if old_loop.is_closed():
                old_pool.close()
                del _pools[key]
        pool = _Pool(
            int(getattr(settings, "IPPLAN_LIVE_FAST_LANE_CONNECTIONS", 4)),
            float(getattr(settings, "IPPLAN_LIVE_FAST_LANE_MAX_AGE", 600)),
        )
        _pools[id(loop)] = (loop, pool)
        return pool


def close_all() -> None:
    """Close every fast-lane connection of every event loop (tests, shutdown)."""
    with _pools_lock:
        entries = list(_pools.values())
        _pools.clear()
    for _loop, pool in entries:
        pool.close()
