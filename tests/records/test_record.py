"""The meeting record is built from the change log: exactly what changed, by whom,
folded to one entry per field per person, and frozen at close."""

import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import AgendaItem, Meeting
from ipplan.plans.models import Goal, Member, Theme
from ipplan.records.builder import build_meeting_record
from ipplan.records.models import MeetingRecord
from ipplan.records.services import record_create_for_meeting

from .conftest import apply, close_meeting, start_meeting, type_text

pytestmark = pytest.mark.django_db


def without_times(entries):
    return [{k: v for k, v in e.items() if k not in {"at", "revision"}} for e in entries]


def section(content, title):
    return next(s for s in content["sections"] if s["title"] == title)


def test_a_meeting_with_known_changes_produces_exactly_the_expected_record(
    plan, coordinator, specialist, commenter, goal, measure, in_days
):
    siv = Member.objects.get(plan=plan, user=specialist)
    bolig = Theme.objects.get(plan=plan, title="Bolig")
    okonomi = Theme.objects.get(plan=plan, title="Økonomi")
    meeting = start_meeting(plan, coordinator)
    meeting_services.attendee_join(meeting_id=meeting.pk, user=specialist)
    meeting_services.attendee_add(
        meeting_id=meeting.pk, user=coordinator, name="Mor", role="Pårørende"
    )

    type_text(plan, coordinator, "goal", goal.pk, "text", " i sentrum", meeting=meeting)
    apply(
        plan,
        commenter,
        {"type": "set", "target": "measure", "id": measure.pk, "field": "status", "value": "done"},
        meeting=meeting,
    )
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "measure",
            "id": measure.pk,
            "field": "responsible",
            "value": siv.pk,
        },
        meeting=meeting,
    )
    apply(
        plan,
        specialist,
        {
            "type": "set",
            "target": "measure",
            "id": measure.pk,
            "field": "due_date",
            "value": in_days(20),
        },
        meeting=meeting,
    )
    created = apply(
        plan,
        coordinator,
        {
            "type": "create",
            "target": "goal",
            "values": {
                "theme": okonomi.pk,
                "level": "main",
                "text": "Betale",
                "success_criterion": "Ingen restanse",
                "evaluation_date": in_days(40),
            },
        },
        meeting=meeting,
    )
    new_goal = created.result["id"]
    type_text(plan, specialist, "goal", new_goal, "text", " husleien selv", meeting=meeting)
    item = AgendaItem.objects.get(meeting=meeting, theme=bolig)
    meeting_services.agenda_decision_set(
        item_id=item.pk, user=coordinator, text="Per søker kommunal bolig nå."
    )
    next_at = timezone.now() + datetime.timedelta(days=42)
    record = close_meeting(meeting, coordinator, next_meeting_at=next_at)
    content = record.content

    assert content["plan"] == {
        "id": plan.pk,
        "person": "Per Person",
        "coordinator": "Kari Koordinator",
    }
    assert content["meeting"]["place"] == "Mestringsenheten, møterom 2"
    assert content["meeting"]["next_meeting_at"] == next_at.isoformat()
    assert [a["name"] for a in content["attendees"]] == [
        "Kari Koordinator",
        "Siv Spesialist",
        "Mor",
    ]
    assert [s["title"] for s in content["sections"]] == [
        "Bolig",
        "Meningsfull aktivitet",
        "Økonomi",
        "Fysisk helse",
        "Psykisk helse",
        "Rusmiddelbruk",
        "Sosial fungering og nettverk",
    ]
    housing = section(content, "Bolig")
    assert housing["decision"] == "Per søker kommunal bolig nå."
    assert without_times(housing["entries"]) == [
        {
            "kind": "field",
            "target": "goal",
            "id": goal.pk,
            "target_label": "Hovedmål",
            "label": "Egen leilighet i sentrum",
            "user": "Kari Koordinator",
            "count": 10,
            "outside_meeting": False,
            "field": "text",
            "field_label": "Mål",
            "is_text": True,
            "before": "Egen leilighet",
            "after": "Egen leilighet i sentrum",
            "diff": [["eq", "Egen leilighet"], ["ins", " i sentrum"]],
            "event": "",
        },
        {
            "kind": "field",
            "target": "measure",
            "id": measure.pk,
            "target_label": "Measure",
            "label": "Søke kommunal bolig",
            "user": "Nils NAV",
            "count": 1,
            "outside_meeting": False,
            "field": "status",
            "field_label": "Status",
            "is_text": False,
            "before": "Pågår",
            "after": "Fullført",
            "diff": None,
            "event": "completed",
        },
        {
            "kind": "field",
            "target": "measure",
            "id": measure.pk,
            "target_label": "Measure",
            "label": "Søke kommunal bolig",
            "user": "Kari Koordinator",
            "count": 1,
            "outside_meeting": False,
            "field": "responsible",
            "field_label": "Ansvarlig",
            "is_text": False,
            "before": "Nils NAV (NAV Sentrum)",
            "after": "Siv Spesialist (DPS Rus og avhengighet)",
            "diff": None,
            "event": "reassigned",
        },
        {
            "kind": "field",
            "target": "measure",
            "id": measure.pk,
            "target_label": "Measure",
            "label": "Søke kommunal bolig",
            "user": "Siv Spesialist",
            "count": 1,
            "outside_meeting": False,
            "field": "due_date",
            "field_label": "Frist",
            "is_text": False,
            "before": (datetime.date.today() + datetime.timedelta(days=30)).strftime("%d.%m.%Y"),
            "after": (datetime.date.today() + datetime.timedelta(days=20)).strftime("%d.%m.%Y"),
            "diff": None,
            "event": "redated",
        },
    ]
    economy = section(content, "Økonomi")
    assert economy["decision"] == ""
    # Created in the meeting: one entry with the values at the end, the later typist named.
    assert without_times(economy["entries"]) == [
        {
            "kind": "created",
            "target": "goal",
            "id": new_goal,
            "target_label": "Hovedmål",
            "label": "Betale husleien selv",
            "user": "Kari Koordinator",
            "count": 1,
            "outside_meeting": False,
            "values": [
                ["Nivå", "Hovedmål"],
                ["Mål", "Betale husleien selv"],
                ["Suksesskriterium (hvordan vet vi at målet er nådd)", "Ingen restanse"],
                [
                    "Evalueringsdato",
                    (datetime.date.today() + datetime.timedelta(days=40)).strftime("%d.%m.%Y"),
                ],
                ["Status", "Ikke startet"],
            ],
            "removed_again": False,
            "editors": ["Siv Spesialist"],
        }
    ]
    assert all(
        s["entries"] == [] for s in content["sections"] if s["title"] not in {"Bolig", "Økonomi"}
    )
    assert content["counts"] == {"operations": 10 + 3 + 1 + 14, "entries": 5}
    assert content["people"] == [
        {"name": "Siv Spesialist", "changes": 15},
        {"name": "Kari Koordinator", "changes": 12},
        {"name": "Nils NAV", "changes": 1},
    ]


