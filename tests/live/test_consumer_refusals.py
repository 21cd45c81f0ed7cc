"""The live socket refuses what it must: strangers, foreign origins, read-only edits,
bad frames, oversize frames, floods, and sockets whose session or access has ended.
Each refusal is an error frame or a close with a clear code; the plan is unchanged and
other clients carry on."""

import datetime
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from ipplan.accounts.models import User
from ipplan.live import protocol
from ipplan.plans import services
from ipplan.plans.models import Consent, Goal, Member, Plan
from tests.live.conftest import text_op

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def op_id() -> str:
    return uuid.uuid4().hex


def _goal(plan):
    return Goal.objects.get(plan=plan)


async def _revision(plan) -> int:
    return (await db(Plan.objects.get, pk=plan.pk)).revision


async def assert_still_serving(socket):
    """The socket is open and answers (no unhandled exception took it down)."""
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    assert not socket.communicator.future.done()


# ------------------------------------------------------------------ who may connect


async def test_an_anonymous_socket_is_closed_with_4401(sockets, plan):
    socket = await sockets.open(None, plan.pk, expect_snapshot=False)
    assert await socket.expect_close() == protocol.CLOSE_UNAUTHENTICATED
    assert not [m for m in socket.received if m["type"] == "snapshot"]


async def test_a_foreign_origin_is_refused_at_the_handshake(sockets, plan, coordinator):
    socket = await sockets.open(
        coordinator, plan.pk, origin=b"https://evil.example", expect_snapshot=False
    )
    assert socket.refused
    socket = await sockets.open(coordinator, plan.pk, origin=None, expect_snapshot=False)
    assert socket.refused


async def test_an_outsider_gets_4404_like_a_plan_that_does_not_exist(sockets, plan, outsider):
    socket = await sockets.open(outsider, plan.pk, expect_snapshot=False)
    assert await socket.expect_close() == protocol.CLOSE_NOT_FOUND
    socket = await sockets.open(outsider, 987654321, expect_snapshot=False)
    assert await socket.expect_close() == protocol.CLOSE_NOT_FOUND


async def test_a_unit_leader_cannot_open_a_plan(sockets, plan, leader):
    socket = await sockets.open(leader, plan.pk, expect_snapshot=False)
    assert await socket.expect_close() == protocol.CLOSE_NOT_FOUND


async def test_a_meeting_of_another_plan_is_refused(sockets, plan, other_plan, coordinator):
    from ipplan.meetings import services as meetings

    meeting = await db(
        meetings.meeting_schedule,
        plan_id=other_plan.pk,
        user=coordinator,
        scheduled_at=timezone.now(),
        place="",
    )
    socket = await sockets.open(coordinator, plan.pk, meeting=meeting.pk, expect_snapshot=False)
    assert await socket.expect_close() == protocol.CLOSE_NOT_FOUND


# --------------------------------------------------------------- refused operations


async def test_a_read_only_member_is_refused_and_put_right(sockets, plan, reader, coordinator):
    frida = await sockets.open(reader, plan.pk)
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    the_id = op_id()
    await frida.send(text_op(goal.pk, "goal", "text", ["Ikke ", 14], plan.revision, the_id))
    error = await frida.expect("error")
    assert (error["op_id"], error["code"]) == (the_id, "forbidden")
    assert error["message"]
    snapshot = await frida.expect("snapshot")  # the sender's view is put right
    assert snapshot["plan"]["goals"][0]["text"] == "Egen leilighet"
    assert await _revision(plan) == plan.revision
    assert [m for m in await kari.quiet() if m["type"] in {"op", "ack"}] == []


async def test_a_commenter_may_edit_only_the_measure_they_are_responsible_for(
    sockets, plan, commenter
):
    nils = await sockets.open(commenter, plan.pk)
    snapshot = nils.received[0]
    measure = snapshot["plan"]["measures"][0]
    goal = snapshot["plan"]["goals"][0]
    await nils.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": snapshot["rev"],
            "op": {
                "type": "set",
                "target": "measure",
                "id": measure["id"],
                "field": "status",
                "value": "done",
            },
        }
    )
    await nils.expect("ack")
    await nils.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": snapshot["rev"],
            "op": {
                "type": "set",
                "target": "goal",
                "id": goal["id"],
                "field": "status",
                "value": "achieved",
            },
        }
    )
    assert (await nils.expect("error"))["code"] == "forbidden"


