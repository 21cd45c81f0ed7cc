"""The read pages: dashboard per role, plan page, plan list, creating a plan."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipplan.accounts.models import Organisation
from ipplan.plans import services
from ipplan.plans.models import Consent, Goal, Member, Person, Plan, Theme
from tests.conftest import make_user

from .pages_support import (  # noqa: F401
    add_goal,
    add_measure,
    client_for,
    days,
    fast_passwords,
    the_goal,
    the_measure,
    url,
)


def _make_overdue(plan, coordinator):
    """The seeded measure and goal, moved into the past (still inside the period)."""
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="measure",
        target_id=the_measure(plan).pk,
        values={"start_date": days(-20), "due_date": days(-5)},
    )
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="goal",
        target_id=the_goal(plan).pk,
        values={"evaluation_date": days(-3)},
    )


# ------------------------------------------------------------------------ dashboard


def test_the_coordinator_sees_her_plans_and_what_is_overdue(plan, coordinator):
    _make_overdue(plan, coordinator)
    page = client_for(coordinator).get(url("dashboard")).content.decode()
    assert "Per Person" in page
    assert "Søke kommunal bolig" in page  # the overdue measure
    assert "Egen leilighet" in page  # the goal whose evaluation is overdue
    assert page.count('class="overdue"') >= 2


def test_the_coordinator_sees_an_overdue_goal_exactly_once(plan, coordinator):
    _make_overdue(plan, coordinator)
    page = client_for(coordinator).get(url("dashboard")).content.decode()
    assert page.count(f"#goal-{the_goal(plan).pk}") == 1
    assert page.count("Egen leilighet") == 1


def test_a_member_sees_the_plans_they_take_part_in_and_their_own_measures(
    plan, commenter, specialist
):
    page = client_for(commenter).get(url("dashboard")).content.decode()
    assert "Per Person" in page
    assert "Søke kommunal bolig" in page  # Nils is responsible for it
    page = client_for(specialist).get(url("dashboard")).content.decode()
    assert "Per Person" in page
    assert "Søke kommunal bolig" not in page


def test_the_person_sees_a_link_to_his_own_plan(plan, person_user):
    response = client_for(person_user).get(url("dashboard"))
    assert url("detail", plan.pk) in response.content.decode()
    assert response.context["my_plans"] == [plan]


def test_the_unit_leader_sees_only_a_link_to_the_statistics(plan, leader):
    response = client_for(leader).get(url("dashboard"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Per Person" not in page
    assert url("list") not in page  # not even the plans menu item
    assert response.context["leader"] is True


def test_an_outsider_sees_no_plan_on_the_dashboard(plan, outsider):
    page = client_for(outsider).get(url("dashboard")).content.decode()
    assert "Per Person" not in page


# ------------------------------------------------------------------------ plan page


def test_the_plan_page_shows_themes_in_order_with_goals_measures_and_members(plan, reader):
    response = client_for(reader).get(url("detail", plan.pk))
    page = response.content.decode()
    titles = [row.theme.title for row in response.context["themes"]]
    assert titles == list(
        Theme.objects.alive().filter(plan=plan).order_by("position").values_list("title", flat=True)
    )
    positions = [
        page.index(f'id="theme-{row.theme.pk}-title"') for row in response.context["themes"]
    ]
    assert positions == sorted(positions)
    for text in [
        "Egen leilighet",
        "Har signert leiekontrakt",
        "Søke kommunal bolig",
        "Nils NAV",
        "Kari Koordinator",
        "Frida Fastlege",
    ]:
        assert text in page
    # A read-only member gets no edit links.
    assert url("goal_edit", plan.pk, the_goal(plan).pk) not in page
    assert url("edit", plan.pk) not in page


def test_the_plan_page_marks_overdue_goals_and_measures_in_words(plan, coordinator):
    _make_overdue(plan, coordinator)
    response = client_for(coordinator).get(url("detail", plan.pk))
    page = response.content.decode()
    assert 'class="measure measure--overdue"' in page
    assert 'class="goal goal--overdue"' in page
    assert page.count('class="overdue"') == 2


def test_the_responsible_member_gets_an_edit_link_for_his_measure_only(
    plan, commenter, coordinator
):
    other = add_measure(plan, coordinator, the_goal(plan).theme)
    page = client_for(commenter).get(url("detail", plan.pk)).content.decode()
    assert url("measure_edit", plan.pk, the_measure_for(plan, "Søke kommunal bolig")) in page
    assert url("measure_edit", plan.pk, other.pk) not in page


def test_the_move_buttons_all_submit_one_form_to_their_own_item(plan, coordinator, reader):
    first = the_goal(plan)
    second = add_goal(plan, coordinator, first.theme, text="Gå tur hver dag")
    page = client_for(coordinator).get(url("detail", plan.pk)).content.decode()
    # One form holds the CSRF token; each button posts it to its theme's or goal's address.
    assert page.count('<form id="move-form" method="post" hidden>') == 1
    move = 'form="move-form" formaction="{}" name="direction" value="{}"'
    assert move.format(url("goal_move", plan.pk, first.pk), "down") in page
    assert move.format(url("goal_move", plan.pk, first.pk), "up") not in page
    assert move.format(url("goal_move", plan.pk, second.pk), "up") in page
    assert move.format(url("theme_move", plan.pk, first.theme.pk), "down") in page
    response = client_for(coordinator).post(
        url("goal_move", plan.pk, second.pk), {"direction": "up"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.position < first.position
    # Those who may not change the plan get neither the form nor the buttons.
    page = client_for(reader).get(url("detail", plan.pk)).content.decode()
    assert 'id="move-form"' not in page and "formaction=" not in page


def the_measure_for(plan, description):
    return plan.measures.get(description=description).pk


def test_the_plan_page_warns_about_members_without_valid_consent(plan, coordinator, outsider):
    services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="member",
        values={
            "user": outsider.pk,
            "role": "specialist",
            "access": "read",
            "active_from": days(0),
        },
    )
    response = client_for(coordinator).get(url("detail", plan.pk))
    warned = [row.member.user for row in response.context["consent_warnings"]]
    assert warned == [outsider]
    statuses = {row.member.user.username: row.status for row in response.context["member_rows"]}
    assert statuses == {
        "kari": "not_needed",
        "per": "not_needed",
        "siv": "covered",
        "nils": "covered",
        "frida": "covered",
        "ola": "not_covered",
    }


def test_goal_advice_shows_next_to_a_vague_goal(plan, coordinator):
    theme = the_goal(plan).theme
    vague = add_goal(plan, coordinator, theme, text="Bli rusfri", success_criterion="Rusfri")
    response = client_for(coordinator).get(url("detail", plan.pk))
    rows = [g for row in response.context["themes"] for g in row.goals if g.goal.pk == vague.pk]
    pytest.importorskip("ipplan.plans.goal_rules")
    assert rows[0].warnings
    assert rows[0].warnings[0] in response.content.decode()


def _bigger_plan(plan, coordinator, orgs):
    """More themes, goals, measures, members and consents than the seeded plan."""
    themes = list(Theme.objects.filter(plan=plan))
    members = []
    for n in range(4):
        user = make_user(f"extra{n}", "Ekstra", f"Medlem{n}", orgs["nav"])
        result = services.object_create(
            plan_id=plan.pk,
            user=coordinator,
            target="member",
            values={
                "user": user.pk,
                "role": "specialist",
                "organisation": orgs["nav"].pk,
                "access": "edit",
                "active_from": days(-1),
            },
        )
        members.append(Member.objects.get(pk=result.result["id"]))
    services.consent_record(
        plan_id=plan.pk,
        user=coordinator,
        kind=Consent.Kind.SHARING,
        given_on=days(-1),
        members=members,
    )
    for theme in themes:
        for _ in range(3):
            goal = add_goal(plan, coordinator, theme)
            for member in members[:2]:
                add_measure(
                    plan, coordinator, theme, goal=goal.pk, responsible=member.pk, due_date=days(10)
                )
        add_measure(plan, coordinator, theme)
    services.object_create(
        plan_id=plan.pk, user=coordinator, target="theme", values={"title": "Fritid"}
    )


def test_the_plan_page_needs_the_same_number_of_queries_for_a_bigger_plan(
    plan, coordinator, specialist, orgs
):
    def count(user):
        client = client_for(user)
        client.get(url("detail", plan.pk))  # warm up (session, caches)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("detail", plan.pk)).status_code == 200
        return len(queries)

    small = {"coordinator": count(coordinator), "specialist": count(specialist)}
    _bigger_plan(plan, coordinator, orgs)
    assert Goal.objects.filter(plan=plan).count() > 20
    big = {"coordinator": count(coordinator), "specialist": count(specialist)}
    assert big == small


# ------------------------------------------------------------------------ plan list


def test_the_plan_list_finds_a_plan_by_name_and_status(plan, other_plan, coordinator):
    client = client_for(coordinator)
    response = client.get(url("list"), {"q": "anna"})
    assert [p.pk for p in response.context["page"].object_list] == [other_plan.pk]
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"status": "closed"},
    )
    response = client.get(url("list"))
    assert [p.pk for p in response.context["page"].object_list] == [other_plan.pk]
    response = client.get(url("list"), {"status": "closed"})
    assert [p.pk for p in response.context["page"].object_list] == [plan.pk]


# ---------------------------------------------------------------------- create plan


def _create_data(**overrides):
    data = {
        "person_choice": "new",
        "first_name": "Mona",
        "last_name": "Ny",
        "birth_date": "1980-02-03",
        "phone": "",
        "email": "",
        "address": "",
        "account": "",
        "period_start": days(0).isoformat(),
        "period_end": days(365).isoformat(),
        "next_evaluation": days(90).isoformat(),
        "status": "active",
        "what_matters": "Å bo for meg selv",
    }
    data.update(overrides)
    return data


def test_a_coordinator_creates_a_plan_for_a_new_person_with_the_default_themes(
    theme_templates, coordinator, outsider
):
    response = client_for(coordinator).post(url("create"), _create_data(account="ola"))
    plan = Plan.objects.get(person__last_name="Ny")
    assert response.status_code == 302 and response["Location"] == url("detail", plan.pk)
    assert plan.coordinator == coordinator and plan.created_by == coordinator
    assert plan.person.user == outsider
    assert plan.what_matters == "Å bo for meg selv"
    assert Theme.objects.filter(plan=plan).count() == 7
    assert set(plan.members.values_list("user__username", "role")) == {
        ("kari", "coordinator"),
        ("ola", "person"),
    }


def test_a_coordinator_starts_a_new_plan_for_a_person_whose_plan_is_closed(plan, coordinator):
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"status": "closed"},
    )
    client = client_for(coordinator)
    assert list(client.get(url("create")).context["form"].fields["existing_person"].queryset) == [
        plan.person
    ]
    response = client.post(
        url("create"), _create_data(person_choice="existing", existing_person=plan.person.pk)
    )
    assert response.status_code == 302
    assert plan.person.plans.count() == 2


def test_the_person_list_does_not_offer_people_with_a_plan_in_use_or_other_coordinators_clients(
    plan, coordinator, orgs
):
    other_coordinator = make_user("kim", "Kim", "Koord", orgs["unit"])
    someone = Person.objects.create(
        first_name="Sara", last_name="Skjult", birth_date=datetime.date(1970, 1, 1)
    )
    services.plan_create(
        person=someone,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=days(-400),
        period_end=days(-10),
    )
    Plan.objects.filter(person=someone).update(
        coordinator=other_coordinator
    )  # set up history, not a write path
    Plan.objects.filter(person=someone).update(status="closed")
    Member.objects.filter(plan__person=someone, user=coordinator).delete()
    offered = (
        client_for(coordinator)
        .get(url("create"))
        .context["form"]
        .fields["existing_person"]
        .queryset
    )
    assert plan.person not in offered
    assert someone not in offered


def test_creating_a_plan_with_a_taken_user_account_is_refused(plan, coordinator, person_user):
    response = client_for(coordinator).post(url("create"), _create_data(account="per"))
    assert response.status_code == 200
    assert response.context["form"].errors["account"]
    assert not Person.objects.filter(last_name="Ny").exists()


def test_the_default_organisation_list_is_not_needed_to_render_the_create_form(coordinator):
    Organisation.objects.all()  # no organisations required
    assert client_for(coordinator).get(url("create")).status_code == 200


def test_the_person_reads_his_plan_without_edit_links_but_with_consent_and_access_log(
    plan, person_user
):
    page = client_for(person_user).get(url("detail", plan.pk)).content.decode()
    assert "Egen leilighet" in page
    assert url("goal_edit", plan.pk, the_goal(plan).pk) not in page
    assert url("members", plan.pk) not in page
    assert url("consent", plan.pk) in page
    assert url("access_log", plan.pk) in page
