"""The socket's database side: plain synchronous functions the consumer calls through
`database_sync_to_async`. Every one checks access itself; none trusts the consumer's
memory of who the user is or what they may do.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ipplan.meetings import services as meetings
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans import services
from ipplan.plans.models import AccessLog, Consent, Member, Plan
from ipplan.plans.permissions import Level, PlanAccess, _active_member_q, plan_access
from ipplan.plans.services import OperationError

from .protocol import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from .snapshot import (
    committed_event,
    consistent_read,
    load_meeting,
    meeting_state,
    meeting_states,
    meetings_for_state,
    plan_state,
)

__all__ = ["OperationError"]


def display_name(user: Any) -> str:
    return user.get_full_name() or user.username


def you(user: Any, access: PlanAccess) -> dict[str, Any]:
    return {
        "id": user.pk,
        "name": display_name(user),
        "level": Level(access.level).name.lower(),
        "can_edit": access.can_edit,
        "can_comment": access.can_comment,
        "can_manage": access.can_manage,
        "is_person": access.is_person,
        "member": access.member.pk if access.member else None,
    }


def _member_names(plan_id: int) -> dict[int, str]:
    return {
        m.user_id: display_name(m.user)
        for m in Member.objects.filter(plan_id=plan_id).select_related("user")
    }


def join(
    *, plan_id: int, user: Any, meeting_id: int | None, since: int | None = None
) -> dict[str, Any] | None:
    """Open a socket: check that the user may read this plan (and that the meeting is
    the plan's), record the read and, for a meeting in progress, the attendance, and
    read the initial state: a snapshot, or (resuming `since` a revision) the current
    revision and meeting. None: refuse (4404, never saying why)."""
    plan = Plan.objects.select_related("person").filter(pk=plan_id).first()
    if plan is None:
        return None
    access = plan_access(user, plan)
    if access.level < Level.READ:
        return None
    attended = False
    if meeting_id is not None:
        meeting = Meeting.objects.filter(pk=meeting_id, plan_id=plan_id).first()
        if meeting is None:
            return None
        attended = _attend(meeting, user)
    services.record_access(
        user=user,
        plan=plan,
        via=AccessLog.Via.LIVE,
        detail=f"meeting {meeting_id}" if meeting_id else "",
    )
    joined: dict[str, Any] = {
        "you": you(user, access),
        "names": _member_names(plan_id),
        "attended": attended,
    }
    if since is None:
        joined["snapshot"] = snapshot(plan_id=plan_id, user=user, meeting_id=meeting_id)
    else:
        joined["rev"] = plan_revision(plan_id)
        joined["meeting"] = meeting_state(_socket_meeting(plan_id, meeting_id))
    return joined


def _attend(meeting: Meeting, user: Any) -> bool:
    if meeting.status != Meeting.Status.IN_PROGRESS:
        return False
    try:
        return meetings.attendee_join(meeting_id=meeting.pk, user=user) is not None
    except OperationError:
        return False


def snapshot(*, plan_id: int, user: Any, meeting_id: int | None) -> dict[str, Any] | None:
    """The plan state and its revision, as one consistent read; None if no access."""
    with consistent_read():
        plan = Plan.objects.select_related("person").filter(pk=plan_id).first()
        if plan is None:
            return None
        access = plan_access(user, plan)
        if access.level < Level.READ:
            return None
        return {
            "rev": plan.revision,
            "plan": plan_state(plan),
            "meeting": meeting_state(_socket_meeting(plan_id, meeting_id)),
            "you": you(user, access),
        }


def _socket_meeting(plan_id: int, meeting_id: int | None) -> Meeting | None:
    if meeting_id is not None:
        meeting = load_meeting(meeting_id)
        return meeting if meeting is not None and meeting.plan_id == plan_id else None
    in_progress = meetings.meeting_in_progress(plan_id=plan_id)
    return load_meeting(in_progress.pk) if in_progress else None


def meeting_state_for(*, plan_id: int, meeting_id: int | None) -> dict[str, Any] | None:
    """The state of a socket's meeting (the named one, or the plan's meeting in
    progress). The same for every user: the per-process cache shares it."""
    return meeting_state(_socket_meeting(plan_id, meeting_id))


def meeting_states_for(*, keys: list[tuple[int, int | None]]) -> list[dict[str, Any] | None]:
    """meeting_state_for of each (plan, meeting) key, in at most four queries in all."""
    ids = {m for _p, m in keys if m is not None}
    named = {m.pk: m for m in meetings_for_state().filter(pk__in=ids)} if ids else {}
    running: dict[int, Meeting] = {}
    unnamed = {p for p, m in keys if m is None}
    if unnamed:
        # Like meetings.meeting_in_progress: at most one per plan; the lowest id if not.
        for meeting in (
            meetings_for_state()
            .filter(plan_id__in=unnamed, status=Meeting.Status.IN_PROGRESS)
            .order_by("-pk")
        ):
            running[meeting.plan_id] = meeting
    found: list[Meeting | None] = []
    for plan_id, meeting_id in keys:
        if meeting_id is None:
            found.append(running.get(plan_id))
        else:
            meeting = named.get(meeting_id)
            found.append(meeting if meeting is not None and meeting.plan_id == plan_id else None)
    return meeting_states(found)


def meeting_for_socket(
    *, plan_id: int, user: Any, meeting_id: int | None, attended: bool
) -> tuple[dict[str, Any] | None, bool]:
    """The socket's meeting state; records the user as attendee once it is running."""
    meeting = _socket_meeting(plan_id, meeting_id)
    if meeting is not None and meeting_id is not None and not attended:
        attended = _attend(meeting, user)
        if attended:
            meeting = load_meeting(meeting.pk)
    return meeting_state(meeting), attended


