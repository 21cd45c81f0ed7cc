"""Read-side questions for the dashboard and 'My tasks': what needs the user's
attention across all the plans they may read. A handful of queries, never one per
plan row beyond the short lists shown."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from ipplan.meetings.models import Attendee
from ipplan.plans.models import Change, Consent, Measure, Member, Plan
from ipplan.plans.permissions import visible_plans

from .models import MeetingRecord, RecordAcknowledgement, Review

CONSENT_WARNING_DAYS = 30
MAX_LISTED = 50


def my_tasks(user: Any) -> QuerySet[Measure]:
    """Open measures the user is responsible for, in every plan they may read."""
    return (
        Measure.objects.alive()
        .filter(
            plan__in=visible_plans(user).exclude(status=Plan.Status.CLOSED),
            responsible__user=user,
            theme__deleted_at__isnull=True,
            status__in=[Measure.Status.PLANNED, Measure.Status.ONGOING],
        )
        .select_related("plan__person", "theme", "goal")
        # Dated tasks first, soonest first; undated last.
        .order_by(F("due_date").asc(nulls_last=True), "plan__person__last_name", "pk")
    )


@dataclass
class ChangedPlan:
    plan: Plan
    since: int
    changes: int
    people: list[str] = field(default_factory=list)


def changed_since_review(user: Any) -> list[ChangedPlan]:
    """Plans others have changed since the user last reviewed them. Without a review
    the baseline is the revision the plan had when the user joined its group."""
    plans = list(
        visible_plans(user)
        .exclude(status=Plan.Status.CLOSED)
        .annotate(
            reviewed=Max("reviews__revision", filter=Q(reviews__user=user)),
        )
        .order_by("person__last_name", "person__first_name")[: MAX_LISTED * 4]
    )
    joined = {
        m.plan_id: m.added_at
        for m in Member.objects.filter(user=user, plan__in=[p.pk for p in plans])
    }
    result: list[ChangedPlan] = []
    for plan in plans:
        since = plan.reviewed
        if since is None:
            added = joined.get(plan.pk)
            since = (
                Change.objects.filter(plan=plan, at__lte=added).aggregate(r=Max("revision"))["r"]
                if added
                else 0
            ) or 0
            # Revision 1 is the plan's creation: nothing to review before it.
            since = max(since, 1)
        if plan.revision <= since:
            continue
        by_others = (
            Change.objects.filter(plan=plan, revision__gt=since)
            .exclude(user=user)
            .values("user__first_name", "user__last_name", "user__username")
            .annotate(n=Count("pk"))
        )
        rows = list(by_others)
        if not rows:
            continue
        people = sorted(
            f"{r['user__first_name']} {r['user__last_name']}".strip() or r["user__username"]
            for r in rows
        )
        result.append(ChangedPlan(plan, since, sum(r["n"] for r in rows), people))
        if len(result) >= MAX_LISTED:
            break
    return result


def unacknowledged_records(user: Any) -> QuerySet[MeetingRecord]:
    """Records of meetings the user attended and has not marked as read."""
    return (
        MeetingRecord.objects.filter(
            plan__in=visible_plans(user),
            meeting__in=Attendee.objects.filter(user=user).values("meeting_id"),
        )
        .exclude(Exists(RecordAcknowledgement.objects.filter(record=OuterRef("pk"), user=user)))
        .select_related("plan__person", "meeting")
        .order_by("-created_at")[:MAX_LISTED]
    )


def records_missing_acknowledgements(user: Any) -> list[dict[str, Any]]:
    """For coordinators: recent records in their plans that attendees have not all read."""
    since = timezone.now() - datetime.timedelta(days=90)
    records = (
        MeetingRecord.objects.filter(plan__coordinator=user, created_at__gte=since)
        .select_related("plan__person", "meeting")
        .order_by("-created_at")[:MAX_LISTED]
    )
    rows = []
    for record in records:
        attendee_ids = set(
            Attendee.objects.filter(meeting=record.meeting, user__isnull=False).values_list(
                "user_id", flat=True
            )
        )
        acked = set(record.acknowledgements.values_list("user_id", flat=True))
        missing = len(attendee_ids - acked)
        if missing:
            rows.append({"record": record, "missing": missing, "attendees": len(attendee_ids)})
    return rows


def consents_expiring(user: Any, *, today: datetime.date | None = None) -> QuerySet[Consent]:
    """Valid consents in plans the user coordinates that expire within 30 days."""
    today = today or timezone.localdate()
    return (
        Consent.objects.filter(
            Consent.valid_q(today),
            plan__in=visible_plans(user)
            .filter(coordinator=user)
            .exclude(status=Plan.Status.CLOSED),
            expires_on__isnull=False,
            expires_on__lte=today + datetime.timedelta(days=CONSENT_WARNING_DAYS),
        )
        .select_related("plan__person")
        .order_by("expires_on")
    )


def last_review(plan: Plan, user: Any) -> Review | None:
    return Review.objects.filter(plan=plan, user=user).order_by("-revision", "-at").first()
