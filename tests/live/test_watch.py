"""The process-wide poll (ipplan/live/watch.py): what every socket would otherwise ask
the database for by itself, asked once for all of them."""

import asyncio
import datetime

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ipplan.live import handlers, protocol, watch
from ipplan.meetings import services as meetings
from ipplan.plans.models import Consent, Member

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


async def scheduled(plan, coordinator):
    return await db(
        meetings.meeting_schedule,
        plan_id=plan.pk,
        user=coordinator,
        scheduled_at=timezone.now(),
        place="Rådhuset",
    )


async def registered(*plans) -> None:
    """Until a socket of each plan is in the process's registry: a socket joins it just
    after its snapshot went out (its presence announcement comes first), so a poll by
    hand right after opening may miss it."""
    async with asyncio.timeout(5):
        while {s.plan_id for s in watch.SOCKETS.sockets} != {p.pk for p in plans}:
            await asyncio.sleep(0.01)


def _poll_queries(**kwargs) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        seen = handlers.poll(**kwargs)
    return len(queries), seen


async def test_the_poll_costs_the_same_few_queries_for_one_socket_or_many(
    sockets, plan, other_plan, coordinator, specialist, reader, person_user
):
    users = [coordinator, specialist, reader, person_user]
    opened = [await sockets.open(user, plan.pk) for user in users]
    opened.append(await sockets.open(coordinator, other_plan.pk))
    keys = {await sockets.cookie_for(user): user.pk for user in users}
    one_key = next(iter(keys.items()))

    few, _ = await db(_poll_queries, plan_ids=[plan.pk], sessions=dict([one_key]))
    many, seen = await db(_poll_queries, plan_ids=[plan.pk, other_plan.pk], sessions=keys)

    assert few == many <= 4
    assert seen["valid"] == set(keys)
    assert {u.pk for u in users} <= seen["readers"][plan.pk]
    for socket in opened:
        await socket.close()


async def test_a_consent_that_runs_out_by_date_closes_the_socket_within_5_seconds(
    sockets, plan, specialist, coordinator, settings
):
    """No edit and no notification: the calendar passes the expiry date."""
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60  # prove the poll, not the socket's timer
    siv = await sockets.open(specialist, plan.pk)
    kari = await sockets.open(coordinator, plan.pk)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    await db(
        lambda: Consent.objects.filter(plan=plan, kind=Consent.Kind.SHARING).update(
            expires_on=yesterday
        )
    )
    assert await siv.expect_close(timeout=5) == protocol.CLOSE_FORBIDDEN
    await kari.send({"type": "ping"})
    await kari.expect("pong")


async def test_a_membership_ended_in_the_database_closes_the_socket_without_a_notification(
    sockets, plan, specialist, settings
):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    siv = await sockets.open(specialist, plan.pk)
    await db(
        lambda: Member.objects.filter(plan=plan, user=specialist).update(
            active_to=timezone.localdate() - datetime.timedelta(days=1)
        )
    )
    assert await siv.expect_close(timeout=5) == protocol.CLOSE_FORBIDDEN


async def test_a_meeting_started_elsewhere_reaches_every_socket_with_one_shared_read(
    sockets, plan, coordinator, specialist, reader, settings, monkeypatch
):
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60  # only the notification reads the meeting
    # The sockets hear of the change within a few milliseconds of each other; on a
    # loaded test machine that can exceed the production window, which is tuning.
    monkeypatch.setattr(watch, "COALESCE_SECONDS", 0.5)
    meeting = await scheduled(plan, coordinator)
    # Plan-page sockets (no ?meeting=): they show the meeting in progress but do not
    # attend it, so the start is the only change (attending would announce more).
    opened = [await sockets.open(user, plan.pk) for user in (coordinator, specialist, reader)]
    reads = []
    real = handlers.meeting_state_for

    def counting(**kwargs):
        reads.append(kwargs)
        return real(**kwargs)

    handlers.meeting_state_for = counting
    try:
        await db(meetings.meeting_start, meeting_id=meeting.pk, user=coordinator)
        for socket in opened:
            state = await socket.expect("meeting", timeout=5)
            assert state["meeting"]["id"] == meeting.pk
            assert state["meeting"]["status"] == "in_progress"
    finally:
        handlers.meeting_state_for = real
    # One read for the three sockets, not one each.
    assert reads == [{"plan_id": plan.pk, "meeting_id": None}]


