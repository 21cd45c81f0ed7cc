"""The live socket, through the real ASGI router: join, edit, broadcast, catch up."""

import json
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from ipplan.live import consumers, handlers
from ipplan.live.snapshot import plan_snapshot
from ipplan.plans import services
from ipplan.plans.models import AccessLog, Change, Goal, Plan, Theme
from tests.live.conftest import plan_lock_held, text_op, until_lock_waiters

pytestmark = pytest.mark.django_db(transaction=True)


def op_id() -> str:
    return uuid.uuid4().hex


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def _goal(plan):
    return Goal.objects.get(plan=plan)


async def test_joining_sends_a_snapshot_of_the_plan_at_its_revision(sockets, plan, coordinator):
    socket = await sockets.open(coordinator, plan.pk, expect_snapshot=False)
    snapshot = await socket.expect("snapshot")
    goal = await db(_goal, plan)
    assert snapshot["rev"] == plan.revision
    assert [g["text"] for g in snapshot["plan"]["goals"]] == [goal.text]
    assert [t["title"] for t in snapshot["plan"]["themes"]][:2] == [
        "Bolig",
        "Meningsfull aktivitet",
    ]
    assert {m["name"] for m in snapshot["plan"]["members"]} >= {"Kari Koordinator", "Nils NAV"}
    assert snapshot["you"]["level"] == "manage" and snapshot["you"]["can_edit"] is True
    assert snapshot["meeting"] is None
    assert snapshot["presence"] == [
        {"id": coordinator.pk, "name": "Kari Koordinator", "focus": None}
    ]
    # The snapshot is exactly what a fresh read gives.
    assert (snapshot["rev"], snapshot["plan"]) == await db(plan_snapshot, plan.pk)


async def test_joining_writes_one_access_log_entry(sockets, plan, reader):
    before = await db(lambda: AccessLog.objects.filter(plan=plan, user=reader, via="live").count())
    await sockets.open(reader, plan.pk)
    after = await db(lambda: AccessLog.objects.filter(plan=plan, user=reader, via="live").count())
    assert after == before + 1