async def test_an_invalid_value_is_refused_with_the_field(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    await kari.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": plan.revision,
            "op": {
                "type": "set",
                "target": "goal",
                "id": goal.pk,
                "field": "evaluation_date",
                "value": "1999-01-01",
            },
        }
    )
    error = await kari.expect("error")
    assert (error["code"], error["field"]) == ("invalid", "evaluation_date")
    await kari.expect("snapshot")
    assert await _revision(plan) == plan.revision


async def test_unknown_ids_are_not_found(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    await kari.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": plan.revision,
            "op": {
                "type": "set",
                "target": "goal",
                "id": 99999999,
                "field": "status",
                "value": "achieved",
            },
        }
    )
    assert (await kari.expect("error"))["code"] == "not_found"
    assert await _revision(plan) == plan.revision
    await assert_still_serving(kari)


async def test_an_edit_to_another_plan_is_not_found_and_changes_nothing(
    sockets, plan, other_plan, coordinator
):
    # Kari coordinates both plans, but this socket is Per's plan: the id must belong to it.
    theme = await db(lambda: other_plan.themes.first())
    before = await _revision(other_plan)
    kari = await sockets.open(coordinator, plan.pk)
    await kari.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": plan.revision,
            "op": {
                "type": "set",
                "target": "theme",
                "id": theme.pk,
                "field": "title",
                "value": "Kapret",
            },
        }
    )
    assert (await kari.expect("error"))["code"] == "not_found"
    assert (await db(lambda: other_plan.themes.get(pk=theme.pk))).title == theme.title
    assert await _revision(other_plan) == before
    # Naming a plan in the frame is not part of the protocol at all.
    await kari.send({**text_op(1, "goal", "text", ["x"], 0, op_id()), "plan": other_plan.pk})
    assert (await kari.expect("error"))["code"] == "bad_frame"


