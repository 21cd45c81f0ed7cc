"""The edit forms: they save through the services, refuse bad input with a clear
message, and never leave anything half-saved."""

import pytest
from django.test import Client
from django.utils.translation import gettext as _

from ipplan.plans import services
from ipplan.plans.models import Change, Consent, Goal, Measure, Member, Person, Plan, Theme

from .pages_support import (  # noqa: F401
    client_for,
    days,
    fast_passwords,
    form_data,
    member_of,
    state,
    the_goal,
    the_measure,
    url,
)

END_BEFORE_START = "Sluttdato kan ikke være før startdato."
OUTSIDE_PERIOD = "Datoen ligger utenfor planperioden."
NOT_A_MEMBER = "Ansvarlig må være et aktivt medlem av ansvarsgruppen."
DUE_BEFORE_START = "Frist kan ikke være før startdato."


def _edit(client, address, **changes):
    """Open the form, change some fields as a person would, send it."""
    data = form_data(client.get(address))
    data.update({k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in changes.items()})
    return client.post(address, data)


def _refused(response, field, message):
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert message in errors.get(field, []), errors
    return errors


# -------------------------------------------------------------------- bad input


def test_a_plan_period_ending_before_it_starts_is_refused(plan, coordinator):
    before = state(plan)
    response = _edit(
        client_for(coordinator), url("edit", plan.pk), period_end=days(-90), what_matters="Noe nytt"
    )
    _refused(response, "period_end", END_BEFORE_START)
    assert state(plan) == before  # what_matters was not saved either


def test_a_new_plan_ending_before_it_starts_is_refused_and_no_person_is_created(
    theme_templates, coordinator
):
    data = {
        "person_choice": "new",
        "first_name": "Mona",
        "last_name": "Ny",
        "birth_date": "1980-02-03",
        "period_start": days(0).isoformat(),
        "period_end": days(-1).isoformat(),
        "status": "draft",
    }
    response = client_for(coordinator).post(url("create"), data)
    _refused(response, "period_end", END_BEFORE_START)
    assert not Person.objects.filter(last_name="Ny").exists()
    assert not Plan.objects.exists()


def test_a_responsible_person_who_is_not_a_member_is_refused(plan, other_plan, coordinator):
    theme = the_goal(plan).theme
    foreign_member = member_of(other_plan, coordinator)
    before = state(plan)
    response = client_for(coordinator).post(
        url("measure_create", plan.pk, theme.pk),
        {"description": "Ukjent ansvarlig", "responsible": foreign_member.pk, "status": "planned"},
    )
    _refused(response, "responsible", NOT_A_MEMBER)
    assert state(plan) == before


def test_a_member_whose_membership_has_ended_cannot_be_made_responsible(plan, coordinator, reader):
    reader_member = member_of(plan, reader)
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="member",
        target_id=reader_member.pk,
        values={"active_to": days(-1)},
    )
    client = client_for(coordinator)
    address = url("measure_edit", plan.pk, the_measure(plan).pk)
    choices = [
        value for value, _label in client.get(address).context["form"].fields["responsible"].choices
    ]
    assert reader_member.pk not in choices
    before = state(plan)
    _refused(_edit(client, address, responsible=reader_member.pk), "responsible", NOT_A_MEMBER)
    assert state(plan) == before


def test_a_goal_without_a_success_criterion_is_refused(plan, coordinator):
    theme = the_goal(plan).theme
    before = state(plan)
    response = client_for(coordinator).post(
        url("goal_create", plan.pk, theme.pk),
        {
            "level": "main",
            "text": "Egen bil",
            "success_criterion": "   ",
            "evaluation_date": days(30).isoformat(),
            "status": "not_started",
        },
    )
    _refused(
        response,
        "success_criterion",
        _("Write a success criterion: how will we know that the goal is reached?"),
    )
    assert state(plan) == before


