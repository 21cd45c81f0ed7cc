"""Treatment courses through the one writer path: access, rules, the change log, the
field order of multi-field saves, soft delete and restore."""

import pytest

from ipplan.courses.models import TreatmentCourse
from ipplan.courses.services import (
    course_create,
    course_delete,
    course_snapshots,
    course_update,
    update_order,
)
from ipplan.plans import services
from ipplan.plans.models import Change, Plan
from ipplan.plans.services import OperationError

from .conftest import days


def test_creating_a_course_is_recorded_in_the_change_log(plan, coordinator):
    before = plan.revision
    course = course_create(
        plan_id=plan.pk,
        user=coordinator,
        values={"kind": "tsb_inpatient", "provider": "Solbakken", "referral_date": days(-20)},
    )
    change = Change.objects.get(plan=plan, target_type="course", target_id=course.pk)
    assert change.kind == Change.Kind.CREATE and change.user == coordinator
    assert change.revision == before + 1
    assert change.after["provider"] == "Solbakken" and change.after["status"] == "referred"
    assert change.after["referral_date"] == days(-20).isoformat()


def test_each_changed_field_is_its_own_logged_change(plan, coordinator, specialist, add_course):
    course = add_course(plan, referral_date=days(-20))
    course_update(
        plan_id=plan.pk,
        user=specialist,
        course_id=course.pk,
        values={"start_date": days(-10), "status": "ongoing", "provider": "DPS Rus og avhengighet"},
    )
    changes = Change.objects.filter(plan=plan, target_type="course", target_id=course.pk)
    sets = {c.field: (c.before, c.after, c.user) for c in changes.exclude(kind="create")}
    assert sets == {
        "start_date": (None, days(-10).isoformat(), specialist),
        "status": ("referred", "ongoing", specialist),
    }  # the unchanged provider wrote nothing


def test_a_live_text_edit_of_the_provider_is_transformed_and_logged(plan, coordinator, add_course):
    course = add_course(plan, provider="DPS")
    base = Plan.objects.get(pk=plan.pk).revision
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={
            "type": "text",
            "target": "course",
            "id": course.pk,
            "field": "provider",
            "ops": [3, " Rus"],
        },
        base_revision=base,
        via="live",
    )
    assert TreatmentCourse.objects.get(pk=course.pk).provider == "DPS Rus"
    assert Change.objects.filter(target_type="course", kind="text", via="live").count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"start_date": days(-5), "status": "completed", "end_date": days(-10)}, "end_date"),
        ({"start_date": days(-5), "status": "completed"}, "end_date"),
        ({"start_date": days(-20), "status": "broken_off", "end_date": days(-2)}, "break_reason"),
        ({"status": "ongoing"}, "start_date"),
        ({"start_date": days(-5), "status": "ongoing", "planned_end": days(-6)}, "planned_end"),
        ({"referral_date": days(3)}, "referral_date"),
        ({"start_date": days(5), "status": "ongoing"}, "start_date"),
        ({"start_date": days(-9), "status": "completed", "end_date": days(2)}, "end_date"),
        ({"referral_date": days(-3), "start_date": days(-9)}, "start_date"),
        ({"kind": "chess"}, "kind"),
        ({"break_reason": "bored"}, "break_reason"),
    ],
)
def test_inconsistent_courses_are_refused_and_nothing_is_saved(plan, coordinator, values, field):
    revision = Plan.objects.get(pk=plan.pk).revision
    with pytest.raises(OperationError) as exc:
        course_create(
            plan_id=plan.pk,
            user=coordinator,
            values={"kind": "tsb_outpatient", "provider": "DPS", **values},
        )
    assert exc.value.code == "invalid" and exc.value.field == field
    assert not TreatmentCourse.objects.exists()
    assert Plan.objects.get(pk=plan.pk).revision == revision


def test_a_reader_may_not_add_a_course(plan, reader):
    with pytest.raises(OperationError) as exc:
        course_create(plan_id=plan.pk, user=reader, values={"kind": "lar", "provider": "DPS"})
    assert exc.value.code == "forbidden"


