"""'Min plan': the person sees their own plan in plain language, and only theirs."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ipplan.meetings import services as meeting_services
from ipplan.plans.models import AccessLog, Plan

from .conftest import client_for, log_entries

pytestmark = pytest.mark.django_db


def test_the_person_sees_their_goals_services_coordinator_and_next_meeting(
    plan, person_user, coordinator
):
    coordinator.phone = "51 00 00 00"
    coordinator.email = "kari@example.org"
    coordinator.save()
    when = timezone.now() + datetime.timedelta(days=10)
    meeting_services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=when, place="Rådhuset"
    )
    response = client_for(person_user).get(reverse("records:my_plan"))
    assert response.status_code == 200
    body = response.content.decode()
    for text in [
        "Egen leilighet",
        "Har signert leiekontrakt",
        "Søke kommunal bolig",
        "NAV Sentrum",
        "Kari Koordinator",
        'href="tel:51000000"',
        "mailto:kari@example.org",
        "Rådhuset",
        reverse("plans:access_log", args=[plan.pk]),
        reverse("records:plan_pdf", args=[plan.pk]),
    ]:
        assert text in body, text
    # Goals come before the services.
    assert body.index("Egen leilighet") < body.index("Søke kommunal bolig")
    assert 'name="body"' in body  # the person may comment
    assert log_entries(plan) == [("per", AccessLog.Via.PERSON_VIEW)]


def test_someone_without_an_own_plan_gets_404(plan, coordinator, specialist, outsider):
    for user in (coordinator, specialist, outsider):
        assert client_for(user).get(reverse("records:my_plan")).status_code == 404
    assert not AccessLog.objects.exists()


def test_a_closed_plan_is_not_shown_as_the_open_plan(plan, person_user):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.CLOSED)
    assert client_for(person_user).get(reverse("records:my_plan")).status_code == 404


def test_the_person_sees_only_their_own_plan(plan, other_plan, person_user):
    client = client_for(person_user)
    for url in [
        reverse("records:history", args=[other_plan.pk]),
        reverse("records:comments", args=[other_plan.pk]),
        reverse("records:plan_pdf", args=[other_plan.pk]),
    ]:
        assert client.get(url).status_code == 404
    assert not AccessLog.objects.filter(plan=other_plan).exists()


def test_it_needs_a_login(client):
    response = client.get(reverse("records:my_plan"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