def test_clearing_the_success_criterion_of_a_goal_is_refused(plan, coordinator):
    before = state(plan)
    address = url("goal_edit", plan.pk, the_goal(plan).pk)
    response = _edit(client_for(coordinator), address, success_criterion="", text="Annen tekst")
    _refused(
        response,
        "success_criterion",
        _("Write a success criterion: how will we know that the goal is reached?"),
    )
    assert state(plan) == before


def test_a_goal_evaluated_outside_the_plan_period_is_refused_and_nothing_else_is_saved(
    plan, coordinator
):
    before = state(plan)
    address = url("goal_edit", plan.pk, the_goal(plan).pk)
    response = _edit(
        client_for(coordinator), address, text="Egen leilighet i sentrum", evaluation_date=days(400)
    )
    _refused(response, "evaluation_date", OUTSIDE_PERIOD)
    assert state(plan) == before
    assert the_goal(plan).text == "Egen leilighet"


def test_a_measure_starting_before_the_plan_period_is_refused(plan, coordinator):
    before = state(plan)
    response = _edit(
        client_for(coordinator),
        url("measure_edit", plan.pk, the_measure(plan).pk),
        start_date=days(-100),
    )
    _refused(response, "start_date", OUTSIDE_PERIOD)
    assert state(plan) == before


def test_a_measure_due_before_it_starts_is_refused(plan, coordinator):
    theme = the_goal(plan).theme
    before = state(plan)
    response = client_for(coordinator).post(
        url("measure_create", plan.pk, theme.pk),
        {
            "description": "Baklengs",
            "status": "planned",
            "start_date": days(10).isoformat(),
            "due_date": days(5).isoformat(),
        },
    )
    _refused(response, "due_date", DUE_BEFORE_START)
    assert state(plan) == before


def test_a_membership_ending_before_it_starts_is_refused(plan, coordinator, reader):
    before = state(plan)
    address = url("member_edit", plan.pk, member_of(plan, reader).pk)
    _refused(
        _edit(client_for(coordinator), address, active_to=days(-40), service="Ny tjeneste"),
        "active_to",
        END_BEFORE_START,
    )
    assert state(plan) == before


def test_a_consent_expiring_before_it_was_given_is_refused(plan, coordinator, reader):
    before = state(plan)
    response = client_for(coordinator).post(
        url("consent", plan.pk),
        {
            "action": "record",
            "kind": "sharing",
            "members": [member_of(plan, reader).pk],
            "given_on": days(-1).isoformat(),
            "expires_on": days(-2).isoformat(),
        },
    )
    _refused(response, "expires_on", "Utløpsdato kan ikke være før datoen samtykket ble gitt.")
    assert state(plan) == before


def test_a_consent_given_in_the_future_is_refused(plan, coordinator, reader):
    before = state(plan)
    response = client_for(coordinator).post(
        url("consent", plan.pk),
        {
            "action": "record",
            "kind": "sharing",
            "members": [member_of(plan, reader).pk],
            "given_on": days(3).isoformat(),
        },
    )
    _refused(response, "given_on", "Samtykke kan ikke gis fram i tid.")
    assert state(plan) == before


def test_a_date_that_is_not_a_date_gets_a_clear_message(plan, coordinator):
    before = state(plan)
    response = _edit(
        client_for(coordinator),
        url("goal_edit", plan.pk, the_goal(plan).pk),
        evaluation_date="31.02.2025",
    )
    _refused(response, "evaluation_date", _("Enter a valid date (DD.MM.YYYY)."))
    assert state(plan) == before


def test_the_error_is_shown_on_the_page_next_to_the_field(plan, coordinator):
    response = _edit(client_for(coordinator), url("edit", plan.pk), period_end=days(-90))
    page = response.content.decode()
    assert 'id="id_period_end_error"' in page
    assert END_BEFORE_START in page
    assert 'aria-invalid="true"' in page
    assert "data-error-summary" in page


# -------------------------------------------------------------------- good input


