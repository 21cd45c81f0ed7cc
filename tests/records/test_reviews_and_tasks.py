"""'I have reviewed revision N', the dashboard's 'changed since your last review',
'My tasks' and the consent reminder."""

import datetime

import pytest
from django.urls import reverse

from ipplan.plans import services as plan_services
from ipplan.plans.models import AccessLog, Consent, Plan
from ipplan.records.models import Review
from ipplan.records.queries import changed_since_review

from .conftest import apply, client_for, log_entries

pytestmark = pytest.mark.django_db


def test_a_member_marks_a_revision_as_reviewed(plan, reader):
    revision = Plan.objects.get(pk=plan.pk).revision
    client = client_for(reader)
    response = client.post(reverse("records:review", args=[plan.pk]), {"revision": revision})
    assert response.status_code == 302
    assert list(Review.objects.values_list("user__username", "revision")) == [("frida", revision)]
    for bad in (revision + 1, 0, "x"):
        client.post(reverse("records:review", args=[plan.pk]), {"revision": bad})
    assert Review.objects.count() == 1


def test_outsiders_cannot_review(plan, outsider):
    response = client_for(outsider).post(reverse("records:review", args=[plan.pk]), {"revision": 1})
    assert response.status_code == 404
    assert not Review.objects.exists()


def test_the_dashboard_shows_plans_others_changed_since_my_review(
    plan, reader, specialist, coordinator, goal
):
    client_for(reader).post(
        reverse("records:review", args=[plan.pk]),
        {"revision": Plan.objects.get(pk=plan.pk).revision},
    )
    assert changed_since_review(reader) == []
    apply(
        plan,
        specialist,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
    )
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "value": "Egen leilighet nå",
        },
    )
    (row,) = changed_since_review(reader)
    assert (row.plan.pk, row.changes, row.people) == (
        plan.pk,
        2,
        ["Kari Koordinator", "Siv Spesialist"],
    )
    dashboard = client_for(reader).get(reverse("plans:dashboard")).content.decode()
    diff_url = reverse("records:diff", args=[plan.pk]) + f"?fra={row.since}&amp;til={row.since + 2}"
    assert diff_url in dashboard
    # The diff page itself offers the review, and afterwards the plan is off the list.
    page = client_for(reader).get(
        reverse("records:diff", args=[plan.pk]) + f"?fra={row.since}&til={row.since + 2}"
    )
    assert "I have reviewed revision" in page.content.decode()
    client_for(reader).post(reverse("records:review", args=[plan.pk]), {"revision": row.since + 2})
    assert changed_since_review(reader) == []


def test_my_own_changes_do_not_ask_me_to_review(plan, specialist, goal):
    client_for(specialist).post(
        reverse("records:review", args=[plan.pk]),
        {"revision": Plan.objects.get(pk=plan.pk).revision},
    )
    apply(
        plan,
        specialist,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
    )
    assert changed_since_review(specialist) == []


def test_my_tasks_lists_the_measures_i_am_responsible_for(
    plan, commenter, reader, coordinator, measure, in_days
):
    theme = measure.theme
    nils = plan.members.get(user=commenter)
    apply(
        plan,
        coordinator,
        {
            "type": "create",
            "target": "measure",
            "values": {
                "theme": theme.pk,
                "description": "Avklare arbeidsevne",
                "responsible": nils.pk,
                "due_date": in_days(5),
            },
        },
    )
    apply(
        plan,
        coordinator,
        {
            "type": "create",
            "target": "measure",
            "values": {
                "theme": theme.pk,
                "description": "Ferdig tiltak",
                "responsible": nils.pk,
                "status": "done",
            },
        },
    )
    response = client_for(commenter).get(reverse("records:my_tasks"))
    body = response.content.decode()
    assert body.index("Avklare arbeidsevne") < body.index("Søke kommunal bolig")  # soonest first
    assert "Ferdig tiltak" not in body
    assert log_entries(plan, via=AccessLog.Via.PAGE) == [("nils", "page")]
    assert (
        "Søke kommunal bolig"
        not in client_for(reader).get(reverse("records:my_tasks")).content.decode()
    )
    dashboard = client_for(commenter).get(reverse("plans:dashboard")).content.decode()
    assert "You are responsible for 2 open measures." in dashboard


def test_the_coordinator_is_reminded_of_consent_that_expires_soon(plan, coordinator):
    plan_services.consent_record(
        plan_id=plan.pk,
        user=coordinator,
        kind=Consent.Kind.PLAN,
        given_on=datetime.date.today(),
        expires_on=datetime.date.today() + datetime.timedelta(days=20),
    )
    dashboard = client_for(coordinator).get(reverse("plans:dashboard")).content.decode()
    assert "Consent that expires within 30 days" in dashboard
    assert (datetime.date.today() + datetime.timedelta(days=20)).strftime("%d.%m.%Y") in dashboard
