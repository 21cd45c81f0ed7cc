"""The snapshot: the plan's whole live state in a constant number of queries, in the
shape the live protocol documents."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipplan.live import protocol
from ipplan.live.snapshot import apply_event, change_events, plan_snapshot
from ipplan.plans import services
from ipplan.plans.models import Plan

pytestmark = pytest.mark.django_db


def _queries(plan_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        plan_snapshot(plan_id)
    return len(captured)


def _add_goals(plan, user, count: int) -> None:
    themes = list(plan.themes.all())
    for index in range(count):
        services.object_create(
            plan_id=plan.pk,
            user=user,
            target="goal",
            values={
                "theme": themes[index % len(themes)].pk,
                "text": f"Mål {index}",
                "success_criterion": "Målt",
                "evaluation_date": datetime.date.today() + datetime.timedelta(days=30),
            },
        )
        services.object_create(
            plan_id=plan.pk,
            user=user,
            target="measure",
            values={"theme": themes[index % len(themes)].pk, "description": f"Tiltak {index}"},
        )


def test_the_snapshot_takes_the_same_number_of_queries_for_a_big_plan(plan, coordinator):
    small = _queries(plan.pk)
    _add_goals(plan, coordinator, 25)
    assert _queries(plan.pk) == small


def test_the_snapshot_has_the_documented_shape(plan):
    rev, state = plan_snapshot(plan.pk)
    assert rev == Plan.objects.get(pk=plan.pk).revision
    assert not list(
        protocol._validator("server", "snapshot").iter_errors(
            {
                "type": "snapshot",
                "rev": rev,
                "plan": state,
                "meeting": None,
                "presence": [],
                "you": {
                    "id": 1,
                    "name": "x",
                    "level": "read",
                    "can_edit": False,
                    "can_comment": False,
                    "can_manage": False,
                    "is_person": False,
                    "member": None,
                },
            }
        )
    )
    goal = state["goals"][0]
    assert set(goal) == set(services.FIELDS["goal"]) | {"id", "theme", "position"}
    member = state["members"][0]
    assert {"id", "user", "name", "organisation", "role", "access"} <= set(member)


def test_replaying_the_log_from_a_snapshot_gives_the_next_snapshot(plan, coordinator):
    rev, state = plan_snapshot(plan.pk)
    _add_goals(plan, coordinator, 3)
    themes = list(plan.themes.order_by("position"))
    goal = plan.goals.alive().order_by("pk").last()
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "move", "target": "goal", "id": goal.pk, "position": 0, "theme": themes[4].pk},
    )
    services.object_delete(
        plan_id=plan.pk, user=coordinator, target="theme", target_id=themes[0].pk
    )
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "restore", "target": "theme", "id": themes[0].pk},
    )
    for event in change_events(plan.pk, rev):
        apply_event(state, event["op"])
    assert state == plan_snapshot(plan.pk)[1]


def test_a_goal_takes_its_measures_along_to_another_theme(plan, coordinator):
    rev, state = plan_snapshot(plan.pk)
    goal = plan.goals.get()
    target = plan.themes.order_by("position")[3]
    result = services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "move", "target": "goal", "id": goal.pk, "position": 0, "theme": target.pk},
    )
    measure = plan.measures.get()
    assert result.op["measures"] == [measure.pk]
    assert measure.theme_id == target.pk
    for event in change_events(plan.pk, rev):
        apply_event(state, event["op"])
    assert state == plan_snapshot(plan.pk)[1]


def test_the_event_built_at_commit_equals_the_event_read_back(plan, coordinator):
    """The sender's process caches the event it built from what it wrote
    (handlers.apply_op); every other process reads it from the database. Both must be
    the same message."""
    from ipplan.live import handlers

    goal = plan.goals.alive().first()
    theme = plan.themes.order_by("position").last()
    rev = plan.revision
    ops = [
        {
            "type": "text",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "ops": [len(goal.text), " – og mer"],
        },
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        {"type": "move", "target": "goal", "id": goal.pk, "position": 0, "theme": theme.pk},
        {"type": "create", "target": "theme", "values": {"title": "Fritid"}},
        {"type": "delete", "target": "goal", "id": goal.pk},
        {"type": "restore", "target": "goal", "id": goal.pk},
    ]
    built = []
    for index, op in enumerate(ops):
        _rev, duplicate, event = handlers.apply_op(
            plan_id=plan.pk,
            user=coordinator,
            op=op,
            op_id=f"op-{index}",
            base_rev=rev + index,
            meeting_id=None,
        )
        assert not duplicate
        built.append(event)
    assert built == change_events(plan.pk, rev)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared on PostgreSQL only")
def test_the_prepared_read_of_the_log_equals_the_orm_read(plan, coordinator, specialist):
    from ipplan.live import snapshot

    goal = plan.goals.get()
    for user, op in [
        (
            coordinator,
            {
                "type": "text",
                "target": "goal",
                "id": goal.pk,
                "field": "text",
                "ops": ["Min 🙂 ", 14],
            },
        ),
        (
            specialist,
            {
                "type": "set",
                "target": "goal",
                "id": goal.pk,
                "field": "evaluation_date",
                "value": (datetime.date.today() + datetime.timedelta(days=9)).isoformat(),
            },
        ),
        (coordinator, {"type": "delete", "target": "goal", "id": goal.pk}),
    ]:
        services.apply_operation(
            plan_id=plan.pk,
            user=user,
            op=op,
            base_revision=None if op["type"] != "text" else Plan.objects.get(pk=plan.pk).revision,
        )

    def described(changes):
        return [
            (
                [getattr(c, f.attname) for f in c._meta.concrete_fields],
                c.user.get_full_name(),
                c.user.username,
                snapshot._event(c, {}),
            )
            for c in changes
        ]

    orm = snapshot._changes(plan.pk, 0, None)
    assert len(orm) > 10
    assert described(snapshot._changes_prepared(plan.pk, 0, None)) == described(orm)
    assert [c.revision for c in snapshot._changes_prepared(plan.pk, 3, 4)] == [4, 5, 6, 7]
    assert change_events(plan.pk, 0) == [
        snapshot._event(c, {}) if c.target_type != "member" else e
        for c, e in zip(orm, change_events(plan.pk, 0), strict=True)
    ]


def test_meeting_states_for_many_keys_equal_one_read_each_in_four_queries(
    plan, other_plan, coordinator, specialist
):
    """The poll re-reads a share of its meetings at once (watch.py); each state must be
    what reading that one meeting gives: a named meeting, the plan's meeting in
    progress, a meeting of another plan (none), a plan without a meeting in progress."""
    from django.utils import timezone

    from ipplan.live import handlers
    from ipplan.meetings import services as meetings

    def schedule(p, place):
        return meetings.meeting_schedule(
            plan_id=p.pk, user=coordinator, scheduled_at=timezone.now(), place=place
        )

    running = schedule(plan, "Rådhuset")
    meetings.meeting_start(meeting_id=running.pk, user=coordinator)
    meetings.attendee_add(
        meeting_id=running.pk, user=coordinator, attendee_user_id=specialist.pk, name="", role=""
    )
    later = schedule(plan, "Helsehuset")
    elsewhere = schedule(other_plan, "Kafeen")
    keys = [
        (plan.pk, running.pk),
        (plan.pk, None),
        (plan.pk, later.pk),
        (plan.pk, elsewhere.pk),  # not this plan's
        (other_plan.pk, None),  # nothing in progress
        (other_plan.pk, elsewhere.pk),
        (plan.pk, 10**9),  # gone
    ]
    with CaptureQueriesContext(connection) as captured:
        together = handlers.meeting_states_for(keys=keys)
    one_by_one = [handlers.meeting_state_for(plan_id=p, meeting_id=m) for p, m in keys]
    assert together == one_by_one
    assert len(captured) == 4
    assert together[0] == together[1] and together[0]["attendees"], "the running one, twice"
    assert together[3] is None and together[4] is None and together[6] is None
    assert together[2]["place"] == "Helsehuset" and together[5]["place"] == "Kafeen"