def test_editing_a_goal_writes_only_the_changed_field(plan, specialist):
    goal = the_goal(plan)
    revision = Plan.objects.get(pk=plan.pk).revision
    response = _edit(client_for(specialist), url("goal_edit", plan.pk, goal.pk), status="achieved")
    assert response.status_code == 302
    assert response["Location"] == url("detail", plan.pk) + f"#goal-{goal.pk}"
    changes = list(Change.objects.filter(plan=plan, revision__gt=revision))
    assert [(c.user, c.target_type, c.field, c.after) for c in changes] == [
        (specialist, "goal", "status", "achieved")
    ]


def test_saving_a_form_unchanged_writes_nothing(plan, coordinator):
    before = state(plan)
    response = _edit(client_for(coordinator), url("measure_edit", plan.pk, the_measure(plan).pk))
    assert response.status_code == 302
    assert state(plan) == before


def test_textarea_line_breaks_from_the_browser_are_stored_as_newlines(plan, coordinator):
    response = _edit(
        client_for(coordinator), url("edit", plan.pk), what_matters="Første linje\r\nAndre linje"
    )
    assert response.status_code == 302
    assert Plan.objects.get(pk=plan.pk).what_matters == "Første linje\nAndre linje"


def test_moving_a_whole_measure_period_later_is_accepted(plan, coordinator):
    measure = the_measure(plan)  # runs today .. today+30
    response = _edit(
        client_for(coordinator),
        url("measure_edit", plan.pk, measure.pk),
        start_date=days(60),
        due_date=days(90),
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.start_date, measure.due_date) == (days(60), days(90))


def test_a_form_does_not_undo_what_someone_changed_meanwhile_in_another_field(
    plan, coordinator, specialist
):
    goal = the_goal(plan)
    client = client_for(coordinator)
    address = url("goal_edit", plan.pk, goal.pk)
    data = form_data(client.get(address))
    services.object_update(
        plan_id=plan.pk,
        user=specialist,
        target="goal",
        target_id=goal.pk,
        values={"text": "Egen leilighet i Sandnes"},
    )
    data["status"] = "achieved"
    assert client.post(address, data).status_code == 302
    goal.refresh_from_db()
    assert (goal.text, goal.status) == ("Egen leilighet i Sandnes", "achieved")


def test_a_form_refuses_to_overwrite_a_field_someone_changed_meanwhile_until_saved_again(
    plan, coordinator, specialist
):
    goal = the_goal(plan)
    client = client_for(coordinator)
    address = url("goal_edit", plan.pk, goal.pk)
    data = form_data(client.get(address))
    services.object_update(
        plan_id=plan.pk,
        user=specialist,
        target="goal",
        target_id=goal.pk,
        values={"text": "Egen leilighet i Sandnes"},
    )
    data["text"] = "Egen leilighet med hage"
    response = client.post(address, data)
    assert response.status_code == 200
    assert "Egen leilighet i Sandnes" in response.context["form"].errors["text"][0]
    goal.refresh_from_db()
    assert goal.text == "Egen leilighet i Sandnes"
    # The form kept the user's text; sending it again is a deliberate overwrite.
    again = form_data(response)
    assert again["text"] == "Egen leilighet med hage"
    assert client.post(address, again).status_code == 302
    goal.refresh_from_db()
    assert goal.text == "Egen leilighet med hage"


def test_a_coordinator_adds_a_theme_a_goal_and_a_measure(plan, coordinator, commenter):
    client = client_for(coordinator)
    response = client.post(
        url("theme_create", plan.pk),
        {"title": "Fritid", "current_situation": "Lite å gjøre på kveldene"},
    )
    theme = Theme.objects.get(plan=plan, title="Fritid")
    assert response["Location"].endswith(f"#theme-{theme.pk}")
    assert theme.position == Theme.objects.alive().filter(plan=plan).count() - 1
    client.post(
        url("goal_create", plan.pk, theme.pk),
        {
            "level": "main",
            "text": "Bli med i et kor",
            "success_criterion": "Har vært på øvelse fire ganger",
            "evaluation_date": days(60).isoformat(),
            "status": "not_started",
            "expressed_by": "Per",
        },
    )
    goal = Goal.objects.get(plan=plan, theme=theme)
    create_measure = url("measure_create", plan.pk, theme.pk)
    assert client.get(create_measure, {"goal": goal.pk}).context["form"]["goal"].value() == str(
        goal.pk
    )
    client.post(
        create_measure,
        {
            "description": "Finne kor",
            "goal": goal.pk,
            "responsible": member_of(plan, commenter).pk,
            "status": "planned",
            "start_date": days(1).isoformat(),
            "due_date": days(20).isoformat(),
        },
    )
    measure = Measure.objects.get(plan=plan, theme=theme)
    assert (measure.goal, measure.responsible.user) == (goal, commenter)


