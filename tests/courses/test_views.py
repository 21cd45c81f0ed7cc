"""Course forms on the plan, the plan page and dashboard slots, and who may see what."""

import pytest
from django.urls import reverse

from ipplan.courses.models import TreatmentCourse
from ipplan.plans import services
from ipplan.plans.models import AccessLog, Change, Goal, Plan
from tests.conftest import PASSWORD

from .conftest import days


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def form_data(**values):
    data = {
        "kind": "tsb_inpatient",
        "provider": "Solbakken behandlingssenter",
        "referral_date": days(-40).isoformat(),
        "start_date": days(-30).isoformat(),
        "planned_end": days(60).isoformat(),
        "status": "ongoing",
        "end_date": "",
        "break_reason": "",
        "break_note": "",
    }
    data.update(values)
    return data


def test_the_coordinator_adds_a_course_from_the_plan(client, plan, coordinator):
    login(client, coordinator)
    url = reverse("courses:create", args=[plan.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, form_data())
    course = TreatmentCourse.objects.get(plan=plan)
    assert response.status_code == 302
    assert response["Location"] == plan.get_absolute_url() + f"#course-{course.pk}"
    assert (course.kind, course.status, course.start_date) == (
        "tsb_inpatient",
        "ongoing",
        days(-30),
    )
    change = Change.objects.get(target_type="course", kind="create")
    assert change.user == coordinator and change.via == "form"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {
                "start_date": days(-5).isoformat(),
                "end_date": days(-10).isoformat(),
                "status": "completed",
            },
            "cannot end before it started",
        ),
        (
            {"status": "broken_off", "end_date": days(-2).isoformat()},
            "Choose why the course was broken off",
        ),
        ({"status": "completed"}, "Enter the date the course ended"),
        (
            {"status": "ongoing", "end_date": days(-2).isoformat()},
            "Only a completed or broken-off course has an end date",
        ),
        ({"status": "ongoing", "break_reason": "moved"}, "Only a broken-off course has a reason"),
        ({"start_date": "31.02.2025"}, "valid date"),
        ({"kind": ""}, "Choose the kind of treatment course"),
        ({"provider": "   "}, "Enter where the treatment takes place"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(
    client, plan, coordinator, values, message
):
    login(client, coordinator)
    revision = Plan.objects.get(pk=plan.pk).revision
    response = client.post(reverse("courses:create", args=[plan.pk]), form_data(**values))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TreatmentCourse.objects.exists()
    assert Plan.objects.get(pk=plan.pk).revision == revision


def test_a_form_keeps_what_the_user_typed_after_an_error(client, plan, coordinator):
    login(client, coordinator)
    data = form_data(status="completed", break_note="Skrev seg ut")
    response = client.post(reverse("courses:create", args=[plan.pk]), data)
    assert "Solbakken behandlingssenter" in response.content.decode()
    assert "Skrev seg ut" in response.content.decode()


def edit_data(course, plan, **changes):
    """What the edit form sends: current values, their initial copies, and changes."""
    initial = {
        name: services.field_value(course, name) or ""
        for name in (
            "kind",
            "provider",
            "referral_date",
            "start_date",
            "planned_end",
            "status",
            "end_date",
            "break_reason",
            "break_note",
        )
    }
    data = {**initial, **{f"initial-{k}": v for k, v in initial.items()}}
    data["base_revision"] = Plan.objects.get(pk=plan.pk).revision
    data.update(changes)
    return data


def test_the_specialist_completes_a_course_in_one_save(client, plan, specialist, add_course):
    course = add_course(plan, start_date=days(-30), status="ongoing")
    login(client, specialist)
    data = edit_data(course, plan, status="completed", end_date=days(-1).isoformat())
    response = client.post(reverse("courses:edit", args=[plan.pk, course.pk]), data)
    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.status, course.end_date) == ("completed", days(-1))
    assert Change.objects.filter(target_type="course", kind="set", user=specialist).count() == 2


def test_an_edit_does_not_overwrite_a_change_made_live_meanwhile(
    client, plan, coordinator, specialist, add_course
):
    course = add_course(plan, start_date=days(-30), status="ongoing")
    login(client, specialist)
    data = edit_data(course, plan, provider="Mitt sted")
    services.apply_operation(  # Kari renames the provider in the meeting room
        plan_id=plan.pk,
        user=coordinator,
        op={
            "type": "set",
            "target": "course",
            "id": course.pk,
            "field": "provider",
            "value": "Hennes sted",
        },
    )
    response = client.post(reverse("courses:edit", args=[plan.pk, course.pk]), data)
    assert response.status_code == 200
    assert "Someone else changed this field" in response.content.decode()
    assert TreatmentCourse.objects.get(pk=course.pk).provider == "Hennes sted"


