"""Would grouping live ops into fewer transactions save CPU? One thread applies N text
ops (`services.apply_operations`, the hot path) to M plans in turn, first one
transaction per op, then G ops per transaction (each op keeps its own statements and
a savepoint, as `transaction.atomic` nests). It prints this thread's CPU and the
PostgreSQL backend's CPU per op for each grouping, twice, alternating.

    .venv/bin/python bench/txn_grouping.py [--ops 1000] [--plans 25] [--groups 1 5 25]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

DB_NAME = "ipplan_bench_grouping"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--plans", type=int, default=25)
    p.add_argument("--groups", type=int, nargs="*", default=[1, 5, 25])
    p.add_argument("--database", default=common.database_url(DB_NAME))
    p.add_argument("--json", dest="json_path")
    args = p.parse_args(argv)

    common.recreate_database(args.database)
    common.setup_django(args.database, ALLOWED_HOSTS="127.0.0.1", DEBUG="0")
    common.offset_ids()
    from django.db import connection, transaction

    from bench.live_load import MAX_FIELD, seed
    from ipplan.live import notify
    from ipplan.plans import services
    from ipplan.plans.models import Change, Goal, Plan

    typists = []
    for room in seed(args.plans, 2):
        plan = Plan.objects.select_related("coordinator").get(pk=room["plan"])
        goal_id = room["fields"][0][1]
        typists.append(
            {
                "plan": plan.pk,
                "goal": goal_id,
                "user": plan.coordinator,
                "rev": plan.revision,
                "meeting": room["meeting"],
                "len": len(Goal.objects.get(pk=goal_id).text),
            }
        )

    def backend_cpu() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return common.cpu_seconds(cursor.fetchone()[0])

    def one(t: dict[str, Any]) -> None:
        op = {"type": "text", "target": "goal", "id": t["goal"], "field": "text"}
        # Grow the text, and shrink it once it is long, as call_costs does: the field's
        # limit would refuse the op.
        growing = t["len"] < MAX_FIELD
        op["ops"] = [t["len"], "x"] if growing else [-1, t["len"] - 1]
        result = services.apply_operations(
            plan_id=t["plan"],
            user=t["user"],
            ops=[(op, services.new_op_id())],
            base_revision=t["rev"],
            meeting_id=t["meeting"],
            via="live",
        )[0]
        t["rev"], t["len"] = result.revision, t["len"] + (1 if growing else -1)

    applied = len(typists) * 4
    with notify.collecting():  # warm up: prepared statements, caches, the first connection
        for n in range(applied):
            one(typists[n % len(typists)])
    rows = []
    for group in args.groups * 2:
        cpu0, pg0, wall0 = time.thread_time(), backend_cpu(), time.perf_counter()
        done = 0
        with notify.collecting():  # notifications are not what is measured
            while done < args.ops:
                with transaction.atomic() if group > 1 else contextlib.nullcontext():
                    for _ in range(group):
                        one(typists[done % len(typists)])
                        done += 1
        applied += done
        rows.append(
            {
                "ops_per_transaction": group,
                "python_ms_per_op": round((time.thread_time() - cpu0) / done * 1000, 2),
                "postgres_ms_per_op": round((backend_cpu() - pg0) / done * 1000, 2),
                "wall_ms_per_op": round((time.perf_counter() - wall0) / done * 1000, 2),
            }
        )
    committed = Change.objects.filter(via="live").count()
    print(f"machine: {common.machine()['cpu']}, load {common.loadavg()}")
    print(common.table(list(rows[0]), [list(r.values()) for r in rows]))
    print(f"ops applied {applied}, committed as live changes {committed}")
    if committed != applied:
        raise SystemExit("an op was not committed exactly once")
    report = {"benchmark": "txn_grouping", "rows": rows, "applied": applied}
    report["committed"] = committed
    common.write_json(args.json_path, report)
    return rows


if __name__ == "__main__":
    main()