def test_keystrokes_fold_into_one_entry_per_field_per_person(plan, coordinator, specialist, goal):
    meeting = start_meeting(plan, coordinator)
    type_text(
        plan, coordinator, "goal", goal.pk, "success_criterion", " og nøkler", meeting=meeting
    )
    type_text(plan, specialist, "goal", goal.pk, "success_criterion", " i hånden", meeting=meeting)
    type_text(plan, coordinator, "goal", goal.pk, "success_criterion", "!", meeting=meeting)
    content = close_meeting(meeting, coordinator).content
    entries = section(content, "Bolig")["entries"]
    assert [(e["user"], e["count"], e["before"], e["after"]) for e in entries] == [
        # Each entry spans that person's first to last keystroke on the field.
        (
            "Kari Koordinator",
            11,
            "Har signert leiekontrakt",
            "Har signert leiekontrakt og nøkler i hånden!",
        ),
        (
            "Siv Spesialist",
            9,
            "Har signert leiekontrakt og nøkler",
            "Har signert leiekontrakt og nøkler i hånden",
        ),
    ]


def test_edits_that_end_where_they_started_and_reorders_are_left_out(plan, coordinator, goal):
    meeting = start_meeting(plan, coordinator)
    type_text(plan, coordinator, "goal", goal.pk, "text", "x", meeting=meeting)
    length = len(Goal.objects.get(pk=goal.pk).text)
    apply(
        plan,
        coordinator,
        {"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": [length - 1, -1]},
        meeting=meeting,
    )
    theme = Theme.objects.get(plan=plan, title="Rusmiddelbruk")
    apply(
        plan,
        coordinator,
        {"type": "move", "target": "theme", "id": theme.pk, "position": 0},
        meeting=meeting,
    )
    content = close_meeting(meeting, coordinator).content
    assert content["counts"] == {"operations": 3, "entries": 0}


