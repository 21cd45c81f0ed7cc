"""Template helpers for records.

{% records_plan_links %}   on the plan page (context: plan, access): history, records,
                           comments, review status, PDF.
{% records_dashboard %}    on the dashboard (context: request): tasks, plans changed
                           since the user's last review, records to acknowledge,
                           consents that expire soon.
{{ iso|iso_dt }}           an ISO timestamp from a frozen record as a datetime.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _lazy

from ipplan.plans.models import Plan

from .. import queries
from ..models import Comment, MeetingRecord, RecordAcknowledgement

register = template.Library()


@register.filter
def iso_dt(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    return parse_datetime(str(value))


@register.inclusion_tag("records/tags/plan_links.html", takes_context=True)
def records_plan_links(context: template.Context) -> dict[str, Any]:
    plan: Plan = context["plan"]
    access = context["access"]
    user = context["request"].user
    records = list(MeetingRecord.objects.filter(plan=plan).select_related("meeting")[:5])
    acked = set(
        RecordAcknowledgement.objects.filter(record__in=records, user=user).values_list(
            "record_id", flat=True
        )
    )
    review = queries.last_review(plan, user)
    return {
        "plan": plan,
        "access": access,
        "records": [{"record": r, "read": r.pk in acked} for r in records],
        "review": review,
        "open_threads": Comment.objects.filter(
            plan=plan, parent__isnull=True, resolved_at__isnull=True
        ).count(),
        "up_to_date": review is not None and review.revision >= plan.revision,
        "csrf_token": context.get("csrf_token"),
        "request": context["request"],
    }


@register.inclusion_tag("records/tags/dashboard.html", takes_context=True)
def records_dashboard(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    if not user.is_authenticated or user.is_unit_leader:
        return {"show": False}
    today = timezone.localdate()
    tasks = list(
        queries.my_tasks(user).select_related(None).only("due_date", "status", "plan_id")[:500]
    )
    own_plan = Plan.objects.filter(person__user=user).exclude(status=Plan.Status.CLOSED).exists()
    return {
        "show": True,
        "own_plan": own_plan,
        "task_count": len(tasks),
        "overdue_tasks": sum(1 for m in tasks if m.due_date and m.due_date < today),
        "next_due": next((m.due_date for m in tasks if m.due_date and m.due_date >= today), None),
        "changed": queries.changed_since_review(user),
        "unread_records": list(queries.unacknowledged_records(user)),
        "missing_acks": queries.records_missing_acknowledgements(user),
        "expiring": list(queries.consents_expiring(user, today=today)),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


_EVENT_LABELS = {
    "completed": (_lazy("Completed"), "done"),
    "cancelled": (_lazy("Cancelled"), "cancelled"),
    "achieved": (_lazy("Goal achieved"), "achieved"),
    "not_achieved": (_lazy("Goal not achieved"), "not_achieved"),
    "reassigned": (_lazy("New responsible"), "in_progress"),
    "redated": (_lazy("New date"), "in_progress"),
    "status": (_lazy("New status"), "in_progress"),
    "withdrawn": (_lazy("Withdrawn"), "withdrawn"),
}


@register.filter
def event_label(event: str) -> str:
    return str(_EVENT_LABELS[event][0]) if event in _EVENT_LABELS else ""


@register.filter
def event_class(event: str) -> str:
    return _EVENT_LABELS[event][1] if event in _EVENT_LABELS else "level"
