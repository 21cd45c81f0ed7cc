"""Meetings over the API: read by members, run by the coordinator through the meeting
services."""

from __future__ import annotations

import datetime

from django.utils import timezone

from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from tests.api.conftest import url

WHEN = (timezone.now() + datetime.timedelta(days=7)).replace(microsecond=0)


def _schedule(client, plan, **extra):
    return client.post(
        url("meeting-list", plan_pk=plan.pk),
        {"scheduled_at": WHEN.isoformat(), "place": "Rådhuset", **extra},
        format="json",
    )


def test_the_coordinator_runs_a_meeting(as_user, plan, coordinator, reader, goal):
    client = as_user(coordinator)
    themes = list(plan.themes.order_by("position").values_list("pk", flat=True))[:2]
    created = _schedule(client, plan, agenda=themes)
    assert created.status_code == 201, created.json()
    meeting = created.json()
    assert [item["theme"] for item in meeting["items"]] == themes
    assert meeting["status"] == "planned"
    detail = created["Location"]

    started = client.post(detail + "start/")
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    assert started.json()["start_revision"] == plan.revision
    second = started.json()["items"][1]["id"]
    moved = client.post(detail + "goto/", {"item": second}, format="json")
    assert moved.json()["current_item"] == second
    decided = client.post(detail + "decision/", {"item": second, "text": "Søke NAV"}, format="json")
    assert decided.json()["items"][1]["decision"] == "Søke NAV"
    closed = client.post(detail + "close/", {}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    # Members read it, with its agenda and who was there.
    read = as_user(reader).get(detail).json()
    assert read["attendees"][0]["user"]["name"] == "Kari Koordinator"


def test_a_member_cannot_schedule_meetings(as_user, plan, specialist):
    assert _schedule(as_user(specialist), plan).status_code == 403
    assert not Meeting.objects.filter(plan=plan).exists()


def test_a_decision_must_name_an_item_of_this_meeting(as_user, plan, other_plan, coordinator):
    client = as_user(coordinator)
    mine = _schedule(client, plan).json()
    foreign = _schedule(client, other_plan).json()
    response = client.post(
        url("meeting-decision", plan_pk=plan.pk, pk=mine["id"]),
        {"item": foreign["items"][0]["id"], "text": "Hijack"},
        format="json",
    )
    assert response.status_code == 400 and "item" in response.json()["errors"]
    assert AgendaItem.objects.get(pk=foreign["items"][0]["id"]).decision == ""


def test_attendees_without_an_account_are_added_and_removed(as_user, plan, coordinator):
    client = as_user(coordinator)
    meeting = _schedule(client, plan).json()
    added = client.post(
        url("meeting-attendees", plan_pk=plan.pk, pk=meeting["id"]),
        {"name": "Mor til Per", "role": "Pårørende"},
        format="json",
    )
    assert added.status_code == 201 and added.json()["name"] == "Mor til Per"
    removed = client.delete(
        url(
            "meeting-attendee-remove",
            plan_pk=plan.pk,
            pk=meeting["id"],
            attendee_pk=added.json()["id"],
        )
    )
    assert removed.status_code == 204
    assert not Attendee.objects.filter(meeting_id=meeting["id"]).exists()


def test_meetings_of_another_plan_are_not_found(as_user, plan, other_plan, coordinator):
    client = as_user(coordinator)
    foreign = _schedule(client, other_plan).json()
    assert client.get(url("meeting-detail", plan_pk=plan.pk, pk=foreign["id"])).status_code == 404
    assert client.post(url("meeting-start", plan_pk=plan.pk, pk=foreign["id"])).status_code == 404
