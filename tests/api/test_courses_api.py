"""Treatment courses (behandlingsløp) over the REST API: written through the services
(target "course", via "api"), read with one access-log entry, guarded by If-Match."""

from __future__ import annotations

import datetime

import pytest

from ipplan.courses.models import TreatmentCourse
from ipplan.courses.services import course_create
from ipplan.plans import services
from ipplan.plans.models import AccessLog, Change
from tests.api.conftest import url

TODAY = datetime.date.today()


@pytest.fixture
def course(plan, coordinator) -> TreatmentCourse:
    return course_create(
        plan_id=plan.pk,
        user=coordinator,
        values={
            "kind": "tsb_inpatient",
            "provider": "Rogaland A-senter",
            "referral_date": (TODAY - datetime.timedelta(days=30)).isoformat(),
            "start_date": (TODAY - datetime.timedelta(days=20)).isoformat(),
            "status": "ongoing",
        },
    )


def _reads(plan) -> int:
    return AccessLog.objects.filter(plan=plan, via=AccessLog.Via.API).count()


def test_a_reader_lists_the_courses_with_one_access_log_entry(as_user, plan, reader, course):
    before = _reads(plan)
    response = as_user(reader).get(url("course-list", plan_pk=plan.pk))
    assert response.status_code == 200
    assert [c["provider"] for c in response.json()["results"]] == ["Rogaland A-senter"]
    assert response["ETag"] == f'"{plan.__class__.objects.get(pk=plan.pk).revision}"'
    assert _reads(plan) == before + 1


def test_one_course_reads_with_its_fields(as_user, plan, reader, course):
    body = as_user(reader).get(url("course-detail", plan_pk=plan.pk, pk=course.pk)).json()
    assert body["kind"] == "tsb_inpatient"
    assert body["status"] == "ongoing"
    assert body["is_closed"] is False


def test_the_coordinator_adds_a_course_logged_as_an_api_change(as_user, plan, coordinator):
    response = as_user(coordinator).post(
        url("course-list", plan_pk=plan.pk),
        {"kind": "lar", "provider": "LAR Stavanger", "referral_date": TODAY.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    course = TreatmentCourse.objects.get(pk=response.json()["id"])
    assert response["Location"] == url("course-detail", plan_pk=plan.pk, pk=course.pk)
    change = Change.objects.filter(plan=plan).latest("revision")
    assert (change.kind, change.target_type, change.via) == ("create", "course", "api")
    assert response["ETag"] == f'"{change.revision}"'


def test_a_new_course_must_name_its_kind(as_user, plan, coordinator):
    response = as_user(coordinator).post(
        url("course-list", plan_pk=plan.pk), {"provider": "Et sted"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]
    assert not TreatmentCourse.objects.filter(plan=plan).exists()


def test_completing_a_course_in_one_patch_works_in_any_field_order(
    as_user, plan, coordinator, course
):
    response = as_user(coordinator).patch(
        url("course-detail", plan_pk=plan.pk, pk=course.pk),
        {"status": "completed", "end_date": TODAY.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed" and response.json()["is_closed"] is True


def test_an_inconsistent_course_is_refused_with_the_field_named(as_user, plan, coordinator, course):
    response = as_user(coordinator).patch(
        url("course-detail", plan_pk=plan.pk, pk=course.pk),
        {"status": "broken_off", "end_date": TODAY.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "break_reason" in response.json()["errors"]
    course.refresh_from_db()
    assert (course.status, course.end_date) == ("ongoing", None)


def test_a_reader_may_not_change_a_course(as_user, plan, reader, course):
    response = as_user(reader).patch(
        url("course-detail", plan_pk=plan.pk, pk=course.pk), {"provider": "X"}, format="json"
    )
    assert response.status_code == 403
    course.refresh_from_db()
    assert course.provider == "Rogaland A-senter"


def test_a_stale_if_match_is_refused_and_changes_nothing(as_user, plan, coordinator, course):
    stale = plan.__class__.objects.get(pk=plan.pk).revision - 1
    response = as_user(coordinator).patch(
        url("course-detail", plan_pk=plan.pk, pk=course.pk),
        {"provider": "Annet sted"},
        format="json",
        HTTP_IF_MATCH=f'"{stale}"',
    )
    assert response.status_code == 412
    course.refresh_from_db()
    assert course.provider == "Rogaland A-senter"


def test_a_deleted_course_leaves_the_list_and_can_be_restored(as_user, plan, coordinator, course):
    client = as_user(coordinator)
    detail = url("course-detail", plan_pk=plan.pk, pk=course.pk)
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404
    assert client.get(url("course-list", plan_pk=plan.pk)).json()["count"] == 0

    response = client.post(url("course-restore", plan_pk=plan.pk, pk=course.pk))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == course.pk
    kinds = list(
        Change.objects.filter(plan=plan, target_type="course", target_id=course.pk)
        .order_by("revision")
        .values_list("kind", "via")
    )
    assert kinds[-2:] == [("delete", "api"), ("restore", "api")]


def test_a_course_of_another_plan_is_not_found(as_user, plan, other_plan, coordinator):
    foreign = services.object_create(
        plan_id=other_plan.pk,
        user=coordinator,
        target="course",
        values={"kind": "other", "provider": "Et annet sted"},
    ).result["id"]
    response = as_user(coordinator).get(url("course-detail", plan_pk=plan.pk, pk=foreign))
    assert response.status_code == 404


def test_an_outsider_gets_404_for_the_courses(as_user, plan, outsider, course):
    response = as_user(outsider).get(url("course-list", plan_pk=plan.pk))
    assert response.status_code == 404
    assert not AccessLog.objects.filter(plan=plan, user=outsider).exists()


def test_a_broken_off_course_corrected_to_completed_loses_its_reason(
    as_user, plan, coordinator, course
):
    client = as_user(coordinator)
    detail = url("course-detail", plan_pk=plan.pk, pk=course.pk)
    response = client.patch(
        detail,
        {"status": "broken_off", "end_date": TODAY.isoformat(), "break_reason": "no_show"},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = client.patch(detail, {"status": "completed", "break_reason": None}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["break_reason"]) == ("completed", "")
