"""The record page: who may read it, that reading is logged once, and 'I have read this'."""

import pytest
from django.urls import reverse

from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import AgendaItem, Meeting
from ipplan.plans.models import AccessLog, Plan
from ipplan.records.models import MeetingRecord, RecordAcknowledgement

from .conftest import apply, client_for, close_meeting, log_entries, start_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(plan, coordinator, specialist, goal):
    meeting = start_meeting(plan, coordinator)
    meeting_services.attendee_join(meeting_id=meeting.pk, user=specialist)
    apply(
        plan,
        specialist,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting=meeting,
    )
    return close_meeting(meeting, coordinator)


def test_members_read_the_record_and_each_read_is_logged_once(record, plan, reader):
    before = AccessLog.objects.filter(plan=plan).count()
    response = client_for(reader).get(reverse("records:record", args=[record.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Egen leilighet" in body and "Nådd" in body and "Siv Spesialist" in body
    assert AccessLog.objects.filter(plan=plan).count() == before + 1
    assert log_entries(plan, via=AccessLog.Via.RECORD) == [("frida", "record")]


@pytest.mark.parametrize("who", ["outsider", "leader", None])
def test_it_refuses_the_record_to_outsiders_without_a_hint(record, plan, request, who):
    user = request.getfixturevalue(who) if who else None
    client = client_for(user)
    response = client.get(reverse("records:record", args=[record.pk]))
    assert response.status_code == (302 if user is None else 404)
    assert client.post(reverse("records:acknowledge", args=[record.pk])).status_code == (
        302 if user is None else 404
    )
    assert client.get(reverse("records:record_pdf", args=[record.pk])).status_code == (
        302 if user is None else 404
    )
    assert not RecordAcknowledgement.objects.exists()
    assert not AccessLog.objects.filter(plan=plan, via__in=["record", "pdf"]).exists()


def test_an_attendee_is_asked_to_acknowledge_and_can_do_so_once(record, specialist):
    client = client_for(specialist)
    page = client.get(reverse("records:record", args=[record.pk])).content.decode()
    assert "Please read the record and confirm." in page
    dashboard = client.get(reverse("plans:dashboard")).content.decode()
    assert reverse("records:record", args=[record.pk]) in dashboard
    for _ in range(2):
        response = client.post(reverse("records:acknowledge", args=[record.pk]))
        assert response.status_code == 302
    assert list(RecordAcknowledgement.objects.values_list("user__username", flat=True)) == ["siv"]
    page = client.get(reverse("records:record", args=[record.pk])).content.decode()
    assert "You marked this record as read" in page
    dashboard = client.get(reverse("plans:dashboard")).content.decode()
    assert "Meeting records you have not marked as read" not in dashboard


def test_the_coordinator_sees_who_has_not_acknowledged(record, coordinator, specialist):
    dashboard = client_for(coordinator).get(reverse("plans:dashboard")).content.decode()
    assert "2 of 2 attendees have not read it" in dashboard
    client_for(specialist).post(reverse("records:acknowledge", args=[record.pk]))
    dashboard = client_for(coordinator).get(reverse("plans:dashboard")).content.decode()
    assert "1 of 2 attendees have not read it" in dashboard
    client_for(coordinator).post(reverse("records:acknowledge", args=[record.pk]))
    dashboard = client_for(coordinator).get(reverse("plans:dashboard")).content.decode()
    assert "Closed meetings not yet acknowledged by everyone" not in dashboard


def test_closing_a_meeting_freezes_its_record(plan, coordinator, reader, goal):
    meeting = start_meeting(plan, coordinator)
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting=meeting,
    )
    meeting_services.meeting_close(meeting_id=meeting.pk, user=coordinator)
    record = MeetingRecord.objects.get(meeting=meeting)
    assert record.content["counts"] == {"operations": 1, "entries": 1}
    response = client_for(reader).get(reverse("records:meeting_record", args=[meeting.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("records:record", args=[record.pk])


def test_a_meeting_closed_before_records_existed_gets_its_record_on_first_visit(
    plan, coordinator, reader
):
    meeting = start_meeting(plan, coordinator)
    # As if closed by an older version: no record was made then.
    Meeting.objects.filter(pk=meeting.pk).update(
        status=Meeting.Status.CLOSED, end_revision=Plan.objects.get(pk=plan.pk).revision
    )
    response = client_for(reader).get(reverse("records:meeting_record", args=[meeting.pk]))
    record = MeetingRecord.objects.get(meeting=meeting)
    assert response["Location"] == reverse("records:record", args=[record.pk])


def test_corrections_after_close_are_shown_beside_the_frozen_record(record, plan, coordinator):
    meeting = record.meeting
    meeting_services.attendee_add(
        meeting_id=meeting.pk, user=coordinator, name="Mor", role="Pårørende"
    )
    item = AgendaItem.objects.get(meeting=meeting, theme__title="Bolig")
    meeting_services.agenda_decision_set(
        item_id=item.pk, user=coordinator, text="Vedtatt i etterkant."
    )
    page = client_for(coordinator).get(reverse("records:record", args=[record.pk])).content.decode()
    assert "Corrected after the meeting was closed" in page
    assert "Mor" in page and "Vedtatt i etterkant." in page
    assert MeetingRecord.objects.get(pk=record.pk).content == record.content


def test_a_meeting_in_progress_has_no_record_yet(plan, coordinator):
    meeting = start_meeting(plan, coordinator)
    response = client_for(coordinator).get(reverse("records:meeting_record", args=[meeting.pk]))
    assert response.status_code == 302
    assert not MeetingRecord.objects.exists()


def test_the_plan_page_links_to_history_records_and_comments(record, plan, reader):
    page = client_for(reader).get(reverse("plans:detail", args=[plan.pk])).content.decode()
    for name, args in [
        ("records:history", [plan.pk]),
        ("records:comments", [plan.pk]),
        ("records:plan_pdf", [plan.pk]),
        ("records:record", [record.pk]),
    ]:
        assert reverse(name, args=args) in page
    section = page[page.index('class="card records-links"') :]
    section = section[: section.index("</section>")]
    # The review button posts with the CSRF token, and the plan page read is logged once.
    assert (
        'name="csrfmiddlewaretoken"' in section
        and reverse("records:review", args=[plan.pk]) in section
    )
    assert AccessLog.objects.filter(plan=plan, user=reader).count() == 1
