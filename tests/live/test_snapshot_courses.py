"""Treatment courses in the live state: in the snapshot, and replaying their ops onto
an older snapshot gives exactly a fresh one (the rule the browser's store follows)."""

import datetime

import pytest

from ipplan.courses.services import course_create, course_update
from ipplan.live.snapshot import apply_event, change_events, plan_snapshot
from ipplan.plans import services

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def _day(offset: int) -> str:
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


def test_the_snapshot_holds_the_live_courses_by_id(plan, coordinator):
    first = course_create(
        plan_id=plan.pk, user=coordinator, values={"kind": "lar", "provider": "LAR Stavanger"}
    )
    gone = course_create(
        plan_id=plan.pk, user=coordinator, values={"kind": "other", "provider": "Slettet"}
    )
    services.object_delete(plan_id=plan.pk, user=coordinator, target="course", target_id=gone.pk)
    courses = plan_snapshot(plan.pk)[1]["courses"]
    assert [c["id"] for c in courses] == [first.pk]
    assert courses[0]["provider"] == "LAR Stavanger"
    assert courses[0]["status"] == "referred" and courses[0]["break_reason"] == ""


def test_replaying_course_changes_gives_a_fresh_snapshot(plan, coordinator):
    rev, state = plan_snapshot(plan.pk)
    course = course_create(
        plan_id=plan.pk,
        user=coordinator,
        values={"kind": "tsb_inpatient", "provider": "A-senteret", "referral_date": _day(-40)},
    )
    other = course_create(
        plan_id=plan.pk, user=coordinator, values={"kind": "lar", "provider": "LAR"}
    )
    course_update(
        plan_id=plan.pk,
        user=coordinator,
        course_id=course.pk,
        values={
            "status": "broken_off",
            "start_date": _day(-30),
            "end_date": _day(-5),
            "break_reason": "self_discharge",
            "provider": "Rogaland A-senter",
        },
    )
    # Corrected: it was completed after all (the reason is cleared).
    course_update(
        plan_id=plan.pk,
        user=coordinator,
        course_id=course.pk,
        values={"status": "completed", "break_reason": None},
    )
    services.object_delete(plan_id=plan.pk, user=coordinator, target="course", target_id=other.pk)
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "restore", "target": "course", "id": other.pk},
    )
    for event in change_events(plan.pk, rev):
        apply_event(state, event["op"])
    fresh = plan_snapshot(plan.pk)[1]
    assert state == fresh
    assert [c["status"] for c in fresh["courses"]] == ["completed", "referred"]
