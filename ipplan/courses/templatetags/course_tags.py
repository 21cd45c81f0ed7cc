"""Template tags for the plans pages' course and dashboard slots.

{% plan_courses plan access %}  the plan's treatment courses (plan page)
{% overdue_goals %}              goals whose evaluation date has passed, in the plans
                                 the user may read
{% course_labels %}              kind/status/reason names and a few words, as JSON for
                                 the meeting room's course list (data-course-labels="…")
{% goal_rule_messages %}         the vague-goal messages in the active language, as
                                 JSON for goal_rules.js (data-goal-rule-messages="…")
"""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext

from ipplan.plans.goal_rules import rule_messages
from ipplan.plans.models import Goal, Plan
from ipplan.plans.permissions import PlanAccess, visible_plans

from ..models import TreatmentCourse

register = template.Library()

OVERDUE_LIMIT = 50
OPEN_GOAL = (Goal.Status.NOT_STARTED, Goal.Status.IN_PROGRESS)


@register.inclusion_tag("courses/_course_list.html")
def plan_courses(plan: Plan, access: PlanAccess) -> dict[str, Any]:
    courses = TreatmentCourse.objects.alive().filter(plan=plan)
    return {"plan": plan, "courses": list(courses), "can_edit": bool(access and access.can_edit)}


def overdue_goals_for(user: Any, *, limit: int = OVERDUE_LIMIT) -> list[Goal]:
    """Open goals (not started or in progress) whose evaluation date has passed, in the
    open plans the user may read; oldest first. Achieved, not achieved and revised
    goals have been evaluated, so they are not listed."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_unit_leader", False):
        return []
    plans = visible_plans(user).exclude(status=Plan.Status.CLOSED).values("pk")
    goals = (
        Goal.objects.alive()
        .filter(
            plan__in=plans,
            theme__deleted_at__isnull=True,
            status__in=OPEN_GOAL,
            evaluation_date__lt=timezone.localdate(),
        )
        .select_related("plan__person", "theme")
        .order_by("evaluation_date", "pk")
    )
    return list(goals[:limit])


@register.inclusion_tag("courses/_dashboard_goals.html", takes_context=True)
def overdue_goals(context: template.Context) -> dict[str, Any]:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return {"goals": overdue_goals_for(user), "limit": OVERDUE_LIMIT}


@register.simple_tag
def goal_rule_messages() -> str:
    return json.dumps(rule_messages(), ensure_ascii=False)


@register.simple_tag
def course_labels() -> str:
    """What static/js/meeting/courses.js needs to show a course in the active language
    (the JSON is escaped by the template, as an attribute value)."""
    return json.dumps(
        {
            "kind": dict(TreatmentCourse.Kind.choices),
            "status": dict(TreatmentCourse.Status.choices),
            "break_reason": dict(TreatmentCourse.BreakReason.choices),
            "referral_date": gettext("Referred"),
            "start_date": gettext("Started"),
            "planned_end": gettext("Planned end"),
            "end_date": gettext("Ended"),
            "reason": gettext("Reason"),
        },
        ensure_ascii=False,
        default=str,
    )
