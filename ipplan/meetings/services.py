"""Meetings (ansvarsgruppemøter): schedule, start, move the current theme, close.

Every write here locks the plan row first (the same lock the plan's writer path takes),
so "one meeting in progress per plan", the start/end revisions and the attribution of
live edits to a meeting are all decided in one order across every worker process.

Meeting state is not plan data: it does not take a plan revision. After commit every
open socket on the plan is told "meeting.changed" (ids only) and sends its client the
whole meeting state, read from the database; a lost notification is repaired by the
socket's periodic re-check (see ipplan/live/consumers.py).

Who may do what (the live-meeting issue):
- the coordinator (can_manage) schedules, starts, moves the current theme, closes,
  and edits the attendee list (also of a closed meeting, to correct the record);
- anyone who may read the plan is recorded as an attendee when they join a meeting
  in progress (`attendee_join`);
- members who may edit the plan write agenda decisions while the meeting is in
  progress; the coordinator may also correct them later.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ipplan.live.notify import notify_meeting_changed
from ipplan.plans.models import Member, Plan, Theme
from ipplan.plans.permissions import Level, PlanAccess, plan_access
from ipplan.plans.services import OperationError

from .models import AgendaItem, Attendee, Meeting

MAX_PLACE = 300
MAX_DECISION = 500
MAX_NAME = 200


# ------------------------------------------------------------------------ helpers


def _lock_plan(plan_id: int, user: Any) -> tuple[Plan, PlanAccess]:
    """Lock the plan row and compute access; outsiders learn nothing (not_found)."""
    try:
        plan = Plan.objects.select_for_update().select_related("person").get(pk=plan_id)
    except (Plan.DoesNotExist, ValueError, TypeError):
        raise OperationError("not_found", _("The plan does not exist.")) from None
    access = plan_access(user, plan)
    if access.level < Level.READ:
        raise OperationError("not_found", _("The plan does not exist."))
    return plan, access


def _lock_meeting(meeting_id: int, user: Any) -> tuple[Meeting, Plan, PlanAccess]:
    plan_id = (
        Meeting.objects.filter(pk=meeting_id).values_list("plan_id", flat=True).first()
        if isinstance(meeting_id, int) and not isinstance(meeting_id, bool)
        else None
    )
    if plan_id is None:
        raise OperationError("not_found", _("The meeting does not exist."))
    plan, access = _lock_plan(plan_id, user)
    meeting = Meeting.objects.select_for_update().get(pk=meeting_id)
    return meeting, plan, access


def _require_coordinator(access: PlanAccess) -> None:
    if not access.can_manage:
        raise OperationError("forbidden", _("Only the coordinator can do this."))


def _require_open_plan(plan: Plan) -> None:
    if plan.status == Plan.Status.CLOSED:
        raise OperationError("forbidden", _("The plan is closed and cannot be changed."))


def _require_status(meeting: Meeting, *statuses: str) -> None:
    if meeting.status not in statuses:
        messages = {
            Meeting.Status.PLANNED: _("The meeting has not started yet."),
            Meeting.Status.IN_PROGRESS: _("The meeting is in progress."),
            Meeting.Status.CLOSED: _("The meeting is closed."),
        }
        raise OperationError("invalid", messages[meeting.status], field="status")


def _clean_place(place: Any) -> str:
    if place is None:
        return ""
    if not isinstance(place, str):
        raise OperationError("invalid", _("The value must be text."), field="place")
    place = place.replace("\x00", "").strip()
    if len(place) > MAX_PLACE:
        raise OperationError(
            "invalid",
            _("The text is too long (at most %(n)s characters).") % {"n": MAX_PLACE},
            field="place",
        )
    return place


def _clean_scheduled_at(value: Any) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise OperationError("invalid", _("Enter a valid date and time."), field="scheduled_at")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _agenda_themes(plan: Plan, theme_ids: Sequence[int] | None) -> list[Theme]:
    """The agenda: an ordered subset of the plan's live themes (default: all, in plan order)."""
    alive = {t.pk: t for t in Theme.objects.alive().filter(plan=plan).order_by("position", "pk")}
    if theme_ids is None:
        return list(alive.values())
    themes: list[Theme] = []
    seen: set[int] = set()
    for raw in theme_ids:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in alive:
            raise OperationError(
                "invalid", _("The agenda may only name themes of this plan."), field="agenda"
            )
        if raw in seen:
            raise OperationError(
                "invalid", _("A theme can appear only once on the agenda."), field="agenda"
            )
        seen.add(raw)
        themes.append(alive[raw])
    return themes


def _set_agenda(meeting: Meeting, themes: list[Theme]) -> None:
    """Make the agenda exactly `themes`, keeping existing items (and their decisions)."""
    existing = {item.theme_id: item for item in AgendaItem.objects.filter(meeting=meeting)}
    wanted = {theme.pk for theme in themes}
    stale = [item.pk for theme_id, item in existing.items() if theme_id not in wanted]
    if stale:
        if meeting.current_item_id in stale:
            meeting.current_item = None
            meeting.save(update_fields=["current_item"])
        AgendaItem.objects.filter(pk__in=stale).delete()
    for position, theme in enumerate(themes):
        item = existing.get(theme.pk)
        if item is None:
            AgendaItem.objects.create(meeting=meeting, theme=theme, position=position)
        elif item.position != position:
            AgendaItem.objects.filter(pk=item.pk).update(position=position)


