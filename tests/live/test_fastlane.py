"""The fast lane (ipplan/live/fastlane.py): plain text ops committed on the event loop.
It must answer exactly as the ordinary path would: attributed, refused with nothing
written, applied once whatever happens to its connection."""

import asyncio
import sys
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from ipplan.live import fastlane, handlers
from ipplan.live.snapshot import as_op_message, change_events
from ipplan.meetings import services as meetings
from ipplan.plans.models import Change, Goal, Member, Plan
from tests.conftest import add_member
from tests.live.conftest import text_op

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the lane is PostgreSQL's"),
]


def op_id() -> str:
    return uuid.uuid4().hex


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def _goal(plan) -> Goal:
    return Goal.objects.get(plan=plan)


def _changes(plan, the_op_id: str) -> list[Change]:
    return list(Change.objects.filter(plan=plan, op_id=the_op_id))


def _lane_sessions() -> list[tuple[int, str]]:
    """(backend pid, state) of the fast lane's connections to the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [fastlane.APPLICATION_NAME],
        )
        return cursor.fetchall()


async def _settled_lane_sessions() -> list[tuple[int, str]]:
    """_lane_sessions, once a backend whose client has just closed has gone (it leaves
    pg_stat_activity a moment after the client)."""
    for _attempt in range(40):
        sessions = await db(_lane_sessions)
        if len(sessions) <= 1:
            break
        await asyncio.sleep(0.05)
    return sessions


def _terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def no_ordinary_path(monkeypatch):
    """Make the database-thread path fail loudly: what still succeeds took the lane."""
    calls = []

    def refuse(**kwargs):
        calls.append(kwargs["op_id"])
        raise AssertionError("the ordinary path was taken")

    monkeypatch.setattr(handlers, "apply_op", refuse)
    return calls


async def test_a_plain_text_op_takes_the_lane_and_is_attributed_to_the_meeting(
    sockets, plan, coordinator, specialist, no_ordinary_path
):
    meeting = await db(
        meetings.meeting_schedule,
        plan_id=plan.pk,
        user=coordinator,
        scheduled_at=timezone.now(),
        place="Møterom 2",
    )
    await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
    kari = await sockets.open(coordinator, plan.pk, meeting=meeting.pk)
    siv = await sockets.open(specialist, plan.pk, meeting=meeting.pk)
    goal = await db(_goal, plan)
    rev = kari.last_rev()
    the_id = op_id()
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], rev, the_id))
    ack = await kari.expect("ack")
    assert (ack["op_id"], ack["rev"]) == (the_id, rev + 1)
    seen = await siv.expect("op")
    assert (seen["op_id"], seen["rev"], seen["op"]) == (the_id, rev + 1, ack["op"])
    assert seen["user"] == {"id": coordinator.pk, "name": "Kari Koordinator"}
    assert seen["meeting"] == meeting.pk
    assert no_ordinary_path == []
    [change] = await db(_changes, plan, the_id)
    assert (change.revision, change.user_id, change.meeting_id, change.via) == (
        rev + 1,
        coordinator.pk,
        meeting.pk,
        "live",
    )
    assert (await db(_goal, plan)).text == "Egen leilighet!"
    # Its connection is back in the pool, outside any transaction.
    assert [state for _pid, state in await db(_lane_sessions)] == ["idle"]


async def test_a_refused_op_writes_nothing_and_the_ordinary_path_words_the_refusal(
    sockets, plan, reader
):
    rita = await sockets.open(reader, plan.pk)
    goal = await db(_goal, plan)
    the_id = op_id()
    await rita.send(text_op(goal.pk, "goal", "text", [14, "!"], rita.last_rev(), the_id))
    error = await rita.expect("error")
    assert (error["op_id"], error["code"]) == (the_id, "forbidden")
    assert await db(_changes, plan, the_id) == []
    assert (await db(_goal, plan)).text == "Egen leilighet"
    # The lane rolled back: its connection holds no transaction (and so no plan lock).
    assert all(state == "idle" for _pid, state in await db(_lane_sessions))


async def test_an_op_sent_again_is_applied_once(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    the_id = op_id()
    frame = text_op(goal.pk, "goal", "text", [14, "!"], kari.last_rev(), the_id)
    await kari.send(frame)
    first = await kari.expect("ack")
    await kari.send(frame)  # as after a reconnect that lost the ack
    again = await kari.expect("ack")
    assert (again["op_id"], again["rev"]) == (first["op_id"], first["rev"])
    assert len(await db(_changes, plan, the_id)) == 1
    assert (await db(_goal, plan)).text == "Egen leilighet!"


async def _the_server_restarts(lane_sessions: list[tuple[int, str]]) -> None:
    await db(_terminate, [pid for pid, _state in lane_sessions])


async def _its_prepared_statements_vanish(lane_sessions: list[tuple[int, str]]) -> None:
    # As after a connection pooler's DISCARD ALL: the server refuses the next batch.
    for names in fastlane._statement_names.values():
        for sql in names:
            names[sql] = b"ipplan_lane_gone"


@pytest.mark.parametrize(
    "fault",
    [_the_server_restarts, _its_prepared_statements_vanish],
    ids=["the server restarts", "its prepared statements vanish"],
)
async def test_a_failing_lane_connection_falls_back_and_the_next_op_takes_a_new_one(
    sockets, plan, coordinator, fault
):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], kari.last_rev(), op_id()))
    await kari.expect("ack")
    before = await db(_lane_sessions)
    assert len(before) == 1
    await fault(before)

    the_id = op_id()
    await kari.send(text_op(goal.pk, "goal", "text", [15, "?"], kari.last_rev(), the_id))
    ack = await kari.expect("ack")
    assert ack["op_id"] == the_id
    assert len(await db(_changes, plan, the_id)) == 1
    await kari.send(text_op(goal.pk, "goal", "text", [16, "."], kari.last_rev(), op_id()))
    await kari.expect("ack")
    assert (await db(_goal, plan)).text == "Egen leilighet!?."
    # The failed connection was closed, not reused: a new one took the third op.
    after = await db(_lane_sessions)
    assert len(after) == 1 and after[0][0] != before[0][0]
    assert after[0][1] == "idle"


@pytest.mark.parametrize("max_age, replaced", [(600, False), (0, True)])
async def test_a_lane_connection_past_its_age_is_replaced(
    sockets, plan, coordinator, settings, max_age, replaced
):
    settings.IPPLAN_LIVE_FAST_LANE_MAX_AGE = max_age
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], kari.last_rev(), op_id()))
    await kari.expect("ack")
    [(first, _state)] = await db(_lane_sessions)
    await kari.send(text_op(goal.pk, "goal", "text", [15, "?"], kari.last_rev(), op_id()))
    await kari.expect("ack")
    [(second, state)] = await _settled_lane_sessions()  # the old one closed, not left open
    assert (second != first, state) == (replaced, "idle")
    assert (await db(_goal, plan)).text == "Egen leilighet!?"


async def test_a_commit_whose_answer_is_lost_is_answered_as_the_op_it_was(
    sockets, plan, coordinator, specialist, monkeypatch
):
    # The worst case for exactly-once: COMMIT went through, but the lane never heard.
    # The ordinary path then finds the op id and answers with the committed change.
    import psycopg

    real_run = fastlane._run

    async def commit_then_fail(conn, steps, batch):
        await real_run(conn, steps, batch)
        raise psycopg.OperationalError("the server closed the connection unexpectedly")

    monkeypatch.setattr(fastlane, "_run", commit_then_fail)
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    rev = kari.last_rev()
    the_id = op_id()
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], rev, the_id))
    ack = await kari.expect("ack")
    assert (ack["op_id"], ack["rev"]) == (the_id, rev + 1)
    # No notification was sent for it (the lane thought it failed): the other socket
    # still gets it, from the poll.
    seen = await siv.expect("op", timeout=10)
    assert (seen["op_id"], seen["rev"]) == (the_id, rev + 1)
    assert len(await db(_changes, plan, the_id)) == 1
    assert (await db(_goal, plan)).text == "Egen leilighet!"
    assert [m for m in await kari.quiet(0.5) if m["type"] in {"ack", "op"}] == []


def _switched_off(settings, monkeypatch) -> None:
    settings.IPPLAN_LIVE_FAST_LANE = False


def _psycopg_lacks_its_query_module(settings, monkeypatch) -> None:
    # The lane uses psycopg's private query conversion: a release that moves it must
    # cost speed, not edits.
    monkeypatch.setitem(sys.modules, "psycopg._queries", None)  # import fails
    monkeypatch.setattr(fastlane, "_compiled", None)


@pytest.mark.parametrize(
    "lane_off",
    [_switched_off, _psycopg_lacks_its_query_module],
    ids=["switched off", "psycopg lacks its query module"],
)
async def test_with_the_lane_off_the_ordinary_path_applies_the_op(
    sockets, plan, coordinator, settings, monkeypatch, lane_off
):
    lane_off(settings, monkeypatch)
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    the_id = op_id()
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], kari.last_rev(), the_id))
    await kari.expect("ack")
    assert len(await db(_changes, plan, the_id)) == 1
    assert await db(_lane_sessions) == []


# ------------------------------------------------------------------ the fan-out's read


def _a_change_of_each_kind(plan, coordinator) -> int:
    """Text, set, move, create, delete and restore, on the ordinary path; the plan's
    revision before them."""
    goal = plan.goals.alive().first()
    theme = plan.themes.order_by("position").last()
    rev = Plan.objects.get(pk=plan.pk).revision
    ops = [
        {"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": [14, " 🙂"]},
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        {"type": "move", "target": "goal", "id": goal.pk, "position": 0, "theme": theme.pk},
        {"type": "create", "target": "theme", "values": {"title": "Fritid"}},
        {"type": "delete", "target": "goal", "id": goal.pk},
        {"type": "restore", "target": "goal", "id": goal.pk},
    ]
    for index, op in enumerate(ops):
        handlers.apply_op(
            plan_id=plan.pk,
            user=coordinator,
            op=op,
            op_id=op_id(),
            base_rev=rev + index,
            meeting_id=None,
        )
    return rev


async def test_the_lane_reads_the_log_exactly_as_a_database_thread_does(live_db, plan, coordinator):
    rev = await db(_a_change_of_each_kind, plan, coordinator)
    expected = await db(change_events, plan.pk, rev)
    assert [e["op"]["type"] for e in expected] == [
        "text",
        "set",
        "move",
        "create",
        "delete",
        "restore",
    ]
    assert await fastlane.read_events(plan_id=plan.pk, after=rev, limit=50) == expected
    assert await fastlane.read_events(plan_id=plan.pk, after=rev + 1, limit=3) == expected[1:4]
    assert await fastlane.read_events(plan_id=plan.pk, after=rev + 6, limit=50) == []
    # A member's entry needs their name and organisation, a read of its own: the lane
    # leaves the whole read to a database thread.
    assert await fastlane.read_events(plan_id=plan.pk, after=0, limit=50) is None
    assert all(state == "idle" for _pid, state in await db(_lane_sessions))


@pytest.fixture
def thread_reads(monkeypatch):
    """The database thread's reads of the log, counted (and still made)."""
    from ipplan.live import consumers

    calls = []
    real = consumers.change_events

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(consumers, "change_events", counted)
    return calls


async def test_changes_made_elsewhere_reach_the_sockets_through_the_lane(
    sockets, plan, coordinator, specialist, thread_reads
):
    siv = await sockets.open(specialist, plan.pk)
    # Committed on another thread, as by another process: the socket's process has not
    # cached their events and must read them.
    rev = await db(_a_change_of_each_kind, plan, coordinator)
    seen = [await siv.expect("op") for _kind in range(6)]
    assert seen == [as_op_message(e) for e in await db(change_events, plan.pk, rev)]
    assert thread_reads == []


async def test_a_new_members_entry_is_read_on_a_database_thread_with_their_name(
    sockets, plan, coordinator, specialist, outsider, orgs, thread_reads
):
    siv = await sockets.open(specialist, plan.pk)
    result = await db(
        add_member,
        plan,
        coordinator,
        outsider,
        orgs["nav"],
        Member.Access.READ,
        active_from=timezone.localdate(),
    )
    seen = await siv.expect("op")
    assert (seen["op"]["target"], seen["op"]["id"]) == ("member", result.result["id"])
    assert seen["op"]["values"]["name"] == await db(lambda: outsider.get_full_name())
    assert seen["op"]["values"]["organisation"] == orgs["nav"].name
    assert len(thread_reads) == 1
