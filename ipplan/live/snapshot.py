"""Plan state as the live protocol sends it, committed changes as protocol events, and
the reference replay of events onto a state.

Three functions, one shape (documented in docs/protocol.md):

* `plan_snapshot(plan)` - the plan's state, read in a constant number of queries;
* `change_events(plan_id, after)` - committed changes as `op` messages;
* `apply_event(state, op)` - what a client does with an op (the browser's
  static/js/meeting code follows the same rules). The convergence tests check that
  replaying the log onto a snapshot gives exactly a fresh snapshot.

Object dicts in a snapshot have the same keys as the `values` of the create op that
made them, so a client stores both the same way.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from ipplan.core.precompiled import CompileError, Precompiled
from ipplan.courses.services import course_snapshots
from ipplan.live import ot
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans import services
from ipplan.plans.models import Change, Goal, Measure, Member, Plan, Theme

# Targets whose objects are part of the snapshot. Changes to other targets (consent,
# or targets added by other apps) reach clients as ops without values: they advance
# the revision and tell a client to re-read that part if it shows it.
STATE_TARGETS = {"plan", "theme", "goal", "measure", "member", "course"}
LISTS = {
    "theme": "themes",
    "goal": "goals",
    "measure": "measures",
    "member": "members",
    "course": "courses",
}
# Plain lists ordered by id: no positions, nothing to renumber.
BY_ID = {"member", "course"}


def _member_dict(member: Member) -> dict[str, Any]:
    data = services.snapshot(member)
    data["user"] = member.user_id
    data["name"] = member.user.get_full_name() or member.user.username
    data["organisation"] = member.organisation.name if member.organisation_id else None
    return data


def plan_state(plan: Plan) -> dict[str, Any]:
    """The plan's editable state (6 queries, whatever the plan's size)."""
    data: dict[str, Any] = {
        name: services.field_value(plan, name) for name in services.FIELDS["plan"]
    }
    data["id"] = plan.pk
    data["person"] = {"name": plan.person.full_name}
    data["themes"] = [
        services.snapshot(t)
        for t in Theme.objects.alive().filter(plan=plan).order_by("position", "pk")
    ]
    data["goals"] = [
        services.snapshot(g)
        for g in Goal.objects.alive().filter(plan=plan).order_by("position", "pk")
    ]
    data["measures"] = [
        services.snapshot(m)
        for m in Measure.objects.alive().filter(plan=plan).order_by("position", "pk")
    ]
    data["members"] = [
        _member_dict(m)
        for m in Member.objects.filter(plan=plan)
        .select_related("user", "organisation")
        .order_by("pk")
    ]
    # Treatment courses by id (like members), so replaying ops keeps the same order.
    data["courses"] = sorted(course_snapshots(plan), key=lambda c: c["id"])
    return data


@contextmanager
def consistent_read() -> Iterator[None]:
    """A read-only transaction that sees one committed state across several queries.

    PostgreSQL's default READ COMMITTED gives each statement its own snapshot, so a
    change committed between "read the revision" and "read the goals" would make a
    snapshot that matches no revision. REPEATABLE READ gives the whole block one.
    (SQLite read transactions are already snapshots.)
    """
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def plan_snapshot(plan_id: int) -> tuple[int, dict[str, Any]]:
    """(revision, plan state) as one consistent read."""
    with consistent_read():
        plan = Plan.objects.select_related("person").get(pk=plan_id)
        return plan.revision, plan_state(plan)


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _user_ref(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.username}


def meeting_state(meeting: Meeting | None) -> dict[str, Any] | None:
    """A meeting with its agenda and attendees (2 queries beside the meeting's)."""
    return meeting_states([meeting])[0]


def meeting_states(meetings: list[Meeting | None]) -> list[dict[str, Any] | None]:
    """meeting_state of each meeting, in two queries however many there are (the
    process-wide poll re-reads a share of its meetings at once; see watch.py)."""
    ids = [m.pk for m in meetings if m is not None]
    if not ids:
        return [None] * len(meetings)
    items: dict[int, list[AgendaItem]] = {pk: [] for pk in ids}
    for item in (
        AgendaItem.objects.filter(meeting_id__in=ids)
        .select_related("theme")
        .order_by("meeting_id", "position", "pk")
    ):
        items[item.meeting_id].append(item)
    attendees: dict[int, list[Attendee]] = {pk: [] for pk in ids}
    for attendee in (
        Attendee.objects.filter(meeting_id__in=ids)
        .select_related("user")
        .order_by("meeting_id", "joined_at", "pk")
    ):
        attendees[attendee.meeting_id].append(attendee)
    return [
        None if m is None else _meeting_state(m, items[m.pk], attendees[m.pk]) for m in meetings
    ]


def _meeting_state(
    meeting: Meeting, items: list[AgendaItem], attendees: list[Attendee]
) -> dict[str, Any]:
    return {
        "id": meeting.pk,
        "plan": meeting.plan_id,
        "status": meeting.status,
        "scheduled_at": meeting.scheduled_at.isoformat(),
        "place": meeting.place,
        "current_item": meeting.current_item_id,
        "started_at": _when(meeting.started_at),
        "started_by": _user_ref(meeting.started_by),
        "start_revision": meeting.start_revision,
        "closed_at": _when(meeting.closed_at),
        "closed_by": _user_ref(meeting.closed_by),
        "end_revision": meeting.end_revision,
        "next_meeting_at": _when(meeting.next_meeting_at),
        "items": [
            {
                "id": item.pk,
                "theme": item.theme_id,
                "title": item.theme.title,
                "position": item.position,
                "decision": item.decision,
            }
            for item in items
        ],
        "attendees": [
            {
                "id": a.pk,
                "user": a.user_id,
                "name": (a.user.get_full_name() or a.user.username) if a.user_id else a.name,
                "role": a.role,
                "joined_at": a.joined_at.isoformat(),
            }
            for a in attendees
        ],
    }


def meetings_for_state() -> Any:
    """Meetings with what meeting_state shows of them beside agenda and attendees."""
    return Meeting.objects.select_related("started_by", "closed_by")


def load_meeting(meeting_id: int) -> Meeting | None:
    return meetings_for_state().filter(pk=meeting_id).first()


# ----------------------------------------------------------------------------- events


def change_events(plan_id: int, after: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Committed changes with revision > after, oldest first, as `op` messages.

    Reads a gap-free prefix: writers hold the plan row lock until they commit, so
    revision n+1 is never visible before revision n.
    """
    changes = None
    if connection.vendor == "postgresql":
        with suppress(CompileError):  # the ORM's read below, once per process
            changes = _changes_prepared(plan_id, after, limit)
    if changes is None:
        changes = _changes(plan_id, after, limit)
    member_ids = {c.target_id for c in changes if _is_member_entry(c)}
    members = {}
    if member_ids:
        members = {
            m.pk: m
            for m in Member.objects.filter(pk__in=member_ids).select_related("user", "organisation")
        }
    return [_event(c, members) for c in changes]


def changes_statement(
    plan_id: int, after: int, limit: int, using: str = "default"
) -> tuple[str, list[Any]]:
    """change_events' read as (SQL, parameters), for a driver of its own (the live
    sockets' fast lane). Raises CompileError if it cannot be precompiled; compile it
    first on a database thread (compile_changes): compiling may ask the server."""
    return _CHANGES.sql(using, **_changes_values(plan_id, after, limit))


def compile_changes(using: str = "default") -> None:
    with suppress(CompileError):  # cached: changes_statement raises it again
        _CHANGES.sql(using, plan_id=1, after=0, upto=1)


def events_from_rows(rows: list[tuple], using: str = "default") -> list[dict[str, Any]] | None:
    """The events of changes_statement's rows, as change_events gives them; None if one
    of them needs a further read (a member who joined: their name and organisation)."""
    changes = _changes_from_rows(rows, using)
    if any(_is_member_entry(c) for c in changes):
        return None
    return [_event(c, {}) for c in changes]


def _is_member_entry(change: Change) -> bool:
    return change.target_type == "member" and change.kind in {
        Change.Kind.CREATE,
        Change.Kind.RESTORE,
    }


def _changes(plan_id: int, after: int, limit: int | None) -> list[Change]:
    qs = (
        Change.objects.filter(plan_id=plan_id, revision__gt=after)
        .select_related("user")
        .order_by("revision")
    )
    if limit is not None:
        qs = qs[:limit]
    return list(qs)


_CHANGE_ATTNAMES = [f.attname for f in Change._meta.concrete_fields]
_JSON_FIELDS = {
    f.attname for f in Change._meta.concrete_fields if f.get_internal_type() == "JSONField"
}
_USER_FIELDS = ["first_name", "last_name", "username"]
_MAX_REVISION = 2**31 - 1  # PositiveIntegerField's upper bound

# The same read as _changes, precompiled and prepared (ipplan.core.precompiled): every
# process that did not commit a revision reads it once, so this runs once per op per
# process. Revisions are gap-free, so "the first `limit`" is "up to after + limit".
_CHANGES = Precompiled(
    lambda plan_id, after, upto: (
        Change.objects.filter(plan_id=plan_id, revision__gt=after, revision__lte=upto)
        .order_by("revision")
        .values_list(*_CHANGE_ATTNAMES, *(f"user__{name}" for name in _USER_FIELDS))
    ),
    plan_id=int,
    after=int,
    upto=int,
)


def _changes_prepared(plan_id: int, after: int, limit: int | None) -> list[Change]:
    return _changes_from_rows(
        _CHANGES.rows(**_changes_values(plan_id, after, limit)), connection.alias
    )


def _changes_values(plan_id: int, after: int, limit: int | None) -> dict[str, int]:
    upto = _MAX_REVISION if limit is None else min(after + limit, _MAX_REVISION)
    return {"plan_id": plan_id, "after": after, "upto": upto}


def _changes_from_rows(rows: list[tuple], using: str) -> list[Change]:
    user_model = get_user_model()
    changes = []
    for row in rows:
        values = dict(zip(_CHANGE_ATTNAMES, row, strict=False))
        for name in _JSON_FIELDS:
            if isinstance(values[name], str):
                values[name] = json.loads(values[name])
        change = Change(**values)
        names = dict(zip(_USER_FIELDS, row[len(_CHANGE_ATTNAMES) :], strict=True))
        change.user = user_model(pk=change.user_id, **names)
        change._state.adding = False
        change._state.db = using
        changes.append(change)
    return changes


def committed_event(change: Change) -> dict[str, Any]:
    """The event of a change just committed (not a member's: see change_events)."""
    return _event(change, {})


def _event(change: Change, members: dict[int, Member]) -> dict[str, Any]:
    event = services.change_to_event(
        change, user_name=change.user.get_full_name() or change.user.username
    )
    op = event["op"]
    if change.target_type not in STATE_TARGETS:
        # Not part of the live state (e.g. consent): say only that it happened.
        event["op"] = {"type": op["type"], "target": op["target"], "id": op["id"]}
    elif change.target_type == "member" and "values" in op and change.target_id in members:
        member = members[change.target_id]
        op["values"] = {**(op["values"] or {}), **_member_identity(member)}
    if change.kind == Change.Kind.CREATE and change.target_type == "plan":
        # Revision 1 (the plan's creation) carries the plan's fields, nothing to merge.
        event["op"] = {"type": op["type"], "target": "plan", "id": op["id"]}
    result = change.payload.get("result") if isinstance(change.payload, dict) else None
    event["result"] = result or {}
    return event


def _member_identity(member: Member) -> dict[str, Any]:
    return {
        "user": member.user_id,
        "name": member.user.get_full_name() or member.user.username,
        "organisation": member.organisation.name if member.organisation_id else None,
    }


def as_op_message(event: dict[str, Any]) -> dict[str, Any]:
    """The `op` message for other sockets."""
    return {k: v for k, v in event.items() if k != "result"}


def as_ack_message(event: dict[str, Any]) -> dict[str, Any]:
    """The `ack` message for the socket that sent the op."""
    return {**event, "type": "ack"}


# ----------------------------------------------------------------------------- replay


def _group(state: dict[str, Any], target: str, theme: int | None) -> list[dict[str, Any]]:
    items = state[LISTS[target]]
    if target in {"goal", "measure"}:
        items = [o for o in items if o["theme"] == theme]
    return sorted(items, key=lambda o: (o["position"], o["id"]))


def _renumber(group: list[dict[str, Any]]) -> None:
    for index, obj in enumerate(group):
        obj["position"] = index


def _insert(state: dict[str, Any], target: str, obj: dict[str, Any], position: int) -> None:
    group = _group(state, target, obj.get("theme"))
    group = [o for o in group if o["id"] != obj["id"]]
    group.insert(min(position, len(group)), obj)
    _renumber(group)


def _find(state: dict[str, Any], target: str, obj_id: int) -> dict[str, Any] | None:
    return next((o for o in state[LISTS[target]] if o["id"] == obj_id), None)


def apply_event(state: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """Apply one committed op to a plan state, in place; see `_apply` for the rules.

    Lists stay in the snapshot's order afterwards (themes, goals and measures by
    (position, id) across the plan; members by id), so states compare equal.
    """
    _apply(state, op)
    for name in ("themes", "goals", "measures"):
        state[name].sort(key=lambda o: (o["position"], o["id"]))
    return state


def _apply(state: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """Apply one committed op (the `op` of an op/ack message) to a plan state, in place.

    The rules a client follows (see docs/protocol.md, "Applying ops"):
    - set / text: change the field (text: apply the OT op);
    - create / restore: add `values` to its list and insert it at values.position in
      its group (same theme for goals and measures), renumbering the group 0..n-1;
    - delete: drop it from its list and renumber its group;
    - move: take it out of its group (renumber), set theme (and goal for measures) from
      the op, insert it at `position` in its new group (renumber); a goal's `measures`
      follow it to the new theme, appended in the given order;
    - ops on other targets (consent, ...) carry no values and change nothing here.
    Members are never deleted or reordered; `members` and `courses` are ordered by id
    and have no positions.
    """
    kind, target = op["type"], op["target"]
    if target not in STATE_TARGETS or (target == "plan" and kind == "create"):
        return state
    if kind in {"set", "text"}:
        obj = state if target == "plan" else _find(state, target, op["id"])
        if obj is None:
            raise KeyError(f"{target} {op['id']} is not in the state")
        if kind == "set":
            obj[op["field"]] = op["value"]
        else:
            obj[op["field"]] = ot.apply(obj.get(op["field"]) or "", op["ops"])
        return state
    if kind in {"create", "restore"}:
        values = copy.deepcopy(op["values"])
        items = state[LISTS[target]]
        items[:] = [o for o in items if o["id"] != values["id"]]
        items.append(values)
        if target in BY_ID:
            items.sort(key=lambda o: o["id"])
        else:
            _insert(state, target, values, values["position"])
        return state
    obj = _find(state, target, op["id"])
    if obj is None:
        raise KeyError(f"{target} {op['id']} is not in the state")
    if kind == "delete":
        state[LISTS[target]].remove(obj)
        if target not in BY_ID:
            _renumber(_group(state, target, obj.get("theme")))
        return state
    if kind == "move":
        old_theme = obj.get("theme")
        new_theme = op.get("theme", old_theme)
        if target in {"goal", "measure"} and new_theme != old_theme:
            obj["theme"] = new_theme
            _renumber(_group(state, target, old_theme))
            if target == "goal":
                start = len(_group(state, "measure", new_theme))
                followers = [_find(state, "measure", pk) for pk in op.get("measures", [])]
                for offset, measure in enumerate(m for m in followers if m is not None):
                    measure["theme"] = new_theme
                    measure["position"] = start + offset
                _renumber(_group(state, "measure", old_theme))
        if target == "measure" and "goal" in op:
            obj["goal"] = op["goal"]
        _insert(state, target, obj, op["position"])
        return state
    raise ValueError(f"unknown op type {kind!r}")
