"""'Min plan': the person's own plan in plain language, phone first; and 'My tasks'
for members: the measures they are responsible for across all their plans."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ipplan.meetings.models import Meeting
from ipplan.plans.models import AccessLog, Goal, Measure, Plan
from ipplan.plans.permissions import plan_access

from ..models import MeetingRecord
from ..queries import my_tasks as my_tasks_query
from ._common import log_read
from .comments import comment_targets, threads_for


def _own_plan(user: Any) -> Plan:
    plan = (
        Plan.objects.filter(person__user=user)
        .exclude(status=Plan.Status.CLOSED)
        .select_related("person", "coordinator__organisation")
        .first()
    )
    if plan is None:
        raise Http404
    return plan


def _next_meeting(plan: Plan) -> dict[str, Any] | None:
    now = timezone.now()
    upcoming = (
        Meeting.objects.filter(
            plan=plan,
            status__in=[Meeting.Status.PLANNED, Meeting.Status.IN_PROGRESS],
            scheduled_at__gte=now - timezone.timedelta(hours=12),
        )
        .order_by("scheduled_at")
        .first()
    )
    if upcoming is not None:
        return {"at": upcoming.scheduled_at, "place": upcoming.place}
    last = (
        Meeting.objects.filter(plan=plan, status=Meeting.Status.CLOSED, next_meeting_at__gte=now)
        .order_by("-closed_at")
        .first()
    )
    return {"at": last.next_meeting_at, "place": ""} if last else None


def _services(measures: list[Measure]) -> list[dict[str, Any]]:
    """Measures grouped by who does them: the responsible member's service, or the
    named service, or 'not decided yet'."""
    groups: dict[str, dict[str, Any]] = {}
    for measure in measures:
        member = measure.responsible
        if member is not None:
            org = member.organisation.name if member.organisation_id else ""
            who = member.service or org or member.user.display_name
            person = member.user.display_name
        else:
            who = measure.responsible_service
            person = ""
        group = groups.setdefault(who, {"who": who, "measures": []})
        group["measures"].append({"measure": measure, "person": person})
    return sorted(groups.values(), key=lambda g: (g["who"] == "", g["who"]))


@login_required
@require_GET
def my_plan(request: HttpRequest) -> HttpResponse:
    plan = _own_plan(request.user)
    access = plan_access(request.user, plan)
    if not access.is_person:
        raise Http404
    log_read(request, access, via=AccessLog.Via.PERSON_VIEW)
    goals = list(
        Goal.objects.alive()
        .filter(plan=plan, theme__deleted_at__isnull=True)
        .select_related("theme")
        .order_by("level", "theme__position", "position", "pk")
    )
    measures = list(
        Measure.objects.alive()
        .filter(plan=plan, theme__deleted_at__isnull=True)
        .select_related("responsible__user", "responsible__organisation", "goal")
        .order_by("start_date", "due_date", "position", "pk")
    )
    try:
        access_log_url = reverse("plans:access_log", args=[plan.pk])
    except NoReverseMatch:
        access_log_url = ""
    coordinator = plan.coordinator
    can_comment = access.can_comment and plan.status != Plan.Status.CLOSED
    context = {
        "plan": plan,
        "access": access,
        "goals": goals,
        "services": _services(measures),
        "coordinator": coordinator,
        "coordinator_phone": coordinator.phone
        or (coordinator.organisation.phone if coordinator.organisation_id else ""),
        "next_meeting": _next_meeting(plan),
        "records": MeetingRecord.objects.filter(plan=plan).select_related("meeting")[:3],
        "threads": threads_for(plan)[:10],
        "targets": comment_targets(plan) if can_comment else [],
        "can_comment": can_comment,
        "access_log_url": access_log_url,
    }
    return render(request, "records/my_plan.html", context)


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    measures = list(my_tasks_query(request.user))
    plans: dict[int, dict[str, Any]] = {}
    for measure in measures:
        plans.setdefault(measure.plan_id, {"plan": measure.plan, "measures": []})[
            "measures"
        ].append(measure)
    for group in plans.values():
        # Each plan whose measures are shown is read: one entry per plan.
        access = plan_access(request.user, group["plan"])
        log_read(request, access, via=AccessLog.Via.PAGE, detail="my_tasks")
    context = {
        "measures": measures,
        "plans": list(plans.values()),
        "today": timezone.localdate(),
    }
    return render(request, "records/my_tasks.html", context)