def apply_op(
    *,
    plan_id: int,
    user: Any,
    op: dict[str, Any],
    op_id: str,
    base_rev: int,
    meeting_id: int | None,
) -> tuple[int, bool, dict[str, Any] | None]:
    """Apply one client op; (revision, duplicate, event). Raises OperationError.

    `event` is the committed change as the protocol event, built from what was just
    written, so the sender's process need not read it back (None for a duplicate, and
    for members, whose event carries identity read from the database)."""
    result = services.apply_operations(
        plan_id=plan_id,
        user=user,
        ops=[(op, op_id)],
        base_revision=base_rev,
        meeting_id=meeting_id,
        via="live",
    )[0]
    event = None
    if not result.duplicate and result.change.target_type != "member":
        event = committed_event(result.change)
    return result.revision, result.duplicate, event


def plan_revision(plan_id: int) -> int | None:
    return Plan.objects.filter(pk=plan_id).values_list("revision", flat=True).first()


def meeting_action(*, meeting_id: int, user: Any, message: dict[str, Any]) -> None:
    """One `meeting` frame, already schema-valid. Raises OperationError."""
    action = message["action"]
    if action == "start":
        meetings.meeting_start(meeting_id=meeting_id, user=user)
    elif action == "goto":
        meetings.meeting_goto(meeting_id=meeting_id, user=user, item_id=message["item"])
    elif action == "close":
        meetings.meeting_close(meeting_id=meeting_id, user=user)
    elif action == "decision":
        if not AgendaItem.objects.filter(pk=message["item"], meeting_id=meeting_id).exists():
            raise OperationError("not_found", _not_found_item(), field="item")
        meetings.agenda_decision_set(item_id=message["item"], user=user, text=message["text"])
    elif action == "attendee_add":
        meetings.attendee_add(
            meeting_id=meeting_id,
            user=user,
            attendee_user_id=message.get("user"),
            name=message.get("name", ""),
            role=message.get("role", ""),
        )
    elif action == "attendee_remove":
        if not Attendee.objects.filter(pk=message["attendee"], meeting_id=meeting_id).exists():
            raise OperationError("not_found", _not_found_item(), field="attendee")
        meetings.attendee_remove(attendee_id=message["attendee"], user=user)
    else:  # the schema lets no other action through
        raise OperationError("invalid", "unknown action")


