"""Query counts whatever a plan's size (docs/performance.md, section 2).

The query-count tests (tests/plans, tests/api, tests/records: test_query_counts.py)
request a page for the persona fixture's small plan, grow that plan through the
services with `grow`, and request the page again: both answers must take the same
number of SQL queries, and at most QUERY_TARGET.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ipplan.accounts.models import Organisation, User
from ipplan.plans import services
from ipplan.plans.models import Consent, Goal, Measure, Member, Plan, Theme

QUERY_TARGET = 15
# The roles asked about: the coordinator, and an ordinary member with edit access
# (whose access also needs a covering sharing consent).
PERSONAS = ["coordinator", "specialist"]

TODAY = datetime.date.today()


def _days(n: int) -> str:
    return (TODAY + datetime.timedelta(days=n)).isoformat()


def _apply(plan: Plan, user: Any, ops: list[dict[str, Any]]) -> list[services.OpResult]:
    results: list[services.OpResult] = []
    for start in range(0, len(ops), services.MAX_OPS_PER_CALL):
        chunk = ops[start : start + services.MAX_OPS_PER_CALL]
        results += services.apply_operations(
            plan_id=plan.pk, user=user, ops=[(op, services.new_op_id()) for op in chunk]
        )
    return results


def grow(
    plan: Plan,
    coordinator: Any,
    *,
    themes: int = 5,
    goals: int = 20,
    measures: int = 40,
    members: int = 8,
    changes: int = 300,
) -> Plan:
    """Make the persona fixture's plan large, through the services: `themes` more main
    themes, then goals, measures and members up to the given totals (some measures
    without a goal, responsibility spread over the members, one new member without a
    covering consent, one goal and one measure deleted) and at least `changes` more
    changes in its history."""
    org = Organisation.objects.create(name="Bydel Vest", kind="Kommune")
    existing = list(Member.objects.filter(plan=plan).order_by("pk"))
    unusable = make_password(None)
    new_users = User.objects.bulk_create(
        [
            User(
                username=f"medlem{k}",
                first_name=f"Medlem{k}",
                last_name="Stor",
                organisation=org,
                password=unusable,
            )
            for k in range(max(0, members - len(existing)))
        ]
    )
    accesses = [Member.Access.EDIT, Member.Access.COMMENT, Member.Access.READ]
    created = _apply(
        plan,
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
                    "access": accesses[k % len(accesses)],
                    "active_from": _days(-10),
                },
            }
            for k, user in enumerate(new_users)
        ],
    )
    new_members = list(Member.objects.filter(pk__in=[r.result["id"] for r in created]))
    if len(new_members) > 1:
        # The last one stays uncovered: the page warns about it.
        services.consent_record(
            plan_id=plan.pk,
            user=coordinator,
            kind=Consent.Kind.SHARING,
            given_on=TODAY - datetime.timedelta(days=5),
            members=new_members[:-1],
            scope="Opplysninger som trengs for planen.",
        )
    _apply(
        plan,
        coordinator,
        [
            {
                "type": "create",
                "target": "theme",
                "values": {"title": f"Tema {t + 1}", "current_situation": "Status."},
            }
            for t in range(themes)
        ],
    )
    theme_ids = list(
        Theme.objects.alive()
        .filter(plan=plan)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    have_goals = Goal.objects.alive().filter(plan=plan).count()
    goal_results = _apply(
        plan,
        coordinator,
        [
            {
                "type": "create",
                "target": "goal",
                "values": {
                    "theme": theme_ids[g % len(theme_ids)],
                    "level": "main" if g % 3 == 0 else "sub",
                    # Some vague goals, so the page shows its advice too.
                    "text": f"Mål {g + 1}: bo i egen leilighet innen sommeren"
                    if g % 4
                    else "Ha det bedre",
                    "success_criterion": "Har signert leiekontrakt",
                    "evaluation_date": _days(-3 if g % 5 == 0 else 90),
                    "status": "in_progress",
                    "expressed_by": "Per",
                },
            }
            for g in range(max(0, goals - have_goals))
        ],
    )
    goal_ids = [r.result["id"] for r in goal_results]
    goal_theme = dict(Goal.objects.filter(pk__in=goal_ids).values_list("pk", "theme_id"))
    member_ids = list(Member.objects.filter(plan=plan).order_by("pk").values_list("pk", flat=True))
    have_measures = Measure.objects.alive().filter(plan=plan).count()
    measure_ops = []
    for m in range(max(0, measures - have_measures)):
        goal = goal_ids[m % len(goal_ids)] if goal_ids and m % 4 else None
        measure_ops.append(
            {
                "type": "create",
                "target": "measure",
                "values": {
                    "theme": goal_theme[goal] if goal else theme_ids[m % len(theme_ids)],
                    "goal": goal,
                    "description": f"Tiltak {m + 1}: søke bostøtte",
                    "how": "Sammen med koordinator." if m % 2 else "",
                    "responsible": member_ids[m % len(member_ids)] if m % 3 else None,
                    "responsible_service": "NAV",
                    "start_date": _days(-20),
                    "due_date": _days(-1 if m % 6 == 0 else 60),
                    "status": "ongoing",
                },
            }
        )
    measure_ids = [r.result["id"] for r in _apply(plan, coordinator, measure_ops)]
    if len(goal_ids) > 1 and len(measure_ids) > 1:
        _apply(
            plan,
            coordinator,
            [
                {"type": "delete", "target": "goal", "id": goal_ids[-1]},
                {"type": "delete", "target": "measure", "id": measure_ids[-1]},
            ],
        )
        goal_ids, measure_ids = goal_ids[:-1], measure_ids[:-1]
    statuses = ["planned", "ongoing", "done", "ongoing"]
    edits = []
    for i in range(changes):
        if i % 2 and measure_ids:
            edits.append(
                {
                    "type": "set",
                    "target": "measure",
                    "id": measure_ids[i % len(measure_ids)],
                    "field": "status",
                    "value": statuses[i % len(statuses)],
                }
            )
        elif goal_ids:
            edits.append(
                {
                    "type": "set",
                    "target": "goal",
                    "id": goal_ids[i % len(goal_ids)],
                    "field": "success_criterion",
                    "value": f"Har signert leiekontrakt (versjon {i})",
                }
            )
    _apply(plan, coordinator, edits)
    return Plan.objects.get(pk=plan.pk)


def queries_for(client: Client, url: str) -> tuple[Any, list[str]]:
    """The answer to a GET of `url` and the SQL it took, after one warm-up request
    (template loading and per-process caches are not the page's cost)."""
    warm = client.get(url)
    assert warm.status_code == 200, (url, warm.status_code)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response, [q["sql"] for q in captured.captured_queries]


def assert_flat(small: list[str], large: list[str]) -> None:
    """The same number of queries for the large plan as for the small one, within
    the target. The message lists both runs' SQL."""

    def listing(name: str, queries: list[str]) -> str:
        lines = "\n".join(f"  {n + 1:>2}. {sql[:240]}" for n, sql in enumerate(queries))
        return f"{name} ({len(queries)} queries):\n{lines}"

    detail = f"\n{listing('small plan', small)}\n{listing('large plan', large)}"
    assert len(large) == len(small), f"the query count grows with the plan{detail}"
    assert len(large) <= QUERY_TARGET, f"more than {QUERY_TARGET} queries{detail}"