def test_deleting_asks_first_and_then_removes_the_course(client, plan, coordinator, add_course):
    course = add_course(plan)
    login(client, coordinator)
    url = reverse("courses:delete", args=[plan.pk, course.pk])
    assert client.get(url).status_code == 200
    assert TreatmentCourse.objects.alive().filter(pk=course.pk).exists()
    assert client.post(url).status_code == 302
    assert not TreatmentCourse.objects.alive().filter(pk=course.pk).exists()


def test_course_pages_are_in_the_access_log(client, plan, coordinator, add_course):
    course = add_course(plan)
    login(client, coordinator)
    before = AccessLog.objects.filter(plan=plan).count()
    client.get(reverse("courses:edit", args=[plan.pk, course.pk]))
    assert AccessLog.objects.filter(plan=plan).count() == before + 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("reader", 403), ("commenter", 403), ("outsider", 404), ("leader", 404)],
)
def test_only_editors_reach_the_course_forms(client, plan, add_course, who, status, request):
    course = add_course(plan)
    login(client, request.getfixturevalue(who))
    for url in (
        reverse("courses:create", args=[plan.pk]),
        reverse("courses:edit", args=[plan.pk, course.pk]),
        reverse("courses:delete", args=[plan.pk, course.pk]),
    ):
        assert client.get(url).status_code == status
        assert client.post(url, form_data()).status_code == status
    assert TreatmentCourse.objects.alive().count() == 1


def test_a_course_of_another_plan_is_not_found(client, plan, other_plan, coordinator, add_course):
    course = add_course(other_plan)
    login(client, coordinator)
    assert client.get(reverse("courses:edit", args=[plan.pk, course.pk])).status_code == 404


def test_the_plan_page_lists_courses_and_offers_edits_to_editors_only(
    client, plan, coordinator, reader, add_course
):
    course = add_course(
        plan,
        start_date=days(-30),
        status="broken_off",
        end_date=days(-2),
        break_reason="no_show",
        break_note="Møtte ikke etter permisjon.",
    )
    login(client, coordinator)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert f'id="course-{course.pk}"' in page
    assert "Møtte ikke etter permisjon." in page
    assert reverse("courses:edit", args=[plan.pk, course.pk]) in page
    client.logout()
    login(client, reader)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert f'id="course-{course.pk}"' in page
    assert reverse("courses:edit", args=[plan.pk, course.pk]) not in page
    assert reverse("courses:create", args=[plan.pk]) not in page


# ---------------------------------------------------------------------- dashboard


def overdue_goal(plan, user, **values):
    theme = plan.themes.first()
    result = services.object_create(
        plan_id=plan.pk,
        user=user,
        target="goal",
        values={
            "theme": theme.pk,
            "level": "sub",
            "text": values.pop("text", "Møte på arbeidstrening"),
            "success_criterion": "Møter tre dager i uka",
            "evaluation_date": days(-10),
            "status": "in_progress",
            **values,
        },
    )
    return Goal.objects.get(pk=result.result["id"])


def test_the_dashboard_lists_goals_whose_evaluation_date_has_passed(
    client, plan, coordinator, specialist
):
    due = overdue_goal(plan, coordinator)
    done = overdue_goal(plan, coordinator, text="Søke skoleplass", status="achieved")
    revised = overdue_goal(plan, coordinator, text="Gå på kurs", status="revised")
    login(client, specialist)
    page = client.get(reverse("plans:dashboard")).content.decode()
    assert f"#goal-{due.pk}" in page
    assert f"#goal-{done.pk}" not in page and f"#goal-{revised.pk}" not in page


@pytest.mark.parametrize("who", ["coordinator", "specialist", "person_user"])
def test_the_dashboard_lists_an_overdue_goal_exactly_once(client, plan, coordinator, who, request):
    due = overdue_goal(plan, coordinator)
    login(client, request.getfixturevalue(who))
    page = client.get(reverse("plans:dashboard")).content.decode()
    assert page.count(f"#goal-{due.pk}") == 1
    assert page.count("Møte på arbeidstrening") == 1


@pytest.mark.parametrize("who", ["outsider", "leader"])
def test_the_dashboard_shows_no_goals_of_plans_one_cannot_read(
    client, plan, coordinator, who, request
):
    due = overdue_goal(plan, coordinator)
    login(client, request.getfixturevalue(who))
    page = client.get(reverse("plans:dashboard")).content.decode()
    assert f"#goal-{due.pk}" not in page and "Møte på arbeidstrening" not in page