async def test_an_edit_is_acknowledged_to_its_sender_and_broadcast_to_the_others(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    the_id = op_id()
    await kari.send(text_op(goal.pk, "goal", "text", ["Min ", 14], plan.revision, the_id))
    ack = await kari.expect("ack")
    assert ack["op_id"] == the_id and ack["rev"] == plan.revision + 1
    assert ack["op"] == {
        "type": "text",
        "target": "goal",
        "id": goal.pk,
        "field": "text",
        "ops": ["Min "],
    }
    seen = await siv.expect("op")
    assert seen["rev"] == ack["rev"] and seen["op_id"] == the_id and seen["op"] == ack["op"]
    assert seen["user"] == {"id": coordinator.pk, "name": "Kari Koordinator"}
    # Committed before anyone saw it, attributed to the user.
    change = await db(Change.objects.get, plan=plan, revision=ack["rev"])
    assert (change.user_id, change.via, change.op_id) == (coordinator.pk, "live", the_id)
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "Min Egen leilighet"


async def test_concurrent_typing_in_one_field_keeps_every_character(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    base = plan.revision
    # Both typed on the same revision, without seeing each other's edit.
    await kari.send(text_op(goal.pk, "goal", "text", ["Min ", 14], base, op_id()))
    await siv.send(text_op(goal.pk, "goal", "text", [14, " i byen"], base, op_id()))
    for socket in (kari, siv):
        kinds = [m["type"] for m in await socket.until_rev(base + 2)]
        assert sorted(kinds) == ["ack", "op"]
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "Min Egen leilighet i byen"


async def test_structural_edits_get_the_new_id_in_the_ack(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    theme = await db(Theme.objects.filter(plan=plan).order_by("position").first)
    await kari.send(
        {
            "type": "op",
            "op_id": op_id(),
            "base_rev": plan.revision,
            "op": {
                "type": "create",
                "target": "goal",
                "values": {
                    "theme": theme.pk,
                    "level": "sub",
                    "text": "Betale husleie",
                    "success_criterion": "Ingen purringer",
                    "evaluation_date": str(plan.period_start),
                    "position": 0,
                },
            },
        }
    )
    ack = await kari.expect("ack")
    new_id = ack["result"]["id"]
    assert ack["op"]["values"]["id"] == new_id and ack["op"]["values"]["position"] == 0
    assert await db(Goal.objects.filter(pk=new_id, plan=plan).exists)


async def test_a_form_edit_appears_live(sockets, plan, coordinator, specialist):
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    await db(
        services.object_update,
        plan_id=plan.pk,
        user=coordinator,
        target="goal",
        target_id=goal.pk,
        values={"status": "achieved"},
    )
    seen = await siv.expect("op")
    assert seen["op"] == {
        "type": "set",
        "target": "goal",
        "id": goal.pk,
        "field": "status",
        "value": "achieved",
    }
    assert seen["meeting"] is None


async def test_a_resent_op_is_applied_exactly_once(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    frame = text_op(goal.pk, "goal", "text", [14, "!"], plan.revision, op_id())
    await kari.send(frame)
    first = await kari.expect("ack")
    await kari.send(frame)
    again = await kari.expect("ack")
    assert again["rev"] == first["rev"] and again["op_id"] == first["op_id"]
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "Egen leilighet!"
    assert await db(Change.objects.filter(plan=plan, op_id=frame["op_id"]).count) == 1


async def test_a_resend_after_reconnect_is_applied_once_and_caught_up(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    frame = text_op(goal.pk, "goal", "text", [14, "!"], plan.revision, op_id())
    await kari.send(frame)
    await kari.expect("ack")
    await kari.close()  # the ack was "lost" with the connection
    await db(
        services.object_update,
        plan_id=plan.pk,
        user=specialist,
        target="goal",
        target_id=goal.pk,
        values={"status": "achieved"},
    )
    again = await sockets.open(coordinator, plan.pk, since=plan.revision, expect_snapshot=False)
    you = await again.expect("you")
    assert you["you"]["level"] == "manage"
    ops = await again.expect("ops")
    assert ops["since"] == plan.revision and ops["rev"] == plan.revision + 2
    assert [o["rev"] for o in ops["ops"]] == [plan.revision + 1, plan.revision + 2]
    assert ops["ops"][0]["op_id"] == frame["op_id"]  # the client's own: counts as its ack
    await again.send(frame)
    ack = await again.expect("ack")
    assert ack["rev"] == plan.revision + 1
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "Egen leilighet!"


async def test_an_op_a_snapshot_overtook_still_gets_its_ack(
    sockets, plan, coordinator, monkeypatch, settings
):
    # A refused op owes the sender a snapshot, at most one per SNAPSHOT_GAP; one owed
    # while a good op is being written goes out after that op's commit and carries it.
    # The op must still get its own answer (once), not be left to the client's resend.
    monkeypatch.setattr(consumers, "SNAPSHOT_GAP", 0.3)
    # The delay is put into the ordinary path (a database thread), so the text op must
    # not take the fast lane.
    settings.IPPLAN_LIVE_FAST_LANE = False
    good = op_id()
    real_apply = handlers.apply_op

    def apply_then_linger(**kwargs):
        result = real_apply(**kwargs)
        if kwargs["op_id"] == good:
            time.sleep(1.0)  # committed; the owed snapshot fires meanwhile
        return result

    monkeypatch.setattr(handlers, "apply_op", apply_then_linger)
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    bad = {"type": "set", "target": "goal", "id": 99999999, "field": "status", "value": "x"}
    await kari.send({"type": "op", "op_id": op_id(), "base_rev": plan.revision, "op": bad})
    await kari.expect("error")
    await kari.expect("snapshot")
    await kari.send({"type": "op", "op_id": op_id(), "base_rev": plan.revision, "op": bad})
    await kari.send(text_op(goal.pk, "goal", "text", [14, "!"], plan.revision, good))
    assert (await kari.expect("error"))["code"] == "not_found"
    snapshot = await kari.expect("snapshot")
    assert snapshot["rev"] == plan.revision + 1
    assert snapshot["plan"]["goals"][0]["text"] == "Egen leilighet!"
    ack = await kari.expect("ack")
    assert (ack["op_id"], ack["rev"]) == (good, plan.revision + 1)
    assert [m for m in await kari.quiet(2.5) if m["type"] in {"op", "ack"}] == []


async def _answer(socket, wanted: str) -> dict:
    """The first ack or error for op `wanted` on `socket` (an op frame with that id
    counts as its ack, as the client treats it)."""
    while True:
        message = await socket.receive(10)
        assert message["type"] != "__closed__", socket.close_code
        if message["type"] in {"ack", "op", "error"} and message.get("op_id") == wanted:
            return message


@pytest.mark.parametrize(
    "op",
    [
        # Applying it again would fail validation (the goal is gone) ...
        pytest.param(lambda goal: {"type": "delete", "target": "goal", "id": goal}, id="delete"),
        # ... or would succeed, and only the op id's uniqueness would stop it.
        pytest.param(
            lambda goal: {
                "type": "set",
                "target": "goal",
                "id": goal,
                "field": "status",
                "value": "achieved",
            },
            id="set",
        ),
    ],
)
async def test_a_resend_that_waited_behind_its_first_copy_is_acked_not_refused(
    sockets, plan, coordinator, op
):
    # A browser that reconnects resends its op in flight on the new socket while the
    # old socket may still be writing it. Both copies wait for the plan lock; the one
    # that gets it second must find the first's commit and answer it as a duplicate,
    # not apply it again (refused, or a unique-key "conflict"): the op was saved.
    if connection.vendor != "postgresql":
        pytest.skip("the race is between PostgreSQL row-lock waiters")
    goal = await db(_goal, plan)
    frame = {"type": "op", "op_id": op_id(), "base_rev": plan.revision, "op": op(goal.pk)}
    old = await sockets.open(coordinator, plan.pk)
    new = await sockets.open(coordinator, plan.pk)
    async with plan_lock_held(lambda: Plan.objects.select_for_update().get(pk=plan.pk)):
        await old.send(frame)
        await until_lock_waiters(1)
        await new.send(frame)
        await until_lock_waiters(2)
    answers = [await _answer(old, frame["op_id"]), await _answer(new, frame["op_id"])]
    outcomes = [(a["type"], a.get("rev"), a.get("code")) for a in answers]
    assert outcomes == [("ack", plan.revision + 1, None)] * 2
    logged = await db(lambda: Change.objects.filter(plan=plan, op_id=frame["op_id"]).count())
    assert logged == 1


async def test_a_client_that_missed_revisions_catches_up_with_sync(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    goal = await db(_goal, plan)
    for status in ("achieved", "revised"):
        await db(
            services.object_update,
            plan_id=plan.pk,
            user=coordinator,
            target="goal",
            target_id=goal.pk,
            values={"status": status},
        )
    await kari.expect("op", rev=plan.revision + 2)
    # Pretend the client lost both (a gap on its side): it asks from its last revision.
    await kari.send({"type": "sync", "since": plan.revision})
    reply = await kari.expect("ops")
    assert [o["op"]["value"] for o in reply["ops"]] == ["achieved", "revised"]
    assert reply["rev"] == plan.revision + 2


async def test_sync_from_an_impossible_revision_gets_a_snapshot(sockets, plan, coordinator):
    kari = await sockets.open(coordinator, plan.pk)
    await kari.send({"type": "sync", "since": plan.revision + 100})
    snapshot = await kari.expect("snapshot")
    assert snapshot["rev"] == plan.revision


async def test_each_socket_gets_every_revision_once_and_in_order(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    for i in range(10):
        who = kari if i % 2 else siv
        await who.send(text_op(goal.pk, "goal", "text", ["x", 14], plan.revision, op_id()))
    final = plan.revision + 10
    for socket in (kari, siv):
        revs = [m["rev"] for m in await socket.until_rev(final)]
        assert revs == list(range(plan.revision + 1, final + 1))
        assert sum(m["type"] == "ack" for m in socket.received) == 5
    assert (await db(Goal.objects.get, pk=goal.pk)).text == "x" * 10 + "Egen leilighet"


async def test_ping_gets_pong(sockets, plan, reader):
    frida = await sockets.open(reader, plan.pk)
    await frida.send({"type": "ping"})
    assert (await frida.expect("pong")) == {"type": "pong"}


async def test_presence_is_shared_and_goes_when_the_socket_closes(
    sockets, plan, coordinator, specialist
):
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    await kari.expect(
        "presence",
        users=[
            {"id": coordinator.pk, "name": "Kari Koordinator", "focus": None},
            {"id": specialist.pk, "name": "Siv Spesialist", "focus": None},
        ],
    )
    await siv.send({"type": "presence", "focus": f"goal:{goal.pk}:text"})
    await kari.expect(
        "presence",
        users=[
            {"id": coordinator.pk, "name": "Kari Koordinator", "focus": None},
            {"id": specialist.pk, "name": "Siv Spesialist", "focus": f"goal:{goal.pk}:text"},
        ],
    )
    await siv.close()
    await kari.expect(
        "presence",
        users=[
            {"id": coordinator.pk, "name": "Kari Koordinator", "focus": None},
        ],
    )


async def test_a_closed_plan_reports_read_only_access(sockets, plan, coordinator, specialist):
    siv = await sockets.open(specialist, plan.pk)
    assert siv.received[0]["you"]["can_edit"] is True
    await db(
        services.apply_operation,
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "set", "target": "plan", "id": plan.pk, "field": "status", "value": "closed"},
    )
    await siv.expect("op")
    # The level stays "edit", but a closed plan is read-only: the snapshot/you says so.
    await siv.send({"type": "resync"})
    snapshot = await siv.expect("snapshot")
    assert snapshot["you"]["can_edit"] is False
    assert snapshot["plan"]["status"] == Plan.Status.CLOSED


async def test_the_channel_layer_carries_ids_and_revisions_not_plan_text(
    sockets, plan, coordinator, specialist, monkeypatch
):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    carried = []
    for name in ("group_send", "send"):
        original = getattr(layer, name)

        async def record(target, message, _original=original):
            carried.append(message)
            return await _original(target, message)

        monkeypatch.setattr(layer, name, record)
    kari = await sockets.open(coordinator, plan.pk)
    siv = await sockets.open(specialist, plan.pk)
    goal = await db(_goal, plan)
    secret = "Hemmelig diagnose"
    await kari.send(text_op(goal.pk, "goal", "text", [secret, 14], plan.revision, op_id()))
    await kari.send({"type": "presence", "focus": f"goal:{goal.pk}:text"})
    await siv.expect("op")
    await siv.expect("presence")
    assert {m["type"] for m in carried} >= {"plan.changed", "presence.update"}
    for message in carried:
        flat = json.dumps(message, ensure_ascii=False)
        assert secret not in flat and "Egen leilighet" not in flat
        assert "Kari" not in flat and "Per" not in flat  # no names either
        assert set(message) <= {
            "type",
            "plan",
            "rev",
            "meeting",
            "channel",
            "user",
            "focus",
            "hello",
        }
