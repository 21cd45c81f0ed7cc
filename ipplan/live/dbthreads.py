"""The live sockets' database threads (see on_db_thread)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _db_executor() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=int(_setting("IPPLAN_LIVE_DB_THREADS", 4)),
                thread_name_prefix="ipplan-live-db",
            )
        return _executor


def on_db_thread(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as a coroutine function, run on the live sockets' database threads.

    Channels' default (thread-sensitive) runs every socket's database work in a process
    on one thread, one call at a time: a slow query or a wait for a plan lock held in
    another process then stalls every socket of the process, handshakes included. A
    small pool (IPPLAN_LIVE_DB_THREADS, one connection each) keeps them independent;
    writers of one plan still queue on the plan's row lock in PostgreSQL, and each
    call is one transaction, so nothing depends on which thread runs it. Connections
    are closed or kept around each call as DB_CONN_MAX_AGE says.
    """
    return database_sync_to_async(func, thread_sensitive=False, executor=_db_executor())


def close_db_threads() -> None:
    """Close the database connections of the pool's threads and stop the pool (tests,
    shutdown), and the fast lane's connections. A fresh pool starts on the next call."""
    global _executor
    from .fastlane import close_all

    close_all()
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is None:
        return
    workers = executor._max_workers
    barrier = threading.Barrier(workers)

    def close() -> None:
        # The barrier holds each thread until all have a task: one close per thread.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        connections.close_all()

    for future in [executor.submit(close) for _worker in range(workers)]:
        future.result(timeout=30)
    executor.shutdown(wait=True)
