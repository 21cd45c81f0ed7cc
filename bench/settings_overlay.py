"""ipplan's settings with a few things changed for an experiment, to measure what a
change would buy before anyone makes it (bench/live_load.py --setting / --db-threads).

Never used unless a benchmark asks for it; the default runs use ipplan.settings as is.

- BENCH_SETTINGS (JSON object): settings to override, e.g.
  {"IPPLAN_LIVE_RECHECK_SECONDS": 30}.
- BENCH_DB_THREADS=N: run the sockets' database calls on a pool of N threads per worker
  process instead of Channels' default, one thread per process
  (`database_sync_to_async` is thread-sensitive: every socket's calls in a process
  queue behind each other). Each thread keeps its own database connection.
"""

import json
import os

from ipplan.settings import *  # noqa: F403

globals().update(json.loads(os.environ.get("BENCH_SETTINGS", "{}")))

_threads = int(os.environ.get("BENCH_DB_THREADS", "0"))
if _threads > 0:
    from concurrent.futures import ThreadPoolExecutor

    import channels.db

    _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="bench-db")

    class _PooledDatabaseSyncToAsync(channels.db.DatabaseSyncToAsync):
        def __init__(self, func: object, thread_sensitive: bool = True, executor: object = None):
            super().__init__(func, thread_sensitive=False, executor=_pool)

    # The settings module is imported before any consumer module, so every
    # `from channels.db import database_sync_to_async` picks this up.
    channels.db.database_sync_to_async = _PooledDatabaseSyncToAsync
