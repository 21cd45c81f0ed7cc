"""Leading a meeting over the live socket: start, move the current theme, decisions,
attendance on join, and attribution of live edits to the meeting."""

import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from ipplan.meetings import services as meetings
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans.models import Change, Goal
from tests.live.conftest import plan_lock_held, text_op, until_lock_waiters

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def op_id() -> str:
    return uuid.uuid4().hex


def _schedule(plan, coordinator) -> Meeting:
    return meetings.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now(), place="Møterom 2"
    )


def _first_item(meeting) -> AgendaItem:
    return AgendaItem.objects.filter(meeting=meeting).order_by("position").first()


async def test_the_coordinator_starts_and_leads_the_meeting_over_the_socket(
    sockets, plan, coordinator, specialist
):
    meeting = await db(_schedule, plan, coordinator)
    kari = await sockets.open(coordinator, plan.pk, meeting=meeting.pk)
    siv = await sockets.open(specialist, plan.pk, meeting=meeting.pk)
    assert kari.received[0]["meeting"]["status"] == "planned"
    await kari.send({"type": "meeting", "action": "start", "request_id": "r1"})
    started = await siv.expect("meeting", timeout=5)
    while started["meeting"]["status"] != "in_progress":
        started = await siv.expect("meeting")
    items = started["meeting"]["items"]
    assert [i["title"] for i in items][:1] == ["Bolig"]
    assert started["meeting"]["current_item"] == items[0]["id"]
    assert started["meeting"]["started_by"]["id"] == coordinator.pk
    # Siv was waiting in the room: she is recorded as present once the meeting runs.
    attendees = await db(
        lambda: set(Attendee.objects.filter(meeting=meeting).values_list("user_id", flat=True))
    )
    assert attendees == {coordinator.pk, specialist.pk}

    await kari.send({"type": "meeting", "action": "goto", "item": items[2]["id"]})
    moved = await siv.expect("meeting")
    while moved["meeting"]["current_item"] != items[2]["id"]:
        moved = await siv.expect("meeting")


async def test_only_the_coordinator_moves_the_current_theme(sockets, plan, coordinator, specialist):
    meeting = await db(_schedule, plan, coordinator)
    await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
    item = await db(_first_item, meeting)
    siv = await sockets.open(specialist, plan.pk, meeting=meeting.pk)
    await siv.send({"type": "meeting", "action": "goto", "item": item.pk, "request_id": "g1"})
    error = await siv.expect("error")
    assert (error["op_id"], error["code"]) == ("g1", "forbidden")
    # A member who may edit writes the decision while the meeting runs.
    await siv.send({"type": "meeting", "action": "decision", "item": item.pk, "text": "Søke bolig"})
    decided = await siv.expect("meeting")
    while decided["meeting"]["items"][0]["decision"] != "Søke bolig":
        decided = await siv.expect("meeting")


async def test_live_edits_in_a_running_meeting_are_attributed_to_it(
    sockets, plan, coordinator, specialist
):
    meeting = await db(_schedule, plan, coordinator)
    await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
    in_room = await sockets.open(specialist, plan.pk, meeting=meeting.pk)
    elsewhere = await sockets.open(coordinator, plan.pk)
    assert in_room.received[0]["meeting"]["status"] == "in_progress"
    assert elsewhere.received[0]["meeting"]["id"] == meeting.pk  # follows the running meeting
    goal = await db(Goal.objects.get, plan=plan)
    base = plan.revision
    await in_room.send(text_op(goal.pk, "goal", "text", ["Min ", 14], base, op_id()))
    ack = await in_room.expect("ack")
    assert ack["meeting"] == meeting.pk
    await elsewhere.send(text_op(goal.pk, "goal", "text", [14, "!"], base, op_id()))
    ack2 = await elsewhere.expect("ack")
    assert ack2["meeting"] is None
    change = await db(Change.objects.get, plan=plan, revision=ack["rev"])
    assert change.meeting_id == meeting.pk

    await db(meetings.meeting_close, meeting_id=meeting.pk, user=coordinator)
    closed = await in_room.expect("meeting")
    while closed["meeting"]["status"] != "closed":
        closed = await in_room.expect("meeting")
    assert closed["meeting"]["end_revision"] == ack2["rev"]
    # After the close, edits on the same socket are no longer the meeting's.
    await in_room.send(text_op(goal.pk, "goal", "text", [19, "?"], ack2["rev"], op_id()))
    assert (await in_room.expect("ack"))["meeting"] is None


async def test_joining_a_running_meeting_records_attendance_once(
    sockets, plan, coordinator, reader
):
    meeting = await db(_schedule, plan, coordinator)
    await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
    await sockets.open(reader, plan.pk, meeting=meeting.pk)
    await sockets.open(reader, plan.pk, meeting=meeting.pk)  # a second tab
    rows = await db(lambda: list(Attendee.objects.filter(meeting=meeting, user=reader)))
    assert len(rows) == 1 and rows[0].role


async def test_meeting_actions_need_the_meeting_room(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    await kari.send({"type": "meeting", "action": "start", "request_id": "s1"})
    error = await kari.expect("error")
    assert (error["op_id"], error["code"]) == ("s1", "invalid")


async def test_a_read_only_member_cannot_write_decisions(sockets, plan, coordinator, reader):
    meeting = await db(_schedule, plan, coordinator)
    await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
    item = await db(_first_item, meeting)
    frida = await sockets.open(reader, plan.pk, meeting=meeting.pk)
    await frida.send({"type": "meeting", "action": "decision", "item": item.pk, "text": "Nei"})
    assert (await frida.expect("error"))["code"] == "forbidden"
    assert (await db(AgendaItem.objects.get, pk=item.pk)).decision == ""


async def test_an_edit_that_waited_for_the_meeting_start_is_attributed_to_the_meeting(
    sockets, plan, coordinator, specialist
):
    # The start and an edit queue on the plan lock; the edit, written after the start
    # committed, belongs to the meeting and so to its referat. (Judged on what the
    # database held before the wait, it would not be.)
    if connection.vendor != "postgresql":
        pytest.skip("the race is between PostgreSQL row-lock waiters")
    meeting = await db(_schedule, plan, coordinator)
    siv = await sockets.open(specialist, plan.pk, meeting=meeting.pk)
    goal = await db(Goal.objects.get, plan=plan)
    frame = text_op(goal.pk, "goal", "text", [14, "!"], plan.revision, op_id())
    async with plan_lock_held(
        lambda: meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    ):
        await siv.send(frame)
        await until_lock_waiters(1)
    await siv.expect("ack", op_id=frame["op_id"])
    change = await db(Change.objects.get, op_id=frame["op_id"])
    assert change.meeting_id == meeting.pk
