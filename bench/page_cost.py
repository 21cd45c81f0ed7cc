"""Pages and API for a small and a large plan: SQL queries per request and time.

    .venv/bin/python bench/page_cost.py [--json var/bench/pages.json]

Seeds, through ipplan's services, a small plan (3 themes, 1 goal, 1 measure, 4 members)
and a large one (20 themes, 100 goals, 300 measures, 10 members, 10,000 changes in its
history, a meeting in progress with all 20 themes on the agenda) in the scratch
database ipplan_bench_pages (dropped, created and migrated here). Then requests every
plan-sized page and API endpoint through Django's full stack (middleware, sessions,
templates, DRF) as the coordinator and as an edit member, counting SQL queries and
timing each request (wall time, and this process's CPU time, which other work on a
shared machine sways less). A page "scales" if the large plan needs no more queries
than the small one; the target is at most 15 queries whatever the plan's size.

The live snapshot (what a socket sends on join) is measured the same way, as a call.
Building a meeting record is measured by bench/record_build.py.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

DB_NAME = "ipplan_bench_pages"
QUERY_TARGET = 15
LARGE = {"themes": 20, "goals": 100, "measures": 300, "members": 10, "changes": 10_000}
SMALL = {"themes": 3, "goals": 1, "measures": 1, "members": 4, "changes": 0}
BATCH = 200  # services.MAX_OPS_PER_CALL


def _ops(plan_id: int, user: Any, ops: list[dict]) -> list:
    from ipplan.plans import services

    results = []
    for start in range(0, len(ops), BATCH):
        chunk = ops[start : start + BATCH]
        results += services.apply_operations(
            plan_id=plan_id, user=user, ops=[(op, services.new_op_id()) for op in chunk]
        )
    return results


def seed_plan(name: str, size: dict[str, int]) -> dict[str, Any]:
    """One plan of the given size, written through the services like the app does."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from ipplan.accounts.models import Organisation, User
    from ipplan.meetings import services as meetings
    from ipplan.plans import services
    from ipplan.plans.models import Consent, Member, Person, Plan

    started = time.monotonic()
    today = timezone.localdate()
    org = Organisation.objects.create(name=f"Enhet {name}", kind="Kommune")
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                username=f"{name}_{k}",
                first_name=f"Bruker{k}",
                last_name=name.title(),
                organisation=org,
                password=unusable,
            )
            for k in range(size["members"])
        ]
    )
    coordinator = users[0]
    coordinator.user_permissions.add(Permission.objects.get(codename="add_plan"))
    coordinator = User.objects.get(pk=coordinator.pk)
    person = Person.objects.create(
        first_name="Per", last_name=name.title(), birth_date=datetime.date(1990, 1, 1)
    )
    plan = services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=today - datetime.timedelta(days=200),
        period_end=today + datetime.timedelta(days=365),
        what_matters="Å bo trygt og ha noe meningsfullt å gjøre på dagtid.",
        status=Plan.Status.ACTIVE,
    )
    member_results = _ops(
        plan.pk,
        coordinator,
        [
            {
                "type": "create",
                "target": "member",
                "values": {
                    "user": user.pk,
                    "role": Member.Role.SPECIALIST,
                    "organisation": org.pk,
                    "service": f"Tjeneste {k}",
                    "access": Member.Access.EDIT if k % 2 else Member.Access.COMMENT,
                    "active_from": (today - datetime.timedelta(days=100)).isoformat(),
                },
            }
            for k, user in enumerate(users[1:], start=1)
        ],
    )
    member_ids = [r.result["id"] for r in member_results]
    given = today - datetime.timedelta(days=100)
    services.consent_record(
        plan_id=plan.pk, user=coordinator, kind=Consent.Kind.PLAN, given_on=given
    )
    services.consent_record(
        plan_id=plan.pk,
        user=coordinator,
        kind=Consent.Kind.SHARING,
        given_on=given,
        members=list(Member.objects.filter(pk__in=member_ids)),
        scope="Opplysninger som trengs for planen.",
    )
    themes = [
        r.result["id"]
        for r in _ops(
            plan.pk,
            coordinator,
            [
                {
                    "type": "create",
                    "target": "theme",
                    "values": {"title": f"Hovedtema {t + 1}", "current_situation": "Status."},
                }
                for t in range(size["themes"])
            ],
        )
    ]
    goal_ops = []
    for g in range(size["goals"]):
        goal_ops.append(
            {
                "type": "create",
                "target": "goal",
                "values": {
                    "theme": themes[g % len(themes)],
                    "level": "main" if g % 3 == 0 else "sub",
                    "text": f"Mål {g + 1}: bo i egen leilighet innen sommeren",
                    "success_criterion": "Har signert leiekontrakt",
                    "evaluation_date": (today + datetime.timedelta(days=90)).isoformat(),
                    "status": "in_progress",
                    "expressed_by": "Per",
                },
            }
        )
    goals = [r.result["id"] for r in _ops(plan.pk, coordinator, goal_ops)]
    goal_theme = {gid: themes[g % len(themes)] for g, gid in enumerate(goals)}
    measure_ops = []
    for m in range(size["measures"]):
        goal = goals[m % len(goals)]
        measure_ops.append(
            {
                "type": "create",
                "target": "measure",
                "values": {
                    "theme": goal_theme[goal],
                    "goal": goal,
                    "description": f"Tiltak {m + 1}: søke bostøtte",
                    "how": "Sammen med koordinator.",
                    "responsible": member_ids[m % len(member_ids)],
                    "responsible_service": "NAV",
                    "start_date": today.isoformat(),
                    "due_date": (today + datetime.timedelta(days=60)).isoformat(),
                    "status": "ongoing",
                },
            }
        )
    measures = [r.result["id"] for r in _ops(plan.pk, coordinator, measure_ops)]
    # History: scalar and text edits spread over goals and measures.
    revision = Plan.objects.get(pk=plan.pk).revision
    edits = []
    statuses = ["planned", "ongoing", "done", "ongoing"]
    for i in range(max(0, size["changes"] - revision)):
        if i % 2:
            edits.append(
                {
                    "type": "set",
                    "target": "measure",
                    "id": measures[i % len(measures)],
                    "field": "status",
                    "value": statuses[i % len(statuses)],
                }
            )
        else:
            edits.append(
                {
                    "type": "set",
                    "target": "goal",
                    "id": goals[i % len(goals)],
                    "field": "success_criterion",
                    "value": f"Har signert leiekontrakt (versjon {i})",
                }
            )
    _ops(plan.pk, coordinator, edits)
    meeting = meetings.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now(), place="Møterom 2"
    )
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    plan.refresh_from_db()
    editor = User.objects.get(pk=users[1].pk)  # access EDIT (k = 1 is odd)
    return {
        "name": name,
        "plan": plan,
        "meeting": meeting,
        "coordinator": coordinator,
        "member": editor,
        "size": {**size, "changes": plan.revision},
        "seed_seconds": round(time.monotonic() - started, 1),
    }


