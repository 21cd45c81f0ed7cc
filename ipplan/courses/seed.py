"""Demo treatment courses (seeds/courses.json), loaded by the demo loader.

    from ipplan.courses.seed import load_demo_courses
    load_demo_courses(plans={"anders": plan, ...}, user=coordinator)

- `courses` in the file belong to the demo people of seeds/demo.json. An entry's
  "person" is looked up as a key of `plans`, then as the first name or user name of a
  plan's person (case-insensitive), so the loader's own key scheme does not matter.
  Entries for people not passed are skipped.
- `cohort` are further invented people, each with a plan of their own coordinated by
  one of the demo plans' coordinators in turn, so that the unit leader's statistics
  have cells of 5 or more to show. Some of their plans are closed afterwards, as
  history. Pass cohort=False to leave them out.

Everything is written through the services (change log included), as the plan's
coordinator unless `user` may edit the plan. Day fields are offsets from today.
Idempotent: a course is not added again if the plan already has one of the same kind
and provider for that entry (dates are ignored, so a run on another day adds nothing),
and a cohort person is found again by name and date of birth.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from ipplan.plans import services
from ipplan.plans.models import Consent, Person, Plan
from ipplan.plans.permissions import plan_access

from .models import TreatmentCourse
from .services import course_create

SEED_PATH = Path(__file__).resolve().parents[2] / "seeds" / "courses.json"
DAY_FIELDS = {
    "referral": "referral_date",
    "start": "start_date",
    "planned_end": "planned_end",
    "end": "end_date",
}


def load_demo_courses(
    *,
    plans: Mapping[str, Plan],
    user: Any,
    cohort: bool = True,
    path: Path = SEED_PATH,
) -> int:
    """Add the demo courses (and cohort plans); returns how many courses were added."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    today = timezone.localdate()
    demo_plans = _resolve_plans(plans)
    created = 0
    by_plan: dict[int, list[dict[str, Any]]] = {}
    for entry in data.get("courses", []):
        plan = _find_plan(demo_plans, str(entry.get("person", "")))
        if plan is not None:
            by_plan.setdefault(plan.pk, []).append(entry)
    plan_by_id = {p.pk: p for p in demo_plans.values()}
    for plan_id, entries in by_plan.items():
        plan = plan_by_id[plan_id]
        created += _add_courses(plan, entries, actor=_actor(user, plan), today=today)
    if cohort:
        coordinators = _coordinators(demo_plans.values(), fallback=user)
        for index, person in enumerate(data.get("cohort", [])):
            created += _load_cohort_person(
                person, coordinator=coordinators[index % len(coordinators)], today=today
            )
    return created


# ------------------------------------------------------------------------ helpers


def _resolve_plans(plans: Mapping[str, Any]) -> dict[str, Plan]:
    resolved: dict[str, Plan] = {}
    for key, value in plans.items():
        plan = value if isinstance(value, Plan) else Plan.objects.filter(pk=value).first()
        if plan is not None:
            resolved[str(key)] = Plan.objects.select_related("person__user", "coordinator").get(
                pk=plan.pk
            )
    return resolved


def _find_plan(plans: dict[str, Plan], person_key: str) -> Plan | None:
    wanted = person_key.strip().lower()
    for key, plan in plans.items():
        if key.lower() == wanted:
            return plan
    for plan in plans.values():
        person = plan.person
        names = {person.first_name.lower(), person.full_name.lower()}
        if person.user_id:
            names.add(person.user.username.lower())
        if wanted in names:
            return plan
    return None


def _actor(user: Any, plan: Plan) -> Any:
    if user is not None and plan_access(user, plan).can_edit:
        return user
    return plan.coordinator


def _coordinators(plans: Any, *, fallback: Any) -> list[Any]:
    found = {plan.coordinator_id: plan.coordinator for plan in plans}
    people = sorted(found.values(), key=lambda u: u.username)
    return people or [fallback]


def _day(today: datetime.date, offset: Any) -> datetime.date | None:
    return None if offset is None else today + datetime.timedelta(days=int(offset))


def _values(entry: dict[str, Any], today: datetime.date) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": entry["kind"],
        "provider": entry["provider"],
        "status": entry.get("status", TreatmentCourse.Status.REFERRED),
        "break_reason": entry.get("break_reason", ""),
        "break_note": entry.get("break_note", ""),
    }
    for key, field in DAY_FIELDS.items():
        values[field] = _day(today, entry.get(key))
    return values


def _add_courses(
    plan: Plan, entries: list[dict[str, Any]], *, actor: Any, today: datetime.date
) -> int:
    """Add the entries the plan does not have yet (matched by kind and provider, as
    many times as the entries list them)."""
    if plan.status == Plan.Status.CLOSED:
        return 0  # read-only history; its courses were added before it was closed
    existing: dict[tuple[str, str], int] = {}
    for kind, provider in (
        TreatmentCourse.objects.alive().filter(plan=plan).values_list("kind", "provider")
    ):
        existing[(kind, provider)] = existing.get((kind, provider), 0) + 1
    created = 0
    for entry in entries:
        key = (entry["kind"], entry["provider"])
        if existing.get(key):
            existing[key] -= 1
            continue
        course_create(plan_id=plan.pk, user=actor, values=_values(entry, today))
        created += 1
    return created


@transaction.atomic
def _load_cohort_person(data: dict[str, Any], *, coordinator: Any, today: datetime.date) -> int:
    birth = datetime.date.fromisoformat(data["birth_date"])
    person, _new = Person.objects.get_or_create(
        first_name=data["first_name"], last_name=data["last_name"], birth_date=birth
    )
    spec = data.get("plan", {})
    plan = Plan.objects.filter(person=person).order_by("-period_start", "-pk").first()
    if plan is None:
        start = _day(today, spec.get("period_start", -365))
        plan = services.plan_create(
            person=person,
            coordinator=coordinator,
            created_by=coordinator,
            period_start=start,
            status=Plan.Status.ACTIVE,
            what_matters=data.get("what_matters", ""),
        )
        services.consent_record(
            plan_id=plan.pk, user=coordinator, kind=Consent.Kind.PLAN, given_on=start
        )
        plan = Plan.objects.select_related("coordinator").get(pk=plan.pk)
    created = _add_courses(plan, data.get("courses", []), actor=plan.coordinator, today=today)
    if spec.get("status") == Plan.Status.CLOSED and plan.status != Plan.Status.CLOSED:
        services.object_update(
            plan_id=plan.pk,
            user=plan.coordinator,
            target="plan",
            target_id=plan.pk,
            values={"period_end": _day(today, spec.get("period_end", -1)), "status": "closed"},
        )
    return created