def test_the_responsible_commenter_updates_his_measure_but_not_another(
    plan, coordinator, commenter
):
    client = client_for(commenter)
    measure = the_measure(plan)
    assert _edit(client, url("measure_edit", plan.pk, measure.pk), status="done").status_code == 302
    measure.refresh_from_db()
    assert measure.status == "done"


def test_a_reader_posting_an_edit_is_refused_and_nothing_changes(plan, reader):
    before = state(plan)
    goal = the_goal(plan)
    response = client_for(reader).post(url("goal_edit", plan.pk, goal.pk), {"status": "achieved"})
    assert response.status_code == 403
    assert state(plan) == before


def test_moving_a_theme_down_and_up(plan, coordinator):
    client = client_for(coordinator)
    first, second = Theme.objects.alive().filter(plan=plan).order_by("position")[:2]
    client.post(url("theme_move", plan.pk, first.pk), {"direction": "down"})
    assert list(Theme.objects.alive().filter(plan=plan).order_by("position")[:2]) == [second, first]
    client.post(url("theme_move", plan.pk, first.pk), {"direction": "up"})
    assert list(Theme.objects.alive().filter(plan=plan).order_by("position")[:2]) == [first, second]


def test_moving_needs_a_post(plan, coordinator):
    theme = Theme.objects.filter(plan=plan).first()
    assert client_for(coordinator).get(url("theme_move", plan.pk, theme.pk)).status_code == 405


def test_deleting_a_goal_asks_first_and_keeps_it_in_history(plan, coordinator):
    client = client_for(coordinator)
    goal = the_goal(plan)
    address = url("goal_delete", plan.pk, goal.pk)
    assert "Egen leilighet" in client.get(address).content.decode()
    assert Goal.objects.alive().filter(pk=goal.pk).exists()
    assert client.post(address).status_code == 302
    assert not Goal.objects.alive().filter(pk=goal.pk).exists()
    assert Goal.objects.filter(pk=goal.pk).exists()
    assert Change.objects.filter(
        plan=plan, kind="delete", target_type="goal", target_id=goal.pk
    ).exists()


