"""A reconnect storm: 240 open sockets in 30 meetings of eight (an ansvarsgruppe around
the table), and both worker processes are killed at once (a crash, or a careless deploy)
and started again a few seconds later.

Every client reconnects with the browser's backoff (connection.js: full jitter in
[d/2, d], d = 0.5 s doubling to 30 s), so the attempts spread out instead of arriving
together: without jitter every round of attempts would land in the same instant, and
without the doubling each client would try several times a second for as long as the
servers are down. We measure the attempts per 100 ms, the reconnects per 100 ms once
the servers are back, and the attempts per client, and check that everyone is back and
converged on the database state. A separate check runs the browser's own backoffDelay
(node) against the simulator's, so what is measured here is the browser's behaviour.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import shutil
import subprocess
import time

import pytest

from tests.faults import harness, stack
from tests.faults.simclient import backoff_delay

PLANS = 30
PER_PLAN = 8
SOCKETS = PLANS * PER_PLAN
DOWN = 2.0  # seconds between the kill and starting the workers again (then ~3 s to start)
BIN = 0.1  # seconds


def _peak(times: list[float], start: float) -> int:
    bins = collections.Counter(int((t - start) / BIN) for t in times if t >= start)
    return max(bins.values(), default=0)


@pytest.mark.slow
async def test_hundreds_of_sockets_reconnect_spread_out_and_converge(fault_stack):
    fault_stack.seed(plans=PLANS, editors=2, spare_sessions=3)
    fault_stack.start(workers=2)
    clients = harness.make_clients(fault_stack, per_plan=PER_PLAN, seed=44)
    typists = [c for c in clients if c.name.endswith("c0")][:10]  # in ten of the meetings
    try:
        # People open the meeting room over a few seconds, not all at once.
        for i in range(0, len(clients), 24):
            for client in clients[i : i + 24]:
                client.start()
            await asyncio.sleep(0.3)
        await harness.wait_connected(clients, timeout=120)

        for worker in fault_stack.workers:
            worker.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(DOWN)
        restart_at = time.monotonic()
        await asyncio.to_thread(_start_all, fault_stack.workers)
        ready_at = time.monotonic()
        back = await harness.wait_reopened(clients, after=killed_at, timeout=120)

        # Catching up works for all of them: a few edits, then everyone converges.
        for client in typists:
            client.typing = True
        await asyncio.sleep(2.0)
        for client in typists:
            client.typing = False
        await harness.converge(fault_stack, clients, timeout=90)
        figures = harness.check(fault_stack, clients)
    finally:
        await asyncio.gather(*(client.stop() for client in clients))

    attempts = [t for c in clients for t in c.attempts if t >= killed_at]
    reconnects = [t for c in clients for t in c.caught_up if t >= killed_at]
    per_client = [sum(1 for t in c.attempts if t >= killed_at) for c in clients]
    first_attempts = sorted(
        min(t for t in c.attempts if t >= killed_at) - killed_at for c in clients
    )
    figures.update(
        killed="both uvicorn worker processes (SIGKILL), started again 2 s later",
        sockets=SOCKETS,
        seconds_workers_were_down=round(ready_at - killed_at, 2),
        seconds_until_all_reconnected_after_the_kill=round(back, 2),
        seconds_until_all_reconnected_after_the_workers_were_ready=round(
            killed_at + back - ready_at, 2
        ),
        reconnect_attempts=len(attempts),
        attempts_per_client_max=max(per_client),
        attempts_per_client_mean=round(sum(per_client) / len(per_client), 2),
        peak_attempts_per_100ms=_peak(attempts, killed_at),
        first_attempt_spread_ms=[
            round(first_attempts[0] * 1000),
            round(first_attempts[-1] * 1000),
        ],
        peak_reconnects_per_100ms=_peak(reconnects, restart_at),
        reconnects_per_second_after_restart=_per_second(reconnects, restart_at),
    )
    harness.report("reconnect_storm", figures)

    assert figures["clients"] == SOCKETS >= 200 and figures["plans"] == PLANS
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert len(reconnects) >= SOCKETS, "every socket came back"
    # Jitter: the first retry falls uniformly in [250, 500] ms, so about 40 % of the
    # clients share the busiest 100 ms (a fixed delay would put all of them in one);
    # allow for chance up to 55 %. The first retries alone spread over >= 150 ms.
    assert figures["peak_attempts_per_100ms"] <= SOCKETS * 55 // 100
    assert first_attempts[-1] - first_attempts[0] >= 0.15
    # Once the servers are back the reconnects arrive spread out, not as one wave (which
    # would be all 240 in one or two bins, so at least half in one). A reconnect counts
    # when its snapshot arrives, so server queueing bunches them too: 15 runs on a quiet
    # machine peaked at 22-58; on a slower one (2026-12-04) 17 runs peaked at 20-91,
    # the code of the day and the day before alike, and a CI run with the other test
    # process busy at 110 (46 %). Under half in the busiest 100 ms is still no wave.
    assert figures["peak_reconnects_per_100ms"] < SOCKETS // 2
    # Exponential backoff: a few attempts per client over a ~6 s outage, not dozens.
    assert figures["attempts_per_client_max"] <= 8
    assert figures["attempts_per_client_mean"] <= 6


def _start_all(workers: list[stack.Worker]) -> None:
    for worker in workers:
        worker.start(wait=False)
    for worker in workers:
        worker.wait_ready()


def _per_second(times: list[float], start: float) -> list[int]:
    counts = collections.Counter(int(t - start) for t in times if t >= start)
    return [counts.get(s, 0) for s in range(max(counts, default=-1) + 1)]


def test_the_simulated_backoff_is_the_browsers():
    """The simulator's backoff_delay equals connection.js backoffDelay (run by node)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    cases = [(attempt, r) for attempt in range(0, 20) for r in (0.0, 0.25, 0.5, 0.999)]
    script = (
        "import('./static/js/meeting/connection.js').then(({ backoffDelay }) => {"
        f" const cases = {json.dumps(cases)};"
        " console.log(JSON.stringify(cases.map(([a, r]) => backoffDelay(a, () => r))));"
        "});"
    )
    out = subprocess.run(  # noqa: S603
        [node, "--input-type=module", "-e", script],
        cwd=stack.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    browser_ms = json.loads(out.stdout)
    # Math.round rounds halves up; Python's round() would round them to even.
    simulated_ms = [math.floor(backoff_delay(a, r) * 1000 + 0.5) for a, r in cases]
    assert simulated_ms == browser_ms
