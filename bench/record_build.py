"""Benchmark: build the record of a meeting with 5,000 operations.

Seeds its own data on a scratch database (created and dropped here; never the one in
DATABASE_URL itself), runs a meeting in which four people type keystroke by keystroke
into a dozen fields and set statuses, dates and responsibles through the real writer
path, closes it, and times `build_meeting_record` (the pure fold over the change log,
including its queries). Target: under 200 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipplan_record_bench \
        .venv/bin/python bench/record_build.py
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipplan.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ipplan_record_bench")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

OPERATIONS = int(os.environ.get("BENCH_OPERATIONS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TARGET_MS = 200
BATCH = 200
SENTENCE = (
    "Per ønsker å bo i egen leilighet nær jobben og trenger hjelp til å søke bostøtte og til å "
    "følge opp avtalene med NAV og fastlegen hver uke fram til sommeren"
)
WORDS = SENTENCE.split()


def seed() -> tuple[object, object]:
    from ipplan.accounts.models import Organisation, User
    from ipplan.meetings import services as meetings
    from ipplan.plans import services
    from ipplan.plans.models import Consent, Member, Person, Plan, Theme, ThemeTemplate

    for index, title in enumerate(["Bolig", "Arbeid", "Økonomi", "Helse", "Rus", "Nettverk"]):
        ThemeTemplate.objects.create(code=f"t{index}", title=title, position=index)
    org = Organisation.objects.create(name="Mestringsenheten")
    coordinator = User.objects.create_user(
        "kari", password=None, first_name="Kari", last_name="K", organisation=org
    )
    coordinator.user_permissions.add(Permission.objects.get(codename="add_plan"))
    coordinator = User.objects.get(pk=coordinator.pk)
    others = [
        User.objects.create_user(name, password=None, first_name=name.title(), last_name="B")
        for name in ("siv", "nils", "frida")
    ]
    person = Person.objects.create(
        first_name="Per", last_name="P", birth_date=datetime.date(1990, 1, 1)
    )
    today = timezone.localdate()
    plan = services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=today - datetime.timedelta(days=30),
        period_end=today + datetime.timedelta(days=365),
        status=Plan.Status.ACTIVE,
    )
    members = []
    for user in others:
        result = services.object_create(
            plan_id=plan.pk,
            user=coordinator,
            target="member",
            values={
                "user": user.pk,
                "role": Member.Role.SPECIALIST,
                "access": Member.Access.EDIT,
                "active_from": today - datetime.timedelta(days=10),
                "service": user.first_name,
            },
        )
        members.append(Member.objects.get(pk=result.result["id"]))
    services.consent_record(
        plan_id=plan.pk,
        user=coordinator,
        kind=Consent.Kind.SHARING,
        given_on=today - datetime.timedelta(days=10),
        members=members,
    )
    goals, measures = [], []
    for theme in Theme.objects.filter(plan=plan):
        goal = services.object_create(
            plan_id=plan.pk,
            user=coordinator,
            target="goal",
            values={
                "theme": theme.pk,
                "text": "Mål",
                "success_criterion": "Kriterium",
                "evaluation_date": today + datetime.timedelta(days=90),
            },
        ).result["id"]
        goals.append(goal)
        measures.append(
            services.object_create(
                plan_id=plan.pk,
                user=coordinator,
                target="measure",
                values={
                    "theme": theme.pk,
                    "goal": goal,
                    "description": "Tiltak",
                    "responsible": members[0].pk,
                    "due_date": today + datetime.timedelta(days=30),
                },
            ).result["id"]
        )
    meeting = meetings.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now()
    )
    meeting = meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)

    # Keystrokes: each person types into their own fields; every 25th op is a scalar edit.
    users = [coordinator, *others]
    fields = [("goal", g, "text") for g in goals] + [("measure", m, "how") for m in measures]
    texts: dict[tuple, str] = {key: "Mål" if key[2] == "text" else "" for key in fields}
    statuses = ["planned", "ongoing", "done", "ongoing"]
    ops = []
    for n in range(OPERATIONS):
        user = users[(n // 40) % len(users)]  # each person types in bursts
        if n % 25 == 24:
            measure = measures[n % len(measures)]
            if n % 50 == 49:
                op = {
                    "type": "set",
                    "target": "measure",
                    "id": measure,
                    "field": "responsible",
                    "value": members[n % len(members)].pk,
                }
            else:
                op = {
                    "type": "set",
                    "target": "measure",
                    "id": measure,
                    "field": "status",
                    "value": statuses[(n // 25) % len(statuses)],
                }
        else:
            key = fields[(n // 7 + n % len(users) * 3) % len(fields)]
            word = WORDS[n % len(WORDS)]
            texts[key] = texts[key] + " " + word[: 1 + n % 3]
            op = {
                "type": "set",
                "target": key[0],
                "id": key[1],
                "field": key[2],
                "value": texts[key],
            }
        ops.append((user, op))
    # One call per run of the same user (up to BATCH ops): the real writer path, fast.
    start = 0
    while start < len(ops):
        user = ops[start][0]
        end = start
        while end < len(ops) and end - start < BATCH and ops[end][0] is user:
            end += 1
        services.apply_operations(
            plan_id=plan.pk,
            user=user,
            meeting_id=meeting.pk,
            via="live",
            ops=[(op, services.new_op_id()) for _u, op in ops[start:end]],
        )
        start = end
    meeting = meetings.meeting_close(meeting_id=meeting.pk, user=coordinator)
    return plan, meeting


def main() -> None:
    from ipplan.plans.models import Change
    from ipplan.records.builder import build_meeting_record

    old_name = connection.settings_dict["NAME"]
    scratch = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        t0 = time.perf_counter()
        plan, meeting = seed()
        seeded = time.perf_counter() - t0
        ops = Change.objects.filter(
            plan=plan, revision__gt=meeting.start_revision, revision__lte=meeting.end_revision
        ).count()
        build_meeting_record(meeting)  # warm caches (imports, translations)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(build_meeting_record, meeting)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        timings = []
        for _ in range(RUNS):
            t = time.perf_counter()
            content = build_meeting_record(meeting)
            timings.append((time.perf_counter() - t) * 1000)
        median = statistics.median(timings)
        print(f"database: {scratch} (scratch, dropped afterwards); seeding took {seeded:.1f} s")
        print(f"meeting operations: {ops}; record entries: {content['counts']['entries']}")
        print(
            f"build_meeting_record: median {median:.1f} ms, min {min(timings):.1f} ms, "
            f"max {max(timings):.1f} ms over {RUNS} runs (target < {TARGET_MS} ms): "
            f"{'OK' if median < TARGET_MS else 'TOO SLOW'}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    main()
