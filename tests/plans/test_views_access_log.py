"""The access log (innsynslogg): exactly one entry per read, and the person's
'who has read my plan' page."""

import pytest

from ipplan.plans import services
from ipplan.plans.models import AccessLog, Theme

from .pages_support import (
    client_for,
    days,
    form_data,
    log_count,
    member_of,
    the_goal,
    the_measure,
    url,
)  # noqa: F401


def _reading_pages(plan, reader):
    theme = Theme.objects.get(plan=plan, title="Bolig")
    return {
        url("detail", plan.pk): ("page", ""),
        url("edit", plan.pk): ("edit", "plan"),
        url("theme_create", plan.pk): ("edit", "theme"),
        url("theme_edit", plan.pk, theme.pk): ("edit", "theme"),
        url("theme_delete", plan.pk, theme.pk): ("edit", "theme"),
        url("goal_create", plan.pk, theme.pk): ("edit", "goal"),
        url("goal_edit", plan.pk, the_goal(plan).pk): ("edit", "goal"),
        url("measure_create", plan.pk, theme.pk): ("edit", "measure"),
        url("measure_edit", plan.pk, the_measure(plan).pk): ("edit", "measure"),
        url("members", plan.pk): ("page", "members"),
        url("member_edit", plan.pk, member_of(plan, reader).pk): ("edit", "member"),
        url("consent", plan.pk): ("page", "consent"),
        url("access_log", plan.pk): ("page", "access_log"),
    }


def test_every_read_of_a_plan_page_writes_exactly_one_entry(plan, coordinator, reader):
    client = client_for(coordinator)
    for address, (via, detail) in _reading_pages(plan, reader).items():
        before = log_count(plan)
        assert client.get(address).status_code == 200, address
        assert log_count(plan) == before + 1, address
        entry = AccessLog.objects.filter(plan=plan).order_by("-pk").first()
        assert (entry.user, entry.via, entry.detail) == (coordinator, via, detail), address


def test_each_persona_reading_the_plan_page_is_logged_once(
    plan, specialist, commenter, reader, person_user
):
    for user in (specialist, commenter, reader, person_user):
        before = log_count(plan)
        client_for(user).get(url("detail", plan.pk))
        assert list(
            AccessLog.objects.filter(plan=plan).order_by("pk").values_list("user", flat=True)
        )[before:] == [user.pk]


def test_a_successful_save_is_a_write_not_a_read(plan, coordinator):
    client = client_for(coordinator)
    address = url("goal_edit", plan.pk, the_goal(plan).pk)
    data = form_data(client.get(address))
    data["status"] = "achieved"
    before = log_count(plan)
    assert client.post(address, data).status_code == 302
    assert log_count(plan) == before


def test_a_form_shown_again_with_errors_is_one_read(plan, coordinator):
    client = client_for(coordinator)
    address = url("goal_edit", plan.pk, the_goal(plan).pk)
    data = form_data(client.get(address))
    data["evaluation_date"] = days(999).isoformat()
    before = log_count(plan)
    assert client.post(address, data).status_code == 200
    assert log_count(plan) == before + 1


def test_the_dashboard_and_the_plan_list_are_not_plan_reads(plan, coordinator):
    client = client_for(coordinator)
    before = log_count(plan)
    client.get(url("list"))
    assert log_count(plan) == before


# --------------------------------------------------------------- who has read my plan


def test_the_person_sees_who_has_read_his_plan_newest_first(plan, person_user, specialist, reader):
    client_for(specialist).get(url("detail", plan.pk))
    client_for(reader).get(url("detail", plan.pk))
    response = client_for(person_user).get(url("access_log", plan.pk))
    assert response.status_code == 200
    rows = response.context["rows"]
    # Per's own visit to this page is the newest entry.
    assert [r["entry"].user.username for r in rows[:3]] == ["per", "frida", "siv"]
    page = response.content.decode()
    assert "Frida Fastlege" in page and "Sentrum legekontor" in page and "Siv Spesialist" in page
    assert "DPS Rus og avhengighet" in page
    assert str(AccessLog.Via.PAGE.label) in page


def test_the_access_log_page_is_paginated(plan, person_user, specialist):
    for _ in range(60):
        services.record_access(user=specialist, plan=plan, via=AccessLog.Via.API)
    client = client_for(person_user)
    first = client.get(url("access_log", plan.pk))
    assert len(first.context["rows"]) == 50
    assert first.context["page"].has_next()
    second = client.get(url("access_log", plan.pk), {"side": 2})
    assert len(second.context["rows"]) > 0
    # Older entries on the next page (the second visit itself shifted the pages by one).
    assert second.context["rows"][0]["entry"].pk <= first.context["rows"][-1]["entry"].pk


@pytest.mark.parametrize("persona", ["specialist", "commenter", "reader"])
def test_members_other_than_the_coordinator_cannot_see_the_access_log(persona, plan, request):
    user = request.getfixturevalue(persona)
    before = log_count(plan)
    assert client_for(user).get(url("access_log", plan.pk)).status_code == 403
    assert log_count(plan) == before


def test_the_plan_page_links_to_the_access_log_for_the_person_only_among_members(
    plan, person_user, specialist
):
    address = url("access_log", plan.pk)
    assert address in client_for(person_user).get(url("detail", plan.pk)).content.decode()
    assert address not in client_for(specialist).get(url("detail", plan.pk)).content.decode()
