"""Template tags for the meeting slots on the plan page and the dashboard.

{% plan_meetings plan access %}  the plan's meetings: in progress, coming, held
{% dashboard_meetings %}         meetings in progress and coming up in the plans the
                                 user may read (not for unit leaders: they see
                                 statistics only)
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.utils import timezone

from ipplan.plans.models import Plan
from ipplan.plans.permissions import PlanAccess, visible_plans

from ..models import Meeting

register = template.Library()

PAST_SHOWN = 5
DASHBOARD_LIMIT = 20
DASHBOARD_DAYS = 60


@register.inclusion_tag("meetings/_plan_meeting_list.html")
def plan_meetings(plan: Plan, access: PlanAccess) -> dict[str, Any]:
    meetings = list(
        Meeting.objects.filter(plan=plan)
        .select_related("current_item__theme")
        .order_by("scheduled_at")
    )
    in_progress = [m for m in meetings if m.status == Meeting.Status.IN_PROGRESS]
    planned = [m for m in meetings if m.status == Meeting.Status.PLANNED]
    closed = [m for m in meetings if m.status == Meeting.Status.CLOSED]
    closed.reverse()
    return {
        "plan": plan,
        "in_progress": in_progress,
        "planned": planned,
        "closed": closed[:PAST_SHOWN],
        "closed_more": max(0, len(closed) - PAST_SHOWN),
        "can_manage": bool(access and access.can_manage and plan.status != Plan.Status.CLOSED),
    }


def dashboard_meetings_for(user: Any, *, now: datetime.datetime | None = None) -> list[Meeting]:
    """Meetings in progress, and planned ones from today to DASHBOARD_DAYS ahead."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_unit_leader", False):
        return []
    now = now or timezone.now()
    start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    plans = visible_plans(user).values("pk")
    in_progress = Meeting.objects.filter(plan__in=plans, status=Meeting.Status.IN_PROGRESS)
    coming = Meeting.objects.filter(
        plan__in=plans,
        status=Meeting.Status.PLANNED,
        scheduled_at__gte=start_of_today,
        scheduled_at__lte=now + datetime.timedelta(days=DASHBOARD_DAYS),
    )
    meetings = list(
        (in_progress | coming)
        .select_related("plan__person")
        .order_by("scheduled_at")[:DASHBOARD_LIMIT]
    )
    # Meetings under way first: they are where people are needed now.
    meetings.sort(key=lambda m: (m.status != Meeting.Status.IN_PROGRESS, m.scheduled_at))
    return meetings


@register.inclusion_tag("meetings/_dashboard_list.html", takes_context=True)
def dashboard_meetings(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "meetings": dashboard_meetings_for(user),
        "show": not getattr(user, "is_unit_leader", False),
    }
