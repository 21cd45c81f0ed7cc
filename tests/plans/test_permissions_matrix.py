"""Who may open which plan page: every page × every persona.

200 = allowed, 403 = a member without the needed level (they know the plan exists),
404 = everyone else (we never reveal that a plan exists), 302 = not logged in.
"""

import pytest

from ipplan.plans.models import AccessLog, Theme

from .pages_support import (
    client_for,
    log_count,
    member_of,
    the_goal,
    the_measure,
    url,
)  # noqa: F401

PERSONAS = [
    "coordinator",
    "specialist",
    "commenter",
    "reader",
    "person_user",
    "outsider",
    "leader",
    "anonymous",
]

OK, DENIED, HIDDEN, LOGIN = 200, 403, 404, 302

# Per persona, in PERSONAS order.
READ = [OK, OK, OK, OK, OK, HIDDEN, HIDDEN, LOGIN]
EDIT = [OK, OK, DENIED, DENIED, DENIED, HIDDEN, HIDDEN, LOGIN]
# Nils (commenter) is responsible for the seeded measure, so he may edit it.
EDIT_OWN_MEASURE = [OK, OK, OK, DENIED, DENIED, HIDDEN, HIDDEN, LOGIN]
MANAGE = [OK, DENIED, DENIED, DENIED, DENIED, HIDDEN, HIDDEN, LOGIN]
PERSON_OR_COORDINATOR = [OK, DENIED, DENIED, DENIED, OK, HIDDEN, HIDDEN, LOGIN]


def _pages(plan):
    theme = Theme.objects.get(plan=plan, title="Bolig")
    goal = the_goal(plan)
    measure = the_measure(plan)
    member = member_of(plan, plan.coordinator).pk
    reader_member = plan.members.get(user__username="frida").pk
    return {
        "plan page": (url("detail", plan.pk), READ),
        "edit plan": (url("edit", plan.pk), EDIT),
        "new main theme": (url("theme_create", plan.pk), EDIT),
        "edit main theme": (url("theme_edit", plan.pk, theme.pk), EDIT),
        "delete main theme": (url("theme_delete", plan.pk, theme.pk), EDIT),
        "new goal": (url("goal_create", plan.pk, theme.pk), EDIT),
        "edit goal": (url("goal_edit", plan.pk, goal.pk), EDIT),
        "delete goal": (url("goal_delete", plan.pk, goal.pk), EDIT),
        "new measure": (url("measure_create", plan.pk, theme.pk), EDIT),
        "edit measure": (url("measure_edit", plan.pk, measure.pk), EDIT_OWN_MEASURE),
        "delete measure": (url("measure_delete", plan.pk, measure.pk), EDIT),
        "responsible group": (url("members", plan.pk), MANAGE),
        "edit member": (url("member_edit", plan.pk, reader_member), MANAGE),
        "end membership": (url("member_deactivate", plan.pk, member), MANAGE),
        "consent": (url("consent", plan.pk), PERSON_OR_COORDINATOR),
        "who has read the plan": (url("access_log", plan.pk), PERSON_OR_COORDINATOR),
    }


