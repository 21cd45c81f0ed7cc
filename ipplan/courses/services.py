"""Treatment-course writes: thin wrappers around ipplan.plans.services (target "course").

They add one thing the generic `object_update` cannot know: the order in which to send a
form's changed fields. Each field is its own operation and every operation must leave a
consistent course (ipplan.courses.rules), so "ongoing -> completed on 3 March" has to
set the end date before the status, and "broken off -> completed" the status before
clearing the reason. `update_order` finds such an order by trying the fields on a copy.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from django.utils.translation import gettext as _

from ipplan.plans import services
from ipplan.plans.models import Plan
from ipplan.plans.services import OperationError, OpResult

from .models import TreatmentCourse
from .rules import course_problems

TARGET = "course"


def course_create(
    *, plan_id: int, user: Any, values: dict[str, Any], via: str = "form"
) -> TreatmentCourse:
    result = services.object_create(
        plan_id=plan_id, user=user, target=TARGET, values=values, via=via
    )
    return TreatmentCourse.objects.get(pk=result.result["id"])


def course_update(
    *, plan_id: int, user: Any, course_id: int, values: dict[str, Any], via: str = "form"
) -> list[OpResult]:
    """Change several fields in one transaction (all or nothing), one logged op each."""
    course = TreatmentCourse.objects.alive().filter(plan_id=plan_id, pk=course_id).first()
    if course is None:
        raise OperationError("not_found", _("Fant ikke elementet (kan være slettet)."))
    return services.object_update(
        plan_id=plan_id,
        user=user,
        target=TARGET,
        target_id=course_id,
        values=update_order(course, values),
        via=via,
    )


def course_delete(*, plan_id: int, user: Any, course_id: int, via: str = "form") -> OpResult:
    return services.object_delete(
        plan_id=plan_id, user=user, target=TARGET, target_id=course_id, via=via
    )


def _unchanged(course: TreatmentCourse, name: str, value: Any) -> bool:
    current = services.field_value(course, name)
    return services.serialize_value(value) == current or (
        value in (None, "") and current in (None, "")
    )


def _python_value(name: str, value: Any) -> Any:
    """The value as the model holds it (ISO strings from the API become dates)."""
    spec = services.FIELDS[TARGET].get(name)
    if spec is None:
        return value
    if spec.kind == "date" and isinstance(value, str) and value:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if value is None and spec.kind in {"enum", "text"}:
        return ""
    return value


def update_order(course: TreatmentCourse, values: dict[str, Any]) -> dict[str, Any]:
    """The changed values, ordered so that each single-field step leaves a consistent
    course. Greedy: take the first field (in the given order) whose step is consistent.
    If no order exists the rest keep their order and the service names the problem."""
    pending = {k: v for k, v in values.items() if not _unchanged(course, k, v)}
    trial = copy.copy(course)
    ordered: dict[str, Any] = {}
    while pending:
        chosen = next(iter(pending))
        for name, value in pending.items():
            candidate = copy.copy(trial)
            setattr(candidate, name, _python_value(name, value))
            try:
                consistent = not course_problems(candidate)
            except TypeError:  # a value of the wrong type: the service will say so
                consistent = False
            if consistent:
                chosen = name
                break
        value = pending.pop(chosen)
        setattr(trial, chosen, _python_value(chosen, value))
        ordered[chosen] = value
    return ordered


def course_snapshots(plan: Plan) -> list[dict[str, Any]]:
    """The plan's courses as the live protocol's snapshot shows objects (the same keys
    as a create op's values), for the meeting room."""
    courses = TreatmentCourse.objects.alive().filter(plan=plan)
    return [services.snapshot(course) for course in courses]
