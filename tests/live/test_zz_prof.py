import time, collections
import pytest
from ipplan.live import handlers, consumers, snapshot as snap
from ipplan.plans import services
from tests.live.test_convergence import *  # noqa
T = collections.defaultdict(lambda: [0, 0.0])
def wrap(mod, name, label=None):
    f = getattr(mod, name)
    def w(*a, **k):
        t = time.monotonic()
        try: return f(*a, **k)
        finally:
            T[label or name][0] += 1; T[label or name][1] += time.monotonic() - t
    setattr(mod, name, w)
for n in ["join", "snapshot", "apply_op", "recheck", "meeting_for_socket", "plan_revision", "user_name"]:
    wrap(handlers, n)
wrap(consumers, "change_events")
import tests.live.test_convergence as tc
wrap(tc, "check_log"); wrap(tc, "_revision"); wrap(tc, "_form_edit"); wrap(tc, "make_plan")
from django.db.backends.utils import CursorWrapper
orig = CursorWrapper.execute
Q = [0]
def ex(self, *a, **k):
    Q[0] += 1
    return orig(self, *a, **k)
CursorWrapper.execute = ex
@pytest.fixture(autouse=True)
def report():
    t = time.monotonic()
    yield
    print("wall", time.monotonic() - t, "queries", Q[0])
    for k, (n, t) in sorted(T.items(), key=lambda x: -x[1][1]):
        print(f"{k:20} {n:5} {t:7.2f}s {1000*t/max(n,1):6.1f}ms")