@pytest.fixture
def personas(coordinator, specialist, commenter, reader, person_user, outsider, leader):
    return {
        "coordinator": coordinator,
        "specialist": specialist,
        "commenter": commenter,
        "reader": reader,
        "person_user": person_user,
        "outsider": outsider,
        "leader": leader,
        "anonymous": None,
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_expected_answer_on_every_plan_page(persona, plan, personas):
    client = client_for(personas[persona])
    index = PERSONAS.index(persona)
    got, expected = {}, {}
    for page, (address, answers) in _pages(plan).items():
        response = client.get(address)
        got[page], expected[page] = response.status_code, answers[index]
        if response.status_code == LOGIN:
            assert response["Location"].startswith("/logg-inn/?next=")
    assert got == expected


def test_a_refused_request_writes_nothing_to_the_access_log(plan, outsider, leader):
    before = log_count(plan)
    for user in (outsider, leader, None):
        client = client_for(user)
        for address, _answers in _pages(plan).values():
            assert client.get(address).status_code in (302, 404)
    assert log_count(plan) == before


def test_a_member_of_one_plan_gets_404_on_another_plan_of_the_same_coordinator(
    other_plan, specialist
):
    client = client_for(specialist)
    for address in (
        url("detail", other_plan.pk),
        url("edit", other_plan.pk),
        url("members", other_plan.pk),
    ):
        assert client.get(address).status_code == 404


def test_a_plan_that_does_not_exist_is_404_even_for_a_coordinator(plan, coordinator):
    assert client_for(coordinator).get(url("detail", plan.pk + 999)).status_code == 404


def test_an_object_of_another_plan_is_404_under_this_plan(plan, other_plan, coordinator):
    foreign_theme = Theme.objects.filter(plan=other_plan).first()
    response = client_for(coordinator).get(url("theme_edit", plan.pk, foreign_theme.pk))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordinator", 200),
        ("specialist", 200),
        ("person_user", 200),
        ("leader", 200),
        ("anonymous", 302),
    ],
)
def test_everyone_logged_in_has_a_dashboard(persona, expected, plan, personas):
    assert client_for(personas[persona]).get(url("dashboard")).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordinator", 200),
        ("specialist", 200),
        ("outsider", 200),
        ("leader", 403),
        ("anonymous", 302),
    ],
)
def test_the_plan_list_is_for_staff_but_never_for_the_unit_leader(
    persona, expected, plan, personas
):
    assert client_for(personas[persona]).get(url("list")).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordinator", 200),
        ("specialist", 403),
        ("person_user", 403),
        ("leader", 403),
        ("anonymous", 302),
    ],
)
def test_only_coordinators_may_create_plans(persona, expected, plan, personas):
    assert client_for(personas[persona]).get(url("create")).status_code == expected


def test_the_plan_list_shows_only_plans_the_user_may_read(plan, other_plan, specialist, outsider):
    page = client_for(specialist).get(url("list")).content.decode()
    assert "Per Person" in page and "Anna Annen" not in page
    page = client_for(outsider).get(url("list")).content.decode()
    assert "Per Person" not in page


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordinator", 302),
        ("specialist", 302),
        ("commenter", 403),
        ("reader", 403),
        ("outsider", 404),
    ],
)
def test_moving_a_theme_needs_edit_access(persona, expected, plan, personas):
    theme = Theme.objects.get(plan=plan, title="Bolig")
    response = client_for(personas[persona]).post(
        url("theme_move", plan.pk, theme.pk), {"direction": "down"}
    )
    assert response.status_code == expected


def test_a_closed_plan_is_read_only_even_for_the_specialist(plan, coordinator, specialist):
    from ipplan.plans import services

    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"status": "closed"},
    )
    client = client_for(specialist)
    assert client.get(url("detail", plan.pk)).status_code == 200
    assert client.get(url("goal_edit", plan.pk, the_goal(plan).pk)).status_code == 403
    # The coordinator may still open the plan form, to reopen the plan.
    response = client_for(coordinator).get(url("edit", plan.pk))
    assert response.status_code == 200
    assert set(response.context["form"].fields) == {
        "base_revision",
        "period_start",
        "period_end",
        "status",
        "coordinator",
    }


def test_reading_pages_use_the_page_channel_and_forms_the_edit_channel(plan, coordinator):
    client = client_for(coordinator)
    client.get(url("detail", plan.pk))
    client.get(url("goal_edit", plan.pk, the_goal(plan).pk))
    vias = list(AccessLog.objects.filter(plan=plan).order_by("pk").values_list("via", "detail"))
    assert vias[-2:] == [(AccessLog.Via.PAGE, ""), (AccessLog.Via.EDIT, "goal")]
