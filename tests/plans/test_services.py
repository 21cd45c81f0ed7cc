import datetime

import pytest

from ipplan.plans import services
from ipplan.plans.models import Change, Goal, Measure, Plan
from ipplan.plans.services import OperationError


def _goal(plan):
    return Goal.objects.get(plan=plan)


def test_every_write_bumps_the_revision_and_logs_one_change(plan, coordinator):
    before = plan.revision
    goal = _goal(plan)
    result = services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
    )
    assert result.revision == before + 1
    change = Change.objects.get(plan=plan, revision=result.revision)
    assert (change.user, change.field, change.before, change.after) == (
        coordinator,
        "status",
        "in_progress",
        "achieved",
    )
    assert Plan.objects.get(pk=plan.pk).revision == before + 1


def test_a_repeated_op_id_is_applied_once(plan, coordinator):
    goal = _goal(plan)
    op = {"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": [14, "!"]}
    first = services.apply_operation(
        plan_id=plan.pk, user=coordinator, op=op, base_revision=plan.revision, op_id="abc"
    )
    again = services.apply_operation(
        plan_id=plan.pk, user=coordinator, op=op, base_revision=plan.revision, op_id="abc"
    )
    assert again.duplicate and again.revision == first.revision
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet!"


def test_concurrent_text_edits_keep_both(plan, coordinator, specialist):
    goal = _goal(plan)
    base = plan.revision
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": ["Min ", 14]},
        base_revision=base,
    )
    services.apply_operation(
        plan_id=plan.pk,
        user=specialist,
        op={
            "type": "text",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "ops": [14, " i byen"],
        },
        base_revision=base,
    )
    assert Goal.objects.get(pk=goal.pk).text == "Min Egen leilighet i byen"


def test_a_reader_cannot_write(plan, reader):
    goal = _goal(plan)
    with pytest.raises(OperationError) as exc:
        services.apply_operation(
            plan_id=plan.pk,
            user=reader,
            op={
                "type": "set",
                "target": "goal",
                "id": goal.pk,
                "field": "status",
                "value": "achieved",
            },
        )
    assert exc.value.code == "forbidden"
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"


def test_a_commenter_updates_only_the_measures_they_are_responsible_for(plan, commenter):
    measure = Measure.objects.get(plan=plan)
    services.apply_operation(
        plan_id=plan.pk,
        user=commenter,
        op={
            "type": "set",
            "target": "measure",
            "id": measure.pk,
            "field": "status",
            "value": "done",
        },
    )
    assert Measure.objects.get(pk=measure.pk).status == "done"
    with pytest.raises(OperationError):
        services.apply_operation(
            plan_id=plan.pk,
            user=commenter,
            op={
                "type": "set",
                "target": "goal",
                "id": _goal(plan).pk,
                "field": "status",
                "value": "achieved",
            },
        )


def test_an_outsider_is_told_the_plan_does_not_exist(plan, outsider):
    with pytest.raises(OperationError) as exc:
        services.apply_operation(
            plan_id=plan.pk,
            user=outsider,
            op={"type": "set", "target": "plan", "field": "needs", "value": "x"},
        )
    assert exc.value.code == "not_found"


def test_a_due_date_before_the_start_is_refused_and_nothing_changes(plan, coordinator):
    measure = Measure.objects.get(plan=plan)
    revision = plan.revision
    with pytest.raises(OperationError) as exc:
        services.object_update(
            plan_id=plan.pk,
            user=coordinator,
            target="measure",
            target_id=measure.pk,
            values={
                "description": "Endret",
                "due_date": measure.start_date - datetime.timedelta(days=1),
            },
        )
    assert exc.value.field == "due_date"
    assert Measure.objects.get(pk=measure.pk).description == "Søke kommunal bolig"
    assert Plan.objects.get(pk=plan.pk).revision == revision


def test_a_text_op_built_on_another_length_is_refused(plan, coordinator):
    goal = _goal(plan)
    with pytest.raises(OperationError) as exc:
        services.apply_operation(
            plan_id=plan.pk,
            user=coordinator,
            op={
                "type": "text",
                "target": "goal",
                "id": goal.pk,
                "field": "text",
                "ops": [3, "x", 2],
            },
            base_revision=plan.revision,
        )
    assert exc.value.code == "stale"
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet"


def test_a_form_may_move_both_ends_of_the_period_at_once(plan, coordinator):
    later_start = plan.period_end + datetime.timedelta(days=10)
    later_end = later_start + datetime.timedelta(days=365)
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"period_start": later_start, "period_end": later_end},
    )
    plan.refresh_from_db()
    assert (plan.period_start, plan.period_end) == (later_start, later_end)


def test_a_batch_ending_in_an_invalid_state_is_refused_whole(plan, coordinator):
    revision = plan.revision
    with pytest.raises(OperationError) as exc:
        services.object_update(
            plan_id=plan.pk,
            user=coordinator,
            target="plan",
            target_id=plan.pk,
            values={
                "period_start": plan.period_end + datetime.timedelta(days=1),
                "needs": "Ny tekst",
            },
        )
    assert exc.value.field == "period_end"
    plan.refresh_from_db()
    assert plan.revision == revision and plan.needs == ""