def endpoints(seeded: dict[str, Any]) -> list[tuple[str, str]]:
    from django.urls import reverse

    plan_id = seeded["plan"].pk
    meeting_id = seeded["meeting"].pk
    api = {"plan_pk": plan_id}
    return [
        ("plan page (plans:detail)", reverse("plans:detail", args=[plan_id])),
        ("API plan (api:plan-detail)", reverse("api:plan-detail", kwargs=api)),
        ("API themes (api:theme-list)", reverse("api:theme-list", kwargs=api)),
        ("API goals (api:goal-list)", reverse("api:goal-list", kwargs=api)),
        ("API measures (api:measure-list)", reverse("api:measure-list", kwargs=api)),
        ("API members (api:member-list)", reverse("api:member-list", kwargs=api)),
        ("API changes (api:change-list)", reverse("api:change-list", kwargs=api)),
        ("API FHIR CarePlan (api:plan-fhir)", reverse("api:plan-fhir", kwargs=api)),
        ("meeting room (meetings:room)", reverse("meetings:room", args=[meeting_id])),
        ("meeting page (meetings:detail)", reverse("meetings:detail", args=[meeting_id])),
        ("history (records:history)", reverse("records:history", args=[plan_id])),
    ]


def measure_request(client: Any, url: str, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm up (template loading, imports, first queries)
    status = response.status_code
    counts, times, cpu = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            cpu.append(time.process_time() - cpu_started)
        counts.append(len(queries.captured_queries))
        times.append(elapsed)
        status = response.status_code
    times.sort()
    return {
        "status": status,
        "queries": max(counts),
        "queries_min": min(counts),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(common.percentile(times, 95) * 1000, 1),
        **_cpu(cpu),
        "bytes": len(response.content),
    }


def _cpu(seconds: list[float]) -> dict[str, float]:
    """This process's CPU time per request (Django's side: middleware, views, templates,
    the database driver; not PostgreSQL's). Less swayed than wall time by other work on
    a shared machine."""
    return {
        "cpu_median_ms": round(statistics.median(seconds) * 1000, 1),
        "cpu_min_ms": round(min(seconds) * 1000, 1),
    }


def measure_snapshot(seeded: dict[str, Any], user: Any, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ipplan.live import handlers

    def call() -> Any:
        return handlers.snapshot(
            plan_id=seeded["plan"].pk, user=user, meeting_id=seeded["meeting"].pk
        )

    call()
    counts, times, cpu = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            data = call()
            elapsed = time.perf_counter() - started
            cpu.append(time.process_time() - cpu_started)
        counts.append(len(queries.captured_queries))
        times.append(elapsed)
    import json

    times.sort()
    return {
        "status": "ok" if data else "refused",
        "queries": max(counts),
        "queries_min": min(counts),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(common.percentile(times, 95) * 1000, 1),
        **_cpu(cpu),
        "bytes": len(json.dumps(data, default=str)),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per endpoint")
    parser.add_argument("--changes", type=int, default=LARGE["changes"])
    parser.add_argument(
        "--large",
        default="",
        help='override the large plan, e.g. "themes=4,goals=8,measures=12" (smoke tests)',
    )
    parser.add_argument("--database", default=common.database_url(DB_NAME))
    args = parser.parse_args(argv)

    info = common.machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, load {info['loadavg_at_start']}")
    common.recreate_database(args.database)  # migrated
    # The API's per-user throttle would otherwise answer 429 to the timed requests.
    common.setup_django(args.database, IPPLAN_API_RATE_USER="1000000/min")
    from django.test import Client

    large = {**LARGE, "changes": args.changes}
    for item in filter(None, args.large.split(",")):
        key, _, value = item.partition("=")
        if key.strip() not in large:
            parser.error(f"--large: unknown size {key!r}")
        large[key.strip()] = int(value)
    plans = [seed_plan("small", SMALL), seed_plan("large", large)]
    for p in plans:
        print(f"seeded {p['name']} plan {p['size']} in {p['seed_seconds']} s")

    results: dict[str, Any] = {}
    for seeded in plans:
        for role in ("coordinator", "member"):
            client = Client()
            client.force_login(seeded[role])
            rows = {}
            for label, url in endpoints(seeded):
                rows[label] = measure_request(client, url, args.runs)
            rows["live snapshot (handlers.snapshot)"] = measure_snapshot(
                seeded, seeded[role], args.runs
            )
            results[f"{seeded['name']}/{role}"] = rows

    labels = list(results["small/coordinator"])
    table_rows = []
    verdicts = {}
    for label in labels:
        for role in ("coordinator", "member"):
            small = results[f"small/{role}"][label]
            large = results[f"large/{role}"][label]
            scales = large["queries"] <= small["queries"]
            ok = scales and large["queries"] <= QUERY_TARGET and large["status"] in (200, "ok")
            verdicts[f"{label} [{role}]"] = ok
            table_rows.append(
                [
                    label,
                    role,
                    small["status"],
                    small["queries"],
                    large["queries"],
                    small["median_ms"],
                    large["median_ms"],
                    large["p95_ms"],
                    large["cpu_median_ms"],
                    round(large["bytes"] / 1024, 1),
                    "ok" if ok else "MISSED",
                ]
            )
    print(f"\nload {common.loadavg()}; {args.runs} timed requests each")
    print(
        common.table(
            [
                "endpoint",
                "as",
                "status",
                "queries small",
                "queries large",
                "ms small",
                "ms large",
                "p95 large",
                "cpu ms large",
                "KiB large",
                f"<= {QUERY_TARGET}, flat",
            ],
            table_rows,
        )
    )
    report = {
        "benchmark": "page_cost",
        "finished": common.now_iso(),
        "machine": info,
        "loadavg_at_end": common.loadavg(),
        "sizes": {p["name"]: p["size"] for p in plans},
        "query_target": QUERY_TARGET,
        "results": results,
        "verdicts": verdicts,
    }
    common.write_json(args.json_path, report)
    return report


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipplan.settings")
    main()