def _announce(meeting: Meeting) -> None:
    plan_id, meeting_id = meeting.plan_id, meeting.pk
    transaction.on_commit(lambda: notify_meeting_changed(plan_id=plan_id, meeting_id=meeting_id))


# ------------------------------------------------------------------------ services


@transaction.atomic
def meeting_schedule(
    *,
    plan_id: int,
    user: Any,
    scheduled_at: datetime.datetime,
    place: str = "",
    agenda_theme_ids: Sequence[int] | None = None,
) -> Meeting:
    """Schedule a meeting; the agenda defaults to all of the plan's themes."""
    plan, access = _lock_plan(plan_id, user)
    _require_coordinator(access)
    _require_open_plan(plan)
    meeting = Meeting.objects.create(
        plan=plan,
        scheduled_at=_clean_scheduled_at(scheduled_at),
        place=_clean_place(place),
        created_by=user,
    )
    _set_agenda(meeting, _agenda_themes(plan, agenda_theme_ids))
    _announce(meeting)
    return meeting


@transaction.atomic
def meeting_update(
    *,
    meeting_id: int,
    user: Any,
    scheduled_at: datetime.datetime | None = None,
    place: str | None = None,
    agenda_theme_ids: Sequence[int] | None = None,
) -> Meeting:
    """Reschedule, move or re-order the agenda of a meeting that has not closed.

    Arguments left as None are unchanged. Agenda items that stay keep their decisions.
    """
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    _require_open_plan(plan)
    _require_status(meeting, Meeting.Status.PLANNED, Meeting.Status.IN_PROGRESS)
    fields = []
    if scheduled_at is not None:
        meeting.scheduled_at = _clean_scheduled_at(scheduled_at)
        fields.append("scheduled_at")
    if place is not None:
        meeting.place = _clean_place(place)
        fields.append("place")
    if fields:
        meeting.save(update_fields=fields)
    if agenda_theme_ids is not None:
        _set_agenda(meeting, _agenda_themes(plan, agenda_theme_ids))
    _announce(meeting)
    return meeting


@transaction.atomic
def meeting_start(*, meeting_id: int, user: Any) -> Meeting:
    """Start the meeting: records who, when, and the plan revision it starts from."""
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    _require_open_plan(plan)
    _require_status(meeting, Meeting.Status.PLANNED)
    # The plan row is locked, so no other start can slip in between check and write.
    if Meeting.objects.filter(plan=plan, status=Meeting.Status.IN_PROGRESS).exists():
        raise OperationError(
            "conflict", _("Another meeting on this plan is already in progress."), field="status"
        )
    meeting.status = Meeting.Status.IN_PROGRESS
    meeting.started_at = timezone.now()
    meeting.started_by = user
    meeting.start_revision = plan.revision
    meeting.current_item = (
        AgendaItem.objects.filter(meeting=meeting).order_by("position", "pk").first()
    )
    meeting.save(
        update_fields=["status", "started_at", "started_by", "start_revision", "current_item"]
    )
    Attendee.objects.get_or_create(meeting=meeting, user=user, defaults={"role": _role_of(access)})
    _announce(meeting)
    return meeting


@transaction.atomic
def meeting_goto(*, meeting_id: int, user: Any, item_id: int | None) -> Meeting:
    """Move the meeting's current agenda item (None: between items)."""
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    _require_status(meeting, Meeting.Status.IN_PROGRESS)
    if item_id is None:
        item = None
    else:
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise OperationError("invalid", _("Invalid id."), field="item")
        item = AgendaItem.objects.filter(meeting=meeting, pk=item_id).first()
        if item is None:
            raise OperationError("not_found", _("The agenda item does not exist."), field="item")
    if meeting.current_item_id != (item.pk if item else None):
        meeting.current_item = item
        meeting.save(update_fields=["current_item"])
        _announce(meeting)
    return meeting


@transaction.atomic
def meeting_close(
    *, meeting_id: int, user: Any, next_meeting_at: datetime.datetime | None = None
) -> Meeting:
    """Close the meeting: records who, when, and the last plan revision it covers.

    Changes attributed to this meeting are those with start_revision < revision <=
    end_revision and meeting = this meeting; later edits on an open socket are no
    longer attributed to it (apply_operations checks the status under the plan lock).
    """
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    _require_status(meeting, Meeting.Status.IN_PROGRESS)
    meeting.status = Meeting.Status.CLOSED
    meeting.closed_at = timezone.now()
    meeting.closed_by = user
    meeting.end_revision = plan.revision
    fields = ["status", "closed_at", "closed_by", "end_revision"]
    if next_meeting_at is not None:
        meeting.next_meeting_at = _clean_scheduled_at(next_meeting_at)
        fields.append("next_meeting_at")
    meeting.save(update_fields=fields)
    # The record (referat) is frozen in the same transaction: never a closed meeting
    # without its record. Imported here: records depends on meetings, not the reverse.
    from ipplan.records.services import record_create_for_meeting

    record_create_for_meeting(meeting=meeting)
    _announce(meeting)
    return meeting