def _not_found_item() -> str:
    from django.utils.translation import gettext as _

    return _("It is not part of this meeting.")


class _SessionRequest:
    """Just enough of a request for django.contrib.auth.get_user."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session


def recheck(*, session_key: str | None, user_id: int, plan_id: int) -> dict[str, Any]:
    """Is the socket still allowed to exist? Session (logout, expiry, password change),
    account (deactivated) and plan access (membership, consent, plan closed to them)."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    user = auth.get_user(_SessionRequest(store_class(session_key)))
    if not user.is_authenticated or user.pk != user_id:
        return {"close": CLOSE_UNAUTHENTICATED}
    plan = Plan.objects.select_related("person").filter(pk=plan_id).first()
    if plan is None:
        return {"close": CLOSE_NOT_FOUND}
    access = plan_access(user, plan)
    if access.level < Level.READ:
        return {"close": CLOSE_FORBIDDEN}
    return {"close": None, "user": user, "you": you(user, access), "rev": plan.revision}


_DB_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


def poll(*, plan_ids: list[int], sessions: dict[str, int]) -> dict[str, Any]:
    """One cheap look at everything this process's sockets depend on, in four queries
    whatever the number of sockets: each plan's revision and who may read it today
    (`readers`: the same rule as permissions.visible_plans, so a consent or membership
    that ran out by date counts too), and which sessions are still valid for their
    user (not logged out or expired, account active, password unchanged). `sessions`
    maps session key to the socket's user id.

    It only decides which sockets need a closer look: a socket whose user is not among
    its plan's readers, or whose session is not in `valid`, gets the full,
    authoritative `recheck`. With a session engine that is not database-backed,
    `valid` is None and every socket gets the full check.
    """
    day = timezone.localdate()
    revisions: dict[int, int] = {}
    readers: dict[int, set[int]] = {}
    for pk, revision, coordinator_id, person_user_id in Plan.objects.filter(
        pk__in=plan_ids
    ).values_list("pk", "revision", "coordinator_id", "person__user_id"):
        revisions[pk] = revision
        readers[pk] = {coordinator_id, person_user_id}
    covering = Consent.objects.filter(
        Consent.valid_q(day), kind=Consent.Kind.SHARING, members=OuterRef("pk")
    )
    for plan_id, user_id in Member.objects.filter(
        _active_member_q(day), Exists(covering), plan_id__in=plan_ids
    ).values_list("plan_id", "user_id"):
        readers[plan_id].add(user_id)
    if settings.SESSION_ENGINE not in _DB_SESSION_ENGINES:
        return {"revisions": revisions, "readers": readers, "valid": None}
    rows = Session.objects.filter(
        session_key__in=list(sessions), expire_date__gt=timezone.now()
    ).values_list("session_key", "session_data")
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    claims: dict[str, tuple[str, str]] = {}
    for key, data in rows:
        decoded = store_class().decode(data)
        claims[key] = (
            str(decoded.get(auth.SESSION_KEY, "")),
            str(decoded.get(auth.HASH_SESSION_KEY, "")),
        )
    users = {
        str(u.pk): u
        for u in get_user_model()
        .objects.filter(pk__in=set(sessions.values()), is_active=True)
        .only("pk", "password", "is_active")
    }
    valid = set()
    for key, (user_id, auth_hash) in claims.items():
        user = users.get(user_id)
        if (
            user is not None
            and str(sessions[key]) == user_id
            and constant_time_compare(auth_hash, user.get_session_auth_hash())
        ):
            valid.add(key)
    return {"revisions": revisions, "readers": readers, "valid": valid}


def user_name(user_id: Any) -> str | None:
    from django.contrib.auth import get_user_model

    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    return display_name(user) if user else None
