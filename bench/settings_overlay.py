"""ipplan's settings with a few things changed for an experiment, to measure what a
change would buy before anyone makes it (bench/live_load.py --setting).

Never used unless a benchmark asks for it; the default runs use ipplan.settings as is.

- BENCH_SETTINGS (JSON object): settings to override, e.g.
  {"IPPLAN_LIVE_RECHECK_SECONDS": 30}.
(`--db-threads N` sets IPPLAN_LIVE_DB_THREADS through the environment instead.)
"""

import json
import os

from ipplan.settings import *  # noqa: F403

globals().update(json.loads(os.environ.get("BENCH_SETTINGS", "{}")))

# BENCH_DB_OPTIONS (JSON object): merged into DATABASES["default"]["OPTIONS"], e.g.
# {"server_side_binding": true} (psycopg 3 binds parameters on the server and prepares
# statements it sees often, instead of quoting every value into the SQL text).
_db_options = json.loads(os.environ.get("BENCH_DB_OPTIONS", "{}"))
if _db_options:
    DATABASES["default"].setdefault("OPTIONS", {}).update(_db_options)  # noqa: F405

# BENCH_SWITCH_INTERVAL (a setting, seconds): the GIL switch interval of the worker
# process (sys.setswitchinterval; Python's default is 0.005). A database thread that
# comes back from a round trip waits for the GIL up to this long while the event loop
# thread holds it: the convoy effect.
_switch_interval = globals().get("BENCH_SWITCH_INTERVAL")
if _switch_interval:
    import sys

    sys.setswitchinterval(float(_switch_interval))

# BENCH_GC_LOG (a setting, a path prefix): record the worker's garbage-collector pauses
# (gc.callbacks) and write them to PREFIX.PID.json (each pause of 1 ms or more as
# [unix time, generation, ms]), rewritten after every full (gen 2)
# collection and every pause of a millisecond or more, so the file is current whenever
# the worker is stopped. A pause stops the event loop: every socket of the process waits.
_gc_log = globals().get("BENCH_GC_LOG")
if _gc_log:
    import gc
    import time

    _gc_path = f"{_gc_log}.{os.getpid()}.json"
    _gc_stats = {
        "pid": os.getpid(),
        "by_generation": {g: {"count": 0, "total_ms": 0.0, "max_ms": 0.0} for g in "012"},
        "pauses_ms_over_1": [],
        "frozen": 0,
    }
    _gc_started = [0.0]

    def _gc_callback(phase: str, info: dict) -> None:
        if phase == "start":
            _gc_started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - _gc_started[0]) * 1000
        gen = _gc_stats["by_generation"][str(info["generation"])]
        gen["count"] += 1
        gen["total_ms"] += ms
        gen["max_ms"] = max(gen["max_ms"], ms)
        if ms >= 1.0 or info["generation"] == 2:
            if ms >= 1.0:
                _gc_stats["pauses_ms_over_1"].append(
                    [round(time.time(), 3), info["generation"], round(ms, 2)]
                )
            _gc_stats["frozen"] = gc.get_freeze_count()
            with open(_gc_path, "w") as f:
                json.dump(_gc_stats, f)

    gc.callbacks.append(_gc_callback)