def _role_of(access: PlanAccess) -> str:
    if access.is_coordinator:
        return str(Member.Role.COORDINATOR.label)
    if access.is_person:
        return str(Member.Role.PERSON.label)
    if access.member is not None:
        return access.member.service or str(access.member.get_role_display())
    return ""


@transaction.atomic
def attendee_add(
    *,
    meeting_id: int,
    user: Any,
    attendee_user_id: int | None = None,
    name: str = "",
    role: str = "",
) -> Attendee:
    """The coordinator records someone present: a user with an account who is (or was)
    a member of the plan, or, by name and role, someone without an account.

    Adding a user who is already recorded returns the existing entry.
    """
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    role = _clean_text(role, "role")
    if attendee_user_id is not None:
        if isinstance(attendee_user_id, bool) or not isinstance(attendee_user_id, int):
            raise OperationError("invalid", _("Invalid id."), field="user")
        attendee_user = get_user_model().objects.filter(pk=attendee_user_id).first()
        is_member = Member.objects.filter(plan=plan, user_id=attendee_user_id).exists()
        if attendee_user is None or not (is_member or plan.person.user_id == attendee_user_id):
            raise OperationError(
                "invalid",
                _("Only members of the responsible group can be added by account."),
                field="user",
            )
        attendee, created = Attendee.objects.get_or_create(
            meeting=meeting, user=attendee_user, defaults={"role": role}
        )
        if not created and role and attendee.role != role:
            attendee.role = role
            attendee.save(update_fields=["role"])
    else:
        name = _clean_text(name, "name")
        if not name:
            raise OperationError("invalid", _("Enter a name."), field="name")
        attendee = Attendee.objects.create(meeting=meeting, name=name, role=role)
    _announce(meeting)
    return attendee


def attendee_join(*, meeting_id: int, user: Any) -> Attendee | None:
    """Record `user` as present when they join a meeting in progress (the live socket
    calls this on connect). Anyone who may read the plan is recorded once; returns None
    if the meeting is not in progress."""
    try:
        with transaction.atomic():
            meeting, plan, access = _lock_meeting(meeting_id, user)
            if meeting.status != Meeting.Status.IN_PROGRESS:
                return None
            attendee, created = Attendee.objects.get_or_create(
                meeting=meeting, user=user, defaults={"role": _role_of(access)}
            )
            if created:
                _announce(meeting)
            return attendee
    except IntegrityError:
        # Joined twice at the same instant (two tabs): the other insert won.
        return Attendee.objects.filter(meeting_id=meeting_id, user=user).first()


@transaction.atomic
def attendee_remove(*, attendee_id: int, user: Any) -> None:
    """The coordinator removes an entry from the attendee list."""
    if isinstance(attendee_id, bool) or not isinstance(attendee_id, int):
        raise OperationError("invalid", _("Invalid id."))
    meeting_id = (
        Attendee.objects.filter(pk=attendee_id).values_list("meeting_id", flat=True).first()
    )
    if meeting_id is None:
        raise OperationError("not_found", _("The attendee does not exist."))
    meeting, plan, access = _lock_meeting(meeting_id, user)
    _require_coordinator(access)
    Attendee.objects.filter(pk=attendee_id, meeting=meeting).delete()
    _announce(meeting)


@transaction.atomic
def agenda_decision_set(*, item_id: int, user: Any, text: str) -> AgendaItem:
    """Write the decision on one agenda item.

    While the meeting is in progress any member who may edit the plan can write it;
    before and after, only the coordinator (to prepare or correct the record).
    """
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        raise OperationError("invalid", _("Invalid id."), field="item")
    meeting_id = AgendaItem.objects.filter(pk=item_id).values_list("meeting_id", flat=True).first()
    if meeting_id is None:
        raise OperationError("not_found", _("The agenda item does not exist."), field="item")
    meeting, plan, access = _lock_meeting(meeting_id, user)
    if meeting.status == Meeting.Status.IN_PROGRESS:
        if not access.can_edit:
            raise OperationError("forbidden", _("You do not have access to change the plan."))
    else:
        _require_coordinator(access)
    item = AgendaItem.objects.get(pk=item_id)
    text = _clean_text(text, "decision", MAX_DECISION)
    if item.decision != text:
        item.decision = text
        item.save(update_fields=["decision"])
        _announce(meeting)
    return item


def _clean_text(value: Any, field: str, limit: int = MAX_NAME) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise OperationError("invalid", _("The value must be text."), field=field)
    value = value.replace("\x00", "").strip()
    if len(value) > limit:
        raise OperationError(
            "invalid",
            _("The text is too long (at most %(n)s characters).") % {"n": limit},
            field=field,
        )
    return value


def meeting_in_progress(*, plan_id: int) -> Meeting | None:
    """The plan's meeting in progress, if any (at most one; see meeting_start)."""
    return Meeting.objects.filter(plan_id=plan_id, status=Meeting.Status.IN_PROGRESS).first()
