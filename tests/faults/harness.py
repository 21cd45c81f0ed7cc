"""The fault tests' stage: one private database, Redis and worker processes per test,
simulated browser clients on them, and the checks that nothing was lost or doubled."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from tests.faults import stack
from tests.faults.simclient import TOKEN, Endpoints, FieldKey, SimClient, field_text

RESULTS_DIR = Path(os.environ.get("IPPLAN_FAULT_RESULTS", stack.ROOT / "var" / "faults"))


class FaultStack:
    """A fresh database (from the migrated template) in the private cluster, a private
    Redis and `workers` uvicorn processes sharing both."""

    def __init__(self, pg: stack.PrivatePostgres, template: str, name: str, workdir: Path) -> None:
        self.pg = pg
        self.database = f"ipplan_fault_{re.sub(r'[^a-z0-9_]', '_', name.lower())[:40]}"
        self.workdir = workdir
        pg.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
        pg.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')
        self.database_url = pg.url(self.database)
        self.redis = stack.PrivateRedis(workdir)
        self.workers: list[stack.Worker] = []
        self.seeded: dict[str, Any] = {}

    def seed(self, *, plans: int, editors: int, spare_sessions: int = 0) -> dict[str, Any]:
        self.seeded = stack.control(
            self.database_url,
            "seed",
            "--plans",
            str(plans),
            "--editors",
            str(editors),
            "--spare-sessions",
            str(spare_sessions),
        )
        return self.seeded

    def start(self, workers: int = 2) -> None:
        self.redis.start()
        env = stack.worker_env(self.database_url, self.redis.url)
        self.workers = [stack.Worker(f"worker{i}", env, self.workdir) for i in range(workers)]
        for worker in self.workers:
            worker.start(wait=False)
        for worker in self.workers:
            worker.wait_ready()

    def endpoints(self) -> Endpoints:
        return Endpoints([w.ws_base for w in self.workers])

    def plan_ids(self) -> list[int]:
        return [p["id"] for p in self.seeded["plans"]]

    async def revisions(self) -> dict[int, int]:
        return await asyncio.to_thread(self.pg.revisions, self.database, self.plan_ids())

    def state(self) -> dict[str, Any]:
        args = []
        for plan_id in self.plan_ids():
            args += ["--plan", str(plan_id)]
        return stack.control(self.database_url, "state", *args)

    def unhandled_exceptions(self) -> int:
        """How often a worker logged an exception that escaped the application."""
        return sum(w.log_text().count("Exception in ASGI application") for w in self.workers)

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.redis.kill()
        # The cluster may be down after a failed test; it goes with the session anyway.
        with contextlib.suppress(Exception):
            self.pg.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def text_fields(plan: dict[str, Any]) -> list[FieldKey]:
    """The fields everyone types into at once: two plan fields and a theme's."""
    return [
        ("plan", plan["id"], "what_matters"),
        ("plan", plan["id"], "needs"),
        ("theme", plan["theme"], "current_situation"),
    ]