async def test_a_meeting_change_whose_notification_was_lost_arrives_with_the_poll(
    sockets, plan, other_plan, coordinator, settings
):
    """Written straight to the database (as if the notification were lost): the
    process's poll re-reads every meeting every few polls and sends what changed, to
    the sockets of each plan."""
    from ipplan.meetings.models import Meeting

    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 0.2  # meetings every 5th poll: about 1 s
    meeting = await scheduled(plan, coordinator)
    kari = await sockets.open(coordinator, plan.pk, meeting=meeting.pk)
    elsewhere = await sockets.open(coordinator, other_plan.pk)
    await db(lambda: Meeting.objects.filter(pk=meeting.pk).update(place="Helsehuset"))
    state = await kari.expect("meeting", timeout=5)
    assert state["meeting"]["place"] == "Helsehuset"
    # The other plan's socket has no meeting; nothing changed for it.
    assert not [m for m in await elsewhere.quiet(0.5) if m["type"] == "meeting"]


async def test_each_poll_re_reads_only_its_share_of_the_meetings(
    sockets, plan, other_plan, coordinator, settings, monkeypatch
):
    """Every meeting is re-read once every MEETING_EVERY polls, a different share each
    poll: all at once held every database thread for tens of milliseconds and the ops
    behind them waited (docs/performance.md, session 6)."""
    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60  # the test polls by hand
    assert plan.pk % watch.MEETING_EVERY != other_plan.pk % watch.MEETING_EVERY
    await sockets.open(coordinator, plan.pk)
    await sockets.open(coordinator, other_plan.pk)
    await registered(plan, other_plan)
    reads = []
    real = handlers.meeting_states_for

    def counting(**kwargs):
        reads.append([plan_id for plan_id, _meeting in kwargs["keys"]])
        return real(**kwargs)

    monkeypatch.setattr(handlers, "meeting_states_for", counting)
    for share in range(watch.MEETING_EVERY):
        await watch.SOCKETS.poll(meeting_share=share)  # returns once its reads are done
        expected = [p.pk for p in (plan, other_plan) if p.pk % watch.MEETING_EVERY == share]
        # One read for the whole share (none for an empty one).
        assert reads == ([expected] if expected else []), share
        reads.clear()


async def test_a_meeting_state_read_before_the_one_shown_never_steps_the_room_back(
    sockets, plan, coordinator, settings
):
    """States reach a socket by a notification's read, the poll's share and snapshots;
    a read that started earlier can finish later. The socket keeps the newest read."""
    import time

    from ipplan.meetings.models import Meeting

    settings.IPPLAN_LIVE_RECHECK_SECONDS = 60
    settings.IPPLAN_LIVE_POLL_SECONDS = 60  # no poll of its own
    meeting = await scheduled(plan, coordinator)
    kari = await sockets.open(coordinator, plan.pk, meeting=meeting.pk)
    await registered(plan)
    (consumer,) = watch.SOCKETS.sockets
    read = database_sync_to_async(handlers.meeting_state_for)
    older_at = time.monotonic()
    older = await read(plan_id=plan.pk, meeting_id=meeting.pk)
    await db(lambda: Meeting.objects.filter(pk=meeting.pk).update(place="Helsehuset"))
    newer_at = time.monotonic()
    newer = await read(plan_id=plan.pk, meeting_id=meeting.pk)

    await consumer.meeting_state_is(newer, read_at=newer_at)
    assert (await kari.expect("meeting", timeout=5))["meeting"]["place"] == "Helsehuset"
    await consumer.meeting_state_is(older, read_at=older_at)  # finished late
    assert not [m for m in await kari.quiet(0.3) if m["type"] == "meeting"]