async def test_an_op_against_an_impossible_revision_is_stale(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    await kari.send(text_op(goal.pk, "goal", "text", ["x", 14], plan.revision + 50, op_id()))
    assert (await kari.expect("error"))["code"] == "stale"
    # An op whose length does not match the field at its base revision is stale too.
    await kari.send(text_op(goal.pk, "goal", "text", ["x", 3], plan.revision, op_id()))
    assert (await kari.expect("error"))["code"] == "stale"
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "Egen leilighet"


# ---------------------------------------------------------------------- bad frames


BAD_FRAMES = [
    "this is not json",
    "[1, 2, 3]",
    '"a string"',
    "{}",
    '{"type": "teleport"}',
    '{"type": "op", "op_id": "abc", "base_rev": "7", "op": {"type": "set"}}',
    '{"type": "op", "op_id": "abc", "base_rev": -1, "op": {"type": "text", "target": "goal"}}',
    '{"type": "op", "op_id": "abc", "base_rev": 1, "op": {"type": "text", "target": "goal",'
    ' "id": 1, "field": "text", "ops": [1.5, {"x": 1}]}}',
    '{"type": "op", "op_id": "a b c", "base_rev": 1, "op": {}}',
    '{"type": "sync", "since": null}',
    '{"type": "presence", "focus": "<script>"}',
    '{"type": "meeting", "action": "explode"}',
    '{"type": "ping", "extra": true}',
    "[" * 100000 + "]" * 100000,
    '{"type": "op", "op_id": "abc", "base_rev": 1e400, "op": {}}',
    '{"type": "ping", "x": NaN}',
    '{"type": "meeting", "action": "decision", "item": 1, "text": "a\\u0000b"}',
    '{"type": "op", "op_id": "abc", "base_rev": 1, "op": {"type": "text", "target": "goal",'
    ' "id": 1, "field": "text", "ops": ["\\ud800"]}}',
    '{"type": "op", "op_id": "abc", "base_rev": 1, "op": {"type": "create", "target": "goal",'
    ' "values": {"theme": 100000000000000000000000}}}',
]


async def test_each_bad_frame_gets_an_error_and_changes_nothing(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    for frame in BAD_FRAMES:
        await kari.send(frame)
        error = await kari.expect("error")
        assert error["code"] == "bad_frame", frame[:60]
        assert error["op_id"] in (None, "abc"), frame[:60]
    assert await _revision(plan) == plan.revision
    await assert_still_serving(kari)
    await assert_still_serving(siv)
    assert [m["type"] for m in siv.received if m["type"] not in {"presence", "pong"}] == [
        "snapshot"
    ]


async def test_a_binary_frame_gets_an_error(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    await kari.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await kari.expect("error"))["code"] == "bad_frame"
    await assert_still_serving(kari)


async def test_a_frame_over_256_kib_closes_with_4413(sockets, plan, coordinator, specialist):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    big = text_op(goal.pk, "goal", "text", ["æ" * (140 * 1024), 14], plan.revision, op_id())
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 256 * 1024
    await kari.send(json.dumps(big, ensure_ascii=False))
    assert await kari.expect_close() == protocol.CLOSE_TOO_LARGE
    assert await _revision(plan) == plan.revision
    await assert_still_serving(siv)


async def test_a_frame_just_under_the_limit_is_read(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    frame = json.dumps({"type": "presence", "focus": None}) + " " * (256 * 1024 - 40)
    await kari.send(frame)
    await assert_still_serving(kari)


async def test_a_flood_is_rate_limited_then_closed_with_4429(
    sockets, plan, coordinator, specialist, settings
):
    settings.IPPLAN_LIVE_RATE_PER_SECOND = 5
    settings.IPPLAN_LIVE_RATE_BURST = 20
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    for _ in range(200):
        await kari.send({"type": "ping"})
    code = await kari.expect_close(timeout=10)
    assert code == protocol.CLOSE_RATE_LIMITED
    kinds = [m.get("code", m["type"]) for m in kari.received]
    assert kinds.count("pong") >= 20
    assert "rate_limited" in kinds
    await assert_still_serving(siv)


async def test_a_rate_limited_op_is_not_applied_and_may_be_resent(
    sockets, plan, coordinator, settings
):
    settings.IPPLAN_LIVE_RATE_PER_SECOND = 0.001
    settings.IPPLAN_LIVE_RATE_BURST = 3
    kari = await sockets.open(coordinator, plan.pk)
    for _ in range(3):
        await kari.send({"type": "ping"})
    goal = await db(_goal, plan)
    frame = text_op(goal.pk, "goal", "text", [14, "!"], plan.revision, op_id())
    await kari.send(frame)
    error = await kari.expect("error")
    assert (error["code"], error["op_id"]) == ("rate_limited", frame["op_id"])
    assert await _revision(plan) == plan.revision
    settings.IPPLAN_LIVE_RATE_BURST = 100  # (the bucket refills too; this keeps it quick)
    kari_again = await sockets.open(coordinator, plan.pk)
    await kari_again.send(frame)
    assert (await kari_again.expect("ack"))["op_id"] == frame["op_id"]


# ------------------------------------------------------------ the end of a session


async def test_logout_closes_the_users_sockets_at_once(sockets, plan, specialist, settings):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60  # prove the logout signal, not the timer
    settings.IPPLAN_LIVE_POLL_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    cookie = sockets.cookies[specialist.pk]

    def log_out():
        client = Client()
        client.cookies["sessionid"] = cookie
        client.logout()

    await db(log_out)
    assert await siv.expect_close(timeout=3) == protocol.CLOSE_UNAUTHENTICATED


async def test_logout_elsewhere_leaves_other_sessions_open(sockets, plan, specialist, settings):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    other_cookie = await db(lambda: _login(specialist))
    other = await sockets.open(specialist, plan.pk, cookie=other_cookie)

    def log_out():
        client = Client()
        client.cookies["sessionid"] = other_cookie
        client.logout()

    await db(log_out)
    assert await other.expect_close(timeout=3) == protocol.CLOSE_UNAUTHENTICATED
    await assert_still_serving(siv)


async def test_logout_closes_the_sessions_sockets_even_before_the_session_is_flushed(
    sockets, plan, specialist, settings
):
    """Django sends user_logged_out before it deletes the session: the socket must not
    re-check, find the session still there and stay open until the next poll."""
    from django.contrib.sessions.backends.db import SessionStore

    from ipplan.live import notify

    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    cookie = sockets.cookies[specialist.pk]

    class LoggingOut:  # the request during logout: its session not yet flushed
        session = SessionStore(cookie)

    await db(notify.on_user_logged_out, sender=None, request=LoggingOut(), user=specialist)
    assert await siv.expect_close(timeout=2) == protocol.CLOSE_UNAUTHENTICATED
    assert await db(Session.objects.filter(session_key=cookie).exists)


def _login(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def test_an_expired_session_closes_the_socket_within_5_seconds(sockets, plan, specialist):
    siv = await sockets.open(specialist, plan.pk)
    cookie = sockets.cookies[specialist.pk]
    await db(
        lambda: Session.objects.filter(session_key=cookie).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=1)
        )
    )
    assert await siv.expect_close(timeout=5) == protocol.CLOSE_UNAUTHENTICATED


async def test_a_deactivated_account_closes_the_socket_within_5_seconds(sockets, plan, specialist):
    siv = await sockets.open(specialist, plan.pk)
    await db(lambda: User.objects.filter(pk=specialist.pk).update(is_active=False))
    assert await siv.expect_close(timeout=5) == protocol.CLOSE_UNAUTHENTICATED


async def test_ending_a_membership_closes_that_members_socket(
    sockets, plan, coordinator, specialist, reader, settings
):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60  # prove the notification, not the timer
    settings.IPPLAN_LIVE_POLL_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    frida = await sockets.open(reader, plan.pk)
    member = await db(Member.objects.get, plan=plan, user=specialist)
    await db(
        services.object_update,
        plan_id=plan.pk,
        user=coordinator,
        target="member",
        target_id=member.pk,
        values={
            "active_from": timezone.localdate() - datetime.timedelta(days=30),
            "active_to": timezone.localdate() - datetime.timedelta(days=1),
        },
    )
    assert await siv.expect_close(timeout=3) == protocol.CLOSE_FORBIDDEN
    # Siv's socket got nothing of what came after her access ended.
    assert not [m for m in siv.received if m["type"] in {"op", "ack"}]
    await assert_still_serving(frida)


async def test_withdrawing_consent_closes_the_covered_members_sockets(
    sockets, plan, coordinator, specialist, person_user, settings
):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    kari = await sockets.open(coordinator, plan.pk)
    consent = await db(Consent.objects.get, plan=plan, kind=Consent.Kind.SHARING)
    await db(services.consent_withdraw, plan_id=plan.pk, user=person_user, consent_id=consent.pk)
    assert await siv.expect_close(timeout=3) == protocol.CLOSE_FORBIDDEN
    # The coordinator keeps access and sees the change (as an op without its content).
    op = await kari.expect("op")
    assert op["op"] == {"type": "set", "target": "consent", "id": consent.pk}


async def test_a_refused_op_sent_again_on_the_socket_stays_refused(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    await db(
        services.object_delete, plan_id=plan.pk, user=coordinator, target="goal", target_id=goal.pk
    )
    await kari.expect("op")
    frame = {
        "type": "op",
        "op_id": op_id(),
        "base_rev": plan.revision + 1,
        "op": {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "status",
            "value": "achieved",
        },
    }
    await kari.send(frame)
    assert (await kari.expect("error"))["code"] == "not_found"
    # The goal comes back; the same op sent again still has its one outcome.
    await db(
        services.apply_operation,
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "restore", "target": "goal", "id": goal.pk},
    )
    await kari.send(frame)
    again = await kari.expect("error")
    assert (again["op_id"], again["code"]) == (frame["op_id"], "not_found")
    assert (await db(Goal.objects.get, pk=goal.pk)).status == "in_progress"
