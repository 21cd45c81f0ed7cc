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
