"""ipplan's settings with a few overridden for an experiment (bench/live_load.py
--setting NAME=VALUE), to measure what a change would buy before making it.

Never used unless a benchmark asks for it; the default runs use ipplan.settings as is.
"""

import json
import os

from ipplan.settings import *  # noqa: F403

globals().update(json.loads(os.environ.get("BENCH_SETTINGS", "{}")))