def test_deleted_and_restored_goals_show_in_the_record(plan, coordinator, goal):
    meeting = start_meeting(plan, coordinator)
    apply(plan, coordinator, {"type": "delete", "target": "goal", "id": goal.pk}, meeting=meeting)
    apply(plan, coordinator, {"type": "restore", "target": "goal", "id": goal.pk}, meeting=meeting)
    content = close_meeting(meeting, coordinator).content
    kinds = [(e["kind"], e["label"]) for e in section(content, "Bolig")["entries"]]
    assert kinds == [("deleted", "Egen leilighet"), ("restored", "Egen leilighet")]


def test_changes_outside_the_meeting_room_are_included_and_marked(
    plan, coordinator, specialist, goal
):
    meeting = start_meeting(plan, coordinator)
    apply(
        plan,
        specialist,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
    )
    content = close_meeting(meeting, coordinator).content
    (entry,) = section(content, "Bolig")["entries"]
    assert (entry["event"], entry["outside_meeting"]) == ("achieved", True)


def test_the_record_never_changes_after_close(plan, coordinator, goal):
    meeting = start_meeting(plan, coordinator)
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting=meeting,
    )
    record = close_meeting(meeting, coordinator)
    frozen = MeetingRecord.objects.get(pk=record.pk).content

    # A correction is a new change to the plan, after the meeting ...
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "in_progress"},
    )
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "text", "value": "Annen tekst"},
    )
    assert MeetingRecord.objects.get(pk=record.pk).content == frozen
    assert record_create_for_meeting(meeting=Meeting.objects.get(pk=meeting.pk)).pk == record.pk

    # ... and the record cannot be edited or deleted, not even with SQL.
    record.content = {"forged": True}
    with pytest.raises(ValueError):
        record.save()
    with pytest.raises(ValueError):
        record.delete()
    for sql in (
        "UPDATE records_meetingrecord SET content = '{}' WHERE id = %s",
        "DELETE FROM records_meetingrecord WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [record.pk])
    assert MeetingRecord.objects.get(pk=record.pk).content == frozen


def test_a_correction_after_close_shows_up_in_the_next_record(plan, coordinator, goal):
    first = start_meeting(plan, coordinator)
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting=first,
    )
    first_record = close_meeting(first, coordinator)
    assert first_record.content["between"] is None  # no earlier meeting to compare with
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "in_progress"},
    )
    second = start_meeting(plan, coordinator)
    content = close_meeting(second, coordinator).content
    assert content["counts"]["operations"] == 0
    between = content["between"]
    assert between["operations"] == 1
    (housing,) = between["sections"]
    assert [
        (e["before"], e["after"], e["user"], e["outside_meeting"]) for e in housing["entries"]
    ] == [("Nådd", "Pågår", "Kari Koordinator", False)]


def test_building_is_deterministic_over_the_log(plan, coordinator, goal):
    meeting = start_meeting(plan, coordinator)
    type_text(plan, coordinator, "goal", goal.pk, "text", " nå", meeting=meeting)
    record = close_meeting(meeting, coordinator)
    rebuilt = build_meeting_record(Meeting.objects.get(pk=meeting.pk))
    assert {k: v for k, v in rebuilt.items() if k != "built_at"} == {
        k: v for k, v in record.content.items() if k != "built_at"
    }


def test_only_a_closed_meeting_gets_a_record(plan, coordinator):
    meeting = start_meeting(plan, coordinator)
    with pytest.raises(Exception, match="not closed"):
        record_create_for_meeting(meeting=meeting)


def test_treatment_courses_have_their_own_section(plan, coordinator, in_days):
    meeting = start_meeting(plan, coordinator)
    created = apply(
        plan,
        coordinator,
        {
            "type": "create",
            "target": "course",
            "values": {
                "kind": "tsb_inpatient",
                "provider": "Rusbehandling Vest",
                "status": "referred",
                "referral_date": in_days(0),
            },
        },
        meeting=meeting,
    )
    course = created.result["id"]
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "course",
            "id": course,
            "field": "start_date",
            "value": in_days(0),
        },
        meeting=meeting,
    )
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "course", "id": course, "field": "status", "value": "ongoing"},
        meeting=meeting,
    )
    content = close_meeting(meeting, coordinator).content
    (courses,) = [s for s in content["sections"] if s["key"] == "other:course"]
    (entry,) = courses["entries"]
    assert (entry["kind"], courses["title"]) == ("created", "Behandlingsløp")
    assert ["Status", "Pågår"] in entry["values"] and "Rusbehandling Vest" in entry["label"]