def test_a_post_without_the_csrf_token_is_refused(plan, coordinator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    before = state(plan)
    response = client.post(url("goal_edit", plan.pk, the_goal(plan).pk), {"status": "achieved"})
    assert response.status_code == 403
    assert state(plan) == before


# ------------------------------------------------------------------ members, consent


def test_the_coordinator_adds_a_member_from_another_organisation(plan, coordinator, outsider):
    client = client_for(coordinator)
    address = url("members", plan.pk)
    groups = dict(client.get(address).context["form"].fields["user"].choices[1:])
    assert "Mestringsenheten" in groups
    assert "frida" not in str(groups)  # already a member
    response = client.post(
        address,
        {
            "user": outsider.pk,
            "role": "next_of_kin",
            "service": "",
            "contribution": "Følger til avtaler",
            "access": "read",
            "active_from": days(0).isoformat(),
        },
    )
    assert response.status_code == 302
    member = member_of(plan, outsider)
    assert (member.role, member.access, member.organisation.name) == (
        "next_of_kin",
        "read",
        "Mestringsenheten",
    )


def test_adding_a_member_twice_is_refused(plan, coordinator, reader):
    before = state(plan)
    response = client_for(coordinator).post(
        url("members", plan.pk),
        {
            "user": reader.pk,
            "role": "specialist",
            "access": "read",
            "active_from": days(0).isoformat(),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["user"]
    assert state(plan) == before


def test_ending_a_membership_keeps_the_member_and_removes_access(plan, coordinator, reader):
    member = member_of(plan, reader)
    client = client_for(coordinator)
    address = url("member_deactivate", plan.pk, member.pk)
    assert client.get(address).context["form"]["active_to"].value() == days(-1)
    assert client.post(address, {"active_to": days(-1).isoformat()}).status_code == 302
    member.refresh_from_db()
    assert member.active_to == days(-1)
    assert client_for(reader).get(url("detail", plan.pk)).status_code == 404


def test_the_coordinators_own_membership_cannot_be_ended(plan, coordinator):
    member = member_of(plan, coordinator)
    before = state(plan)
    response = client_for(coordinator).post(
        url("member_deactivate", plan.pk, member.pk), {"active_to": days(-1).isoformat()}
    )
    assert response.status_code == 200 and response.context["blocked"]
    assert state(plan) == before


def test_the_coordinator_records_consent_to_sharing_for_a_new_member(plan, coordinator, outsider):
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
    assert client_for(outsider).get(url("detail", plan.pk)).status_code == 404
    response = client_for(coordinator).post(
        url("consent", plan.pk),
        {
            "action": "record",
            "kind": "sharing",
            "members": [member_of(plan, outsider).pk],
            "given_on": days(0).isoformat(),
            "scope": "Alt i planen",
        },
    )
    assert response.status_code == 302
    assert client_for(outsider).get(url("detail", plan.pk)).status_code == 200


def test_withdrawing_consent_removes_a_specialists_access_at_once(plan, coordinator, specialist):
    specialist_client = client_for(specialist)
    assert specialist_client.get(url("detail", plan.pk)).status_code == 200
    sharing = Consent.objects.get(plan=plan, kind="sharing")
    response = client_for(coordinator).post(
        url("consent", plan.pk), {"action": "withdraw", "consent": sharing.pk}
    )
    assert response.status_code == 302
    assert Consent.objects.get(pk=sharing.pk).withdrawn_at is not None
    assert specialist_client.get(url("detail", plan.pk)).status_code == 404
    assert specialist_client.get(url("goal_edit", plan.pk, the_goal(plan).pk)).status_code == 404
    statuses = {
        r.member.user.username: r.status
        for r in client_for(coordinator).get(url("detail", plan.pk)).context["member_rows"]
    }
    assert statuses["siv"] == "withdrawn"


def test_the_person_may_withdraw_consent_but_not_record_it(plan, person_user, specialist):
    client = client_for(person_user)
    sharing = Consent.objects.get(plan=plan, kind="sharing")
    page = client.get(url("consent", plan.pk))
    assert page.context["form"] is None
    response = client.post(
        url("consent", plan.pk),
        {"action": "record", "kind": "plan", "given_on": days(0).isoformat()},
    )
    assert response.status_code == 403
    client.post(url("consent", plan.pk), {"action": "withdraw", "consent": sharing.pk})
    assert client_for(specialist).get(url("detail", plan.pk)).status_code == 404


def test_a_specialist_cannot_withdraw_consent(plan, specialist):
    sharing = Consent.objects.get(plan=plan, kind="sharing")
    response = client_for(specialist).post(
        url("consent", plan.pk), {"action": "withdraw", "consent": sharing.pk}
    )
    assert response.status_code == 403
    assert Consent.objects.get(pk=sharing.pk).withdrawn_at is None


@pytest.mark.parametrize("field", ["period_start", "status", "coordinator"])
def test_a_specialist_cannot_change_the_coordinators_fields(plan, specialist, field):
    response = client_for(specialist).get(url("edit", plan.pk))
    assert field not in response.context["form"].fields


def test_members_without_access_are_never_offered_as_members_to_consent_for(
    plan, coordinator, person_user
):
    form = client_for(coordinator).get(url("consent", plan.pk)).context["form"]
    offered = set(form.fields["members"].queryset.values_list("user__username", flat=True))
    assert offered == {"kari", "siv", "nils", "frida"}
    assert Member.objects.filter(plan=plan, user=person_user).exists()
