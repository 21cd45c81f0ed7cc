"""Meeting records and comment threads over the API."""

from __future__ import annotations

from django.utils import timezone

from ipplan.meetings import services as meeting_services
from ipplan.records.models import Comment, RecordAcknowledgement
from tests.api.conftest import url


def _held_meeting(plan, coordinator):
    meeting = meeting_services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now()
    )
    meeting_services.meeting_start(meeting_id=meeting.pk, user=coordinator)
    meeting_services.meeting_close(meeting_id=meeting.pk, user=coordinator)
    return meeting


def test_a_reader_reads_and_acknowledges_the_record(as_user, plan, coordinator, reader):
    meeting = _held_meeting(plan, coordinator)
    client = as_user(reader)
    records = client.get(url("record-list", plan_pk=plan.pk)).json()["results"]
    assert [r["meeting"] for r in records] == [meeting.pk]
    record = records[0]
    assert record["digest"] and isinstance(record["content"], dict)
    response = client.post(url("record-acknowledge", plan_pk=plan.pk, pk=record["id"]))
    assert response.status_code == 200
    assert [a["user"]["name"] for a in response.json()["acknowledgements"]] == ["Frida Fastlege"]
    assert RecordAcknowledgement.objects.filter(record_id=record["id"], user=reader).count() == 1


def test_a_comment_thread_is_started_answered_and_resolved(
    as_user, plan, goal, commenter, specialist
):
    started = as_user(commenter).post(
        url("comment-list", plan_pk=plan.pk),
        {"target_type": "goal", "target_id": goal.pk, "body": "Er fristen realistisk?"},
        format="json",
    )
    assert started.status_code == 201, started.json()
    thread = started.json()["id"]
    reply = as_user(specialist).post(
        url("comment-reply", plan_pk=plan.pk, pk=thread),
        {"body": "Ja, med NAV sin hjelp."},
        format="json",
    )
    assert reply.status_code == 201 and reply.json()["parent"] == thread
    resolved = as_user(commenter).post(url("comment-resolve", plan_pk=plan.pk, pk=thread))
    assert resolved.status_code == 200 and resolved.json()["is_resolved"] is True
    listed = as_user(commenter).get(url("comment-list", plan_pk=plan.pk), {"thread": thread}).json()
    assert [c["body"] for c in listed["results"]] == [
        "Er fristen realistisk?",
        "Ja, med NAV sin hjelp.",
    ]


def test_a_reader_cannot_comment(as_user, plan, goal, reader):
    response = as_user(reader).post(
        url("comment-list", plan_pk=plan.pk),
        {"target_type": "goal", "target_id": goal.pk, "body": "Hei"},
        format="json",
    )
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_a_comment_cannot_point_into_another_plan(as_user, plan, other_plan, coordinator):
    foreign_theme = other_plan.themes.first()
    response = as_user(coordinator).post(
        url("comment-list", plan_pk=plan.pk),
        {"target_type": "theme", "target_id": foreign_theme.pk, "body": "Hei"},
        format="json",
    )
    assert response.status_code == 404
    assert not Comment.objects.exists()