@pytest.mark.parametrize("who", ["outsider", "leader"])
def test_outsiders_and_the_unit_leader_are_told_the_plan_does_not_exist(plan, who, request):
    user = request.getfixturevalue(who)
    with pytest.raises(OperationError) as exc:
        course_create(plan_id=plan.pk, user=user, values={"kind": "lar", "provider": "DPS"})
    assert exc.value.code == "not_found"


def test_completing_a_course_sets_the_end_date_before_the_status(plan, coordinator, add_course):
    course = add_course(plan, referral_date=days(-40), start_date=days(-30), status="ongoing")
    course_update(
        plan_id=plan.pk,
        user=coordinator,
        course_id=course.pk,
        values={"status": "completed", "end_date": days(-1)},
    )
    course.refresh_from_db()
    assert (course.status, course.end_date) == ("completed", days(-1))
    fields = list(
        Change.objects.filter(target_type="course", kind="set")
        .order_by("revision")
        .values_list("field", flat=True)
    )
    assert fields == ["end_date", "status"]


def test_reopening_a_broken_off_course_changes_the_status_before_clearing(
    plan, coordinator, add_course
):
    course = add_course(
        plan,
        start_date=days(-30),
        status="broken_off",
        end_date=days(-3),
        break_reason="no_show",
        break_note="Møtte ikke.",
    )
    course_update(
        plan_id=plan.pk,
        user=coordinator,
        course_id=course.pk,
        values={"end_date": None, "break_reason": "", "break_note": "", "status": "ongoing"},
    )
    course.refresh_from_db()
    assert (course.status, course.end_date, course.break_reason, course.break_note) == (
        "ongoing",
        None,
        "",
        "",
    )


def test_moving_a_whole_course_later_orders_the_dates(plan, add_course):
    course = add_course(plan, start_date=days(-50), status="completed", end_date=days(-40))
    order = update_order(course, {"start_date": days(-20), "end_date": days(-10)})
    assert list(order) == ["end_date", "start_date"]


def test_a_deleted_course_is_kept_logged_and_can_be_restored(plan, coordinator, add_course):
    course = add_course(plan)
    course_delete(plan_id=plan.pk, user=coordinator, course_id=course.pk)
    assert not TreatmentCourse.objects.alive().exists()
    assert TreatmentCourse.objects.get(pk=course.pk).deleted_at is not None
    assert Change.objects.filter(target_type="course", kind="delete", target_id=course.pk).exists()
    with pytest.raises(OperationError):  # a deleted course cannot be edited
        services.apply_operation(
            plan_id=plan.pk,
            user=coordinator,
            op={
                "type": "set",
                "target": "course",
                "id": course.pk,
                "field": "status",
                "value": "ongoing",
            },
        )
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "restore", "target": "course", "id": course.pk},
    )
    assert TreatmentCourse.objects.alive().filter(pk=course.pk).exists()


def test_courses_cannot_be_moved(plan, coordinator, add_course):
    course = add_course(plan)
    with pytest.raises(OperationError):
        services.apply_operation(
            plan_id=plan.pk,
            user=coordinator,
            op={"type": "move", "target": "course", "id": course.pk, "position": 0},
        )


def test_a_closed_plan_refuses_course_changes(plan, coordinator, add_course):
    course = add_course(plan)
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"status": "closed"},
    )
    with pytest.raises(OperationError) as exc:
        course_update(
            plan_id=plan.pk, user=coordinator, course_id=course.pk, values={"provider": "X"}
        )
    assert exc.value.code == "forbidden"


def test_members_still_cannot_be_deleted_as_objects(plan, coordinator):
    member = plan.members.first()
    with pytest.raises(OperationError):
        services.apply_operation(
            plan_id=plan.pk,
            user=coordinator,
            op={"type": "delete", "target": "member", "id": member.pk},
        )


def test_the_live_snapshot_of_a_course_has_the_keys_of_its_create_op(plan, add_course):
    course = add_course(plan, referral_date=days(-3))
    deleted = add_course(plan, kind="lar")
    course_delete(plan_id=plan.pk, user=plan.coordinator, course_id=deleted.pk)
    (snap,) = course_snapshots(plan)
    create = Change.objects.get(target_type="course", target_id=course.pk, kind="create")
    assert snap == create.after
    assert snap["id"] == course.pk and snap["referral_date"] == days(-3).isoformat()
