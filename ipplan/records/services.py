"""Writes for meeting records, comments, reviews and restores.

Every write is attributed (user, time) and checks permission here, not in the view.
Restoring an earlier value or a deleted goal/measure is an ordinary new operation
through ipplan.plans.services, by whoever restores it: history is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ipplan.meetings.models import Attendee, Meeting
from ipplan.plans import services as plan_services
from ipplan.plans.models import Goal, Measure, Plan, Theme
from ipplan.plans.permissions import Level, plan_access
from ipplan.plans.services import OperationError

from .builder import build_meeting_record
from .history import field_timeline
from .models import Comment, MeetingRecord, RecordAcknowledgement, Review

MAX_COMMENT = 4000
COMMENT_TARGETS = {"theme": Theme, "goal": Goal, "measure": Measure}


def _digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _readable_plan(user: Any, plan_id: int) -> tuple[Plan, Any]:
    plan = Plan.objects.select_related("person").filter(pk=plan_id).first()
    if plan is None:
        raise OperationError("not_found", _("The plan does not exist."))
    access = plan_access(user, plan)
    if access.level < Level.READ:
        raise OperationError("not_found", _("The plan does not exist."))
    return plan, access


# ---------------------------------------------------------------- meeting records


@transaction.atomic
def record_create_for_meeting(*, meeting: Meeting) -> MeetingRecord:
    """Freeze the record of a closed meeting. meetings.services.meeting_close calls this
    inside its transaction, so a meeting is never closed without its record. Calling it
    again returns the record already made (the content never changes)."""
    existing = MeetingRecord.objects.filter(meeting=meeting).first()
    if existing is not None:
        return existing
    if meeting.status != Meeting.Status.CLOSED or meeting.end_revision is None:
        raise OperationError("invalid", _("The meeting is not closed."))
    content = build_meeting_record(meeting)
    try:
        with transaction.atomic():
            return MeetingRecord.objects.create(
                meeting=meeting,
                plan_id=meeting.plan_id,
                start_revision=meeting.start_revision or 0,
                end_revision=meeting.end_revision,
                content=content,
                digest=_digest(content),
            )
    except IntegrityError:
        # Made at the same moment by another request: that one stands.
        return MeetingRecord.objects.get(meeting=meeting)


def record_for_meeting(*, meeting: Meeting) -> MeetingRecord | None:
    """The meeting's record; a closed meeting that has none yet (closed before records
    existed) gets it now, from the same immutable log."""
    record = MeetingRecord.objects.filter(meeting=meeting).first()
    if record is None and meeting.status == Meeting.Status.CLOSED:
        record = record_create_for_meeting(meeting=meeting)
    return record


@transaction.atomic
def record_acknowledge(*, record_id: int, user: Any) -> RecordAcknowledgement:
    """'I have read this' by anyone who may read the plan; once per person."""
    record = MeetingRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise OperationError("not_found", _("The meeting record does not exist."))
    _readable_plan(user, record.plan_id)
    ack, _created = RecordAcknowledgement.objects.get_or_create(record=record, user=user)
    return ack


def record_needs_ack(record: MeetingRecord, user: Any) -> bool:
    """Attendees are asked to acknowledge the record until they have."""
    return (
        Attendee.objects.filter(meeting_id=record.meeting_id, user=user).exists()
        and not RecordAcknowledgement.objects.filter(record=record, user=user).exists()
    )


# ---------------------------------------------------------------------- comments


def _clean_body(body: Any) -> str:
    if not isinstance(body, str):
        raise OperationError("invalid", _("The comment must be text."), field="body")
    body = body.replace("\x00", "").strip()
    if not body:
        raise OperationError("invalid", _("Write a comment."), field="body")
    if len(body) > MAX_COMMENT:
        raise OperationError(
            "invalid",
            _("The comment is too long (at most %(n)s characters).") % {"n": MAX_COMMENT},
            field="body",
        )
    return body


def _require_comment(access: Any) -> None:
    if not access.can_comment:
        raise OperationError("forbidden", _("You do not have access to comment on this plan."))
    if access.plan.status == Plan.Status.CLOSED:
        raise OperationError("forbidden", _("The plan is closed and cannot be changed."))


@transaction.atomic
def comment_create(
    *, plan_id: int, user: Any, target_type: str, target_id: Any, body: Any
) -> Comment:
    """Start a thread on a theme, goal or measure of the plan."""
    plan, access = _readable_plan(user, plan_id)
    _require_comment(access)
    model = COMMENT_TARGETS.get(target_type)
    if model is None:
        raise OperationError("invalid", _("Choose what the comment is about."), field="target")
    try:
        target_pk = int(target_id)
    except (TypeError, ValueError):
        raise OperationError(
            "invalid", _("Choose what the comment is about."), field="target"
        ) from None
    if not model.objects.alive().filter(plan=plan, pk=target_pk).exists():
        raise OperationError("not_found", _("Could not find the item (it may have been deleted)."))
    return Comment.objects.create(
        plan=plan,
        target_type=target_type,
        target_id=target_pk,
        author=user,
        body=_clean_body(body),
    )


def _thread(comment_id: Any, user: Any) -> tuple[Comment, Any]:
    try:
        pk = int(comment_id)
    except (TypeError, ValueError):
        raise OperationError("not_found", _("The comment does not exist.")) from None
    comment = Comment.objects.select_for_update().filter(pk=pk).first()
    if comment is None:
        raise OperationError("not_found", _("The comment does not exist."))
    _plan, access = _readable_plan(user, comment.plan_id)
    root = comment if comment.parent_id is None else Comment.objects.get(pk=comment.parent_id)
    return root, access


@transaction.atomic
def comment_reply(*, comment_id: Any, user: Any, body: Any) -> Comment:
    """Reply in a thread; replying to a resolved thread opens it again."""
    root, access = _thread(comment_id, user)
    _require_comment(access)
    reply = Comment.objects.create(
        plan_id=root.plan_id,
        target_type=root.target_type,
        target_id=root.target_id,
        parent=root,
        author=user,
        body=_clean_body(body),
    )
    if root.resolved_at is not None:
        Comment.objects.filter(pk=root.pk).update(resolved_at=None, resolved_by=None)
    return reply


def _require_resolve(root: Comment, access: Any, user: Any) -> None:
    _require_comment(access)
    if not (access.can_edit or root.author_id == user.pk):
        raise OperationError(
            "forbidden", _("Only whoever started the thread or an editor of the plan can do this.")
        )


@transaction.atomic
def comment_resolve(*, comment_id: Any, user: Any) -> Comment:
    root, access = _thread(comment_id, user)
    _require_resolve(root, access, user)
    if root.resolved_at is None:
        root.resolved_at = timezone.now()
        root.resolved_by = user
        Comment.objects.filter(pk=root.pk).update(resolved_at=root.resolved_at, resolved_by=user)
    return root


@transaction.atomic
def comment_reopen(*, comment_id: Any, user: Any) -> Comment:
    root, access = _thread(comment_id, user)
    _require_resolve(root, access, user)
    if root.resolved_at is not None:
        root.resolved_at = None
        root.resolved_by = None
        Comment.objects.filter(pk=root.pk).update(resolved_at=None, resolved_by=None)
    return root


# ----------------------------------------------------------------------- reviews


@transaction.atomic
def review_record(*, plan_id: int, user: Any, revision: Any) -> Review:
    """'I have reviewed revision N' by anyone who may read the plan."""
    plan, _access = _readable_plan(user, plan_id)
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise OperationError("invalid", _("Invalid revision."), field="revision") from None
    if not 1 <= revision <= plan.revision:
        raise OperationError("invalid", _("Invalid revision."), field="revision")
    return Review.objects.create(plan=plan, user=user, revision=revision)


def last_reviewed(plan: Plan, user: Any) -> int | None:
    return (
        Review.objects.filter(plan=plan, user=user)
        .order_by("-revision")
        .values_list("revision", flat=True)
        .first()
    )


# ---------------------------------------------------------------------- restores


def value_restore(
    *, plan_id: int, user: Any, target: str, target_id: int, field: str, revision: int | None
) -> plan_services.OpResult:
    """Set a field back to the value it got at `revision` (None: the value it started
    with), as a new change by `user`. Permission and validity are checked by the writer
    path like any other edit."""
    plan, _access = _readable_plan(user, plan_id)
    if target not in plan_services.FIELDS or field not in plan_services.FIELDS[target]:
        raise OperationError("invalid", _("Unknown field."), field="field")
    timeline = field_timeline(plan, target, target_id, field)
    entry = next((e for e in timeline if e["revision"] == revision), None)
    if entry is None:
        raise OperationError("not_found", _("That earlier value was not found."))
    return plan_services.apply_operation(
        plan_id=plan.pk,
        user=user,
        op={
            "type": "set",
            "target": target,
            "id": target_id,
            "field": field,
            "value": entry["value"],
        },
        via="history",
    )


def object_restore(
    *, plan_id: int, user: Any, target: str, target_id: int
) -> plan_services.OpResult:
    """Bring back a deleted theme, goal or measure (a restore operation)."""
    plan, _access = _readable_plan(user, plan_id)
    return plan_services.apply_operation(
        plan_id=plan.pk,
        user=user,
        op={"type": "restore", "target": target, "id": target_id},
        via="history",
    )