def make_clients(fault_stack: FaultStack, per_plan: int, *, seed: int = 1) -> list[SimClient]:
    """`per_plan` clients in each plan's meeting, alternating between the workers."""
    endpoints = fault_stack.endpoints()
    clients = []
    n = 0
    for plan in fault_stack.seeded["plans"]:
        for i in range(per_plan):
            user = plan["users"][i % len(plan["users"])]
            sessions = user["sessions"]
            clients.append(
                SimClient(
                    f"p{plan['id']}c{i}",
                    endpoints=endpoints,
                    prefer=n % len(endpoints.bases),
                    plan_id=plan["id"],
                    meeting_id=plan["meeting"],
                    cookie=sessions[(i // len(plan["users"])) % len(sessions)],
                    fields=text_fields(plan),
                    seed=seed * 1000 + n,
                )
            )
            n += 1
    return clients


async def wait_connected(clients: list[SimClient], timeout: float) -> float:
    """Seconds until every client has an open socket with the state caught up."""
    start = time.monotonic()
    while not all(c.connected for c in clients):
        if time.monotonic() - start > timeout:
            down = [c.name for c in clients if not c.connected]
            problems = [p for c in clients for p in c.problems][:5]
            raise AssertionError(f"not connected after {timeout}s: {down[:10]} {problems}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def wait_reopened(clients: list[SimClient], *, after: float, timeout: float) -> float:
    """Seconds from `after` until every client has opened a new socket since then and
    caught up on it."""
    while not all(c.connected and c.caught_up and c.caught_up[-1] > after for c in clients):
        if time.monotonic() - after > timeout:
            raise AssertionError(f"not all reconnected within {timeout}s")
        await asyncio.sleep(0.02)
    return max(c.caught_up[-1] for c in clients) - after


async def converge(fault_stack: FaultStack, clients: list[SimClient], timeout: float) -> float:
    """Seconds until every client has sent everything, got every ack and sits at the
    database's revision of its plan (checked twice in a row)."""
    start = time.monotonic()
    stable = 0
    while True:
        for client in clients:
            await client.flush()
        try:
            revisions = await fault_stack.revisions()
        except Exception:  # noqa: BLE001 - the database may still be coming back
            revisions = {}
        done = revisions and all(c.settled(revisions[c.plan_id]) for c in clients)
        stable = stable + 1 if done else 0
        if stable >= 2:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            behind = [
                (
                    c.name,
                    c.rev,
                    revisions.get(c.plan_id),
                    c.connected,
                    c.syncing,
                    len(c.ghosts),
                    [bool(f.inflight) for f in c.fields.values()],
                    c.problems[:2],
                )
                for c in clients
                if not revisions or not c.settled(revisions[c.plan_id])
            ]
            raise AssertionError(f"no convergence within {timeout}s: {behind[:8]}")
        await asyncio.sleep(0.1)


def check(fault_stack: FaultStack, clients: list[SimClient]) -> dict[str, Any]:
    """Everything the clients were told is what the database holds; every edit typed is
    in the final text exactly once. Returns the figures."""
    data = fault_stack.state()
    problems = [(c.name, p) for c in clients for p in c.problems]
    assert not problems, problems[:5]

    lost: list[str] = []
    duplicated: list[str] = []
    strangers: list[str] = []
    acked_ops = 0
    for plan_id in fault_stack.plan_ids():
        plan = data[str(plan_id)]
        mine = [c for c in clients if c.plan_id == plan_id]
        for client in mine:
            assert client.rev == plan["rev"], (client.name, client.rev, plan["rev"])
            assert client.state == plan["state"], f"{client.name} differs from the database"
        logged = [row[1] for row in plan["log"]]
        assert len(logged) == len(set(logged)) == plan["rev"], "an op id is in the log twice"
        logged_set = set(logged)
        for client in mine:
            acked = set(client.acked)
            acked_ops += len(acked)
            assert acked <= logged_set, f"{client.name}: an acknowledged op is not in the log"
            sent_not_acked = set(client.op_tokens) - acked
            assert not (sent_not_acked & logged_set), f"{client.name}: logged but never acked"
            assert not client.acked_twice, f"{client.name}: acked at two revisions"
            assert sorted(client.acked_tokens()) == sorted(client.typed), (
                f"{client.name}: typed {len(client.typed)}, acked {len(client.acked_tokens())}"
            )
        counts: collections.Counter[str] = collections.Counter()
        for key in {k for c in mine for k in c.fields}:
            counts.update(TOKEN.findall(field_text(plan["state"], key) or ""))
        typed = {t for c in mine for t in c.typed}
        lost += [t for t in typed if counts[t] == 0]
        duplicated += [t for t, n in counts.items() if n > 1]
        strangers += [t for t in counts if t not in typed]
    edits = sum(len(c.typed) for c in clients)
    assert not lost, f"{len(lost)} of {edits} edits lost: {lost[:5]}"
    assert not duplicated, f"{len(duplicated)} edits duplicated: {duplicated[:5]}"
    assert not strangers, f"text nobody typed: {strangers[:5]}"
    errors: collections.Counter[str] = collections.Counter()
    for client in clients:
        errors.update(client.errors)
    return {
        "clients": len(clients),
        "plans": len(fault_stack.plan_ids()),
        "workers": len(fault_stack.workers),
        "edits_typed": edits,
        "ops_acknowledged": acked_ops,
        "revisions": sum(data[str(p)]["rev"] for p in fault_stack.plan_ids()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "reconnects": sum(max(0, len(c.opens) - 1) for c in clients),
        "connection_attempts": sum(len(c.attempts) for c in clients),
        "snapshots_after_first": sum(max(0, c.snapshots - 1) for c in clients),
        "revision_gaps_synced": sum(c.gaps for c in clients),
        "errors": dict(errors),
        "unhandled_exceptions_logged": fault_stack.unhandled_exceptions(),
    }


def report(name: str, figures: dict[str, Any]) -> None:
    """Print the figures (pytest -s shows them) and keep them in var/faults/<name>.json
    for docs/reliability.md."""
    text = json.dumps(figures, indent=2, sort_keys=True, default=str)
    print(f"\n[{name}] {text}")
    try:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{name}.json").write_text(text + "\n")
    except OSError:
        pass


def keep_logs(fault_stack: FaultStack, name: str) -> None:
    """Worker and Redis logs next to the figures, for looking into a failure."""
    try:
        target = RESULTS_DIR / f"{name}-logs"
        target.mkdir(parents=True, exist_ok=True)
        for path in fault_stack.workdir.glob("*.log"):
            shutil.copy(path, target / path.name)
    except OSError:
        pass


def delivery_latency(clients: list[SimClient], start: float, end: float) -> dict[str, Any]:
    """How long after its author got the ack the other clients of the plan had a change
    (milliseconds, p50 / p95 / max), for the changes acknowledged in [start, end)."""
    acks: dict[tuple[int, int], tuple[str, float]] = {}
    for client in clients:
        for op_id, when in client.acked.items():
            if start <= when < end:
                acks[(client.plan_id, client.acked_rev[op_id])] = (client.name, when)
    delays = sorted(
        (other.seen_at[rev] - when) * 1000
        for (plan_id, rev), (author, when) in acks.items()
        for other in clients
        if other.plan_id == plan_id and other.name != author and rev in other.seen_at
    )
    if not delays:
        return {"changes": 0}
    return {
        "changes": len(acks),
        "p50_ms": round(delays[len(delays) // 2]),
        "p95_ms": round(delays[int(len(delays) * 0.95)]),
        "max_ms": round(delays[-1]),
    }
