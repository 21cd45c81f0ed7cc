"""The meeting pages through HTTP: scheduling, the detail page, the room's shell, the
coordinator's start / move / close controls, attendees and decisions, and the meeting
lists on the plan page and the dashboard."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipplan.meetings import services
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans.models import AccessLog, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def when(days: int = 1, hour: int = 10) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


@pytest.fixture
def meeting(plan, coordinator) -> Meeting:
    return services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=when(), place="Møterom 2"
    )


@pytest.fixture
def started(meeting, coordinator) -> Meeting:
    return services.meeting_start(meeting_id=meeting.pk, user=coordinator)


def themes(plan) -> list[Theme]:
    return list(Theme.objects.alive().filter(plan=plan).order_by("position", "pk"))


def schedule_data(plan, picked: dict[int, int], **extra) -> dict[str, str]:
    data = {"scheduled_at": when().strftime("%Y-%m-%dT%H:%M"), "place": "Rådhuset"}
    for theme in themes(plan):
        data[f"order_{theme.pk}"] = str(picked.get(theme.pk, 99))
        if theme.pk in picked:
            data[f"theme_{theme.pk}"] = "on"
    data.update(extra)
    return data


# --------------------------------------------------------------------------- schedule


def test_the_coordinator_schedules_a_meeting_with_an_ordered_agenda(plan, coordinator):
    first, second, third = themes(plan)[:3]
    data = schedule_data(plan, {third.pk: 1, first.pk: 2})
    response = client_for(coordinator).post(reverse("meetings:create", args=[plan.pk]), data)
    meeting = Meeting.objects.get(plan=plan)
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk])
    assert meeting.place == "Rådhuset"
    assert meeting.status == Meeting.Status.PLANNED
    agenda = list(AgendaItem.objects.filter(meeting=meeting).order_by("position"))
    assert [item.theme_id for item in agenda] == [third.pk, first.pk]
    assert second.pk not in [item.theme_id for item in agenda]


def test_the_schedule_form_offers_every_theme_ticked_by_default(plan, coordinator):
    response = client_for(coordinator).get(reverse("meetings:create", args=[plan.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for theme in themes(plan):
        assert f'name="theme_{theme.pk}"' in html
    assert html.count("checked") >= len(themes(plan))


def test_an_empty_agenda_is_refused_with_a_clear_message(plan, coordinator):
    data = schedule_data(plan, {})
    response = client_for(coordinator).post(reverse("meetings:create", args=[plan.pk]), data)
    assert response.status_code == 200
    assert "Choose at least one theme for the agenda." in response.content.decode()
    assert not Meeting.objects.filter(plan=plan).exists()


def test_a_meeting_without_a_time_is_refused_and_keeps_what_was_typed(plan, coordinator):
    data = schedule_data(plan, {themes(plan)[0].pk: 1}, scheduled_at="", place="Kontoret")
    response = client_for(coordinator).post(reverse("meetings:create", args=[plan.pk]), data)
    assert response.status_code == 200
    assert 'value="Kontoret"' in response.content.decode()
    assert not Meeting.objects.filter(plan=plan).exists()


def test_a_member_who_is_not_coordinator_cannot_schedule(plan, specialist):
    response = client_for(specialist).get(reverse("meetings:create", args=[plan.pk]))
    assert response.status_code == 403


def test_an_outsider_gets_404_for_scheduling(plan, outsider):
    response = client_for(outsider).get(reverse("meetings:create", args=[plan.pk]))
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(plan):
    response = Client().get(reverse("meetings:create", args=[plan.pk]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_coordinator_reorders_the_agenda_of_a_planned_meeting(meeting, coordinator):
    plan = meeting.plan
    first, second = themes(plan)[:2]
    data = schedule_data(plan, {second.pk: 1, first.pk: 2})
    response = client_for(coordinator).post(reverse("meetings:edit", args=[meeting.pk]), data)
    assert response.status_code == 302
    agenda = list(meeting.items.order_by("position").values_list("theme_id", flat=True))
    assert agenda == [second.pk, first.pk]


# ----------------------------------------------------------------------------- detail


def test_members_see_the_meeting_and_the_read_is_logged(meeting, reader):
    before = AccessLog.objects.filter(plan=meeting.plan, user=reader).count()
    response = client_for(reader).get(reverse("meetings:detail", args=[meeting.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Møterom 2" in html
    assert "Bolig" in html
    assert AccessLog.objects.filter(plan=meeting.plan, user=reader).count() == before + 1
    # A read-only member gets no coordinator controls.
    assert reverse("meetings:start", args=[meeting.pk]) not in html


def test_an_outsider_gets_the_same_404_for_a_meeting_as_for_none(meeting, outsider):
    client = client_for(outsider)
    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meetings:detail", args=[meeting.pk + 999])).status_code == 404
    assert client.get(reverse("meetings:room", args=[meeting.pk])).status_code == 404


def test_a_unit_leader_cannot_open_a_meeting(meeting, leader):
    assert client_for(leader).get(reverse("meetings:detail", args=[meeting.pk])).status_code == 404


# ------------------------------------------------------------------------------ room


def test_the_room_shell_carries_its_config_and_texts_as_data_not_script(started, specialist):
    response = client_for(specialist).get(reverse("meetings:room", args=[started.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    config = json.loads(
        re.search(r'id="room-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["plan"] == started.plan_id
    assert config["meeting"] == started.pk
    assert config["socket"] == f"/ws/plans/{started.plan_id}/?meeting={started.pk}"
    assert config["user"]["id"] == specialist.pk
    assert config["canManage"] is False
    strings = json.loads(
        re.search(r'id="room-strings" type="application/json">(.*?)</script>', html).group(1)
    )
    assert "%(n)s" in strings["offline_pending"]
    # CSP: no inline scripts or styles, only data blocks and our module.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or "src=" in tag, tag
    assert "style=" not in html
    assert "<style" not in html
    assert 'src="/static/js/meeting/room.js"' in html


def test_the_room_shows_the_current_theme_with_its_goals_and_measures(started, specialist):
    response = client_for(specialist).get(reverse("meetings:room", args=[started.pk]))
    html = response.content.decode()
    theme = started.current_item.theme
    assert theme.title == "Bolig"
    assert f'data-key="theme:{theme.pk}:current_situation"' in html
    assert "Egen leilighet" in html  # the seeded goal
    assert "Søke kommunal bolig" in html  # the seeded measure
    assert 'aria-current="step"' in html
    # Fields stay read-only until the live connection says what may be edited.
    assert re.search(r'<textarea[^>]*data-key="goal:\d+:text"[^>]*readonly', html)


def test_the_room_can_show_another_theme_by_link(started, specialist):
    other = themes(started.plan)[2]
    response = client_for(specialist).get(
        reverse("meetings:room", args=[started.pk]) + f"?tema={other.pk}"
    )
    html = response.content.decode()
    assert f'data-key="theme:{other.pk}:title"' in html
    config = json.loads(
        re.search(r'id="room-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["shownTheme"] == other.pk
    assert config["following"] is False


def test_the_coordinator_sees_the_controls_to_lead(started, coordinator):
    html = client_for(coordinator).get(reverse("meetings:room", args=[started.pk])).content.decode()
    assert 'id="goto-next"' in html
    assert reverse("meetings:close", args=[started.pk]) in html


def test_a_reader_sees_no_controls_to_lead(started, reader):
    html = client_for(reader).get(reverse("meetings:room", args=[started.pk])).content.decode()
    assert 'id="goto-next"' not in html
    assert reverse("meetings:close", args=[started.pk]) not in html


def test_the_room_of_a_closed_meeting_leads_to_its_record(started, coordinator):
    services.meeting_close(meeting_id=started.pk, user=coordinator)
    response = client_for(coordinator).get(reverse("meetings:room", args=[started.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[started.pk])


# -------------------------------------------------------------------------- controls


def test_the_coordinator_starts_the_meeting_and_enters_the_room(meeting, coordinator):
    response = client_for(coordinator).post(reverse("meetings:start", args=[meeting.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:room", args=[meeting.pk])
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.IN_PROGRESS
    assert meeting.current_item == meeting.items.order_by("position").first()
    assert Attendee.objects.filter(meeting=meeting, user=coordinator).exists()


def test_start_only_answers_post(meeting, coordinator):
    assert (
        client_for(coordinator).get(reverse("meetings:start", args=[meeting.pk])).status_code == 405
    )


def test_a_member_cannot_start_the_meeting(meeting, specialist):
    response = client_for(specialist).post(reverse("meetings:start", args=[meeting.pk]))
    assert response.status_code == 403
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.PLANNED


def test_a_second_meeting_cannot_start_while_one_is_in_progress(started, coordinator):
    other = services.meeting_schedule(
        plan_id=started.plan_id, user=coordinator, scheduled_at=when(2)
    )
    client = client_for(coordinator)
    response = client.post(reverse("meetings:start", args=[other.pk]), follow=True)
    assert "Another meeting on this plan is already in progress." in response.content.decode()
    other.refresh_from_db()
    assert other.status == Meeting.Status.PLANNED


def test_next_and_previous_move_the_current_theme_without_scripts(started, coordinator):
    client = client_for(coordinator)
    items = list(started.items.order_by("position"))
    client.post(reverse("meetings:goto", args=[started.pk]), {"direction": "next"})
    started.refresh_from_db()
    assert started.current_item == items[1]
    client.post(reverse("meetings:goto", args=[started.pk]), {"direction": "previous"})
    started.refresh_from_db()
    assert started.current_item == items[0]
    # Before the first item there is nowhere to go: nothing changes.
    client.post(reverse("meetings:goto", args=[started.pk]), {"direction": "previous"})
    started.refresh_from_db()
    assert started.current_item == items[0]
    client.post(reverse("meetings:goto", args=[started.pk]), {"item": str(items[3].pk)})
    started.refresh_from_db()
    assert started.current_item == items[3]


def test_a_member_cannot_move_the_meeting(started, specialist):
    response = client_for(specialist).post(
        reverse("meetings:goto", args=[started.pk]), {"direction": "next"}
    )
    assert response.status_code == 403


def test_the_coordinator_closes_the_meeting_and_names_the_next(started, coordinator):
    client = client_for(coordinator)
    assert client.get(reverse("meetings:close", args=[started.pk])).status_code == 200
    next_time = when(30)
    response = client.post(
        reverse("meetings:close", args=[started.pk]),
        {"next_meeting_at": timezone.localtime(next_time).strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    started.refresh_from_db()
    assert started.status == Meeting.Status.CLOSED
    assert started.closed_by == coordinator
    assert started.next_meeting_at == next_time


def test_a_next_meeting_in_the_past_is_refused(started, coordinator):
    past = timezone.localtime(timezone.now() - datetime.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    response = client_for(coordinator).post(
        reverse("meetings:close", args=[started.pk]), {"next_meeting_at": past}
    )
    assert response.status_code == 200
    assert "The next meeting must be in the future." in response.content.decode()
    started.refresh_from_db()
    assert started.status == Meeting.Status.IN_PROGRESS


def test_a_member_cannot_close_the_meeting(started, specialist):
    assert (
        client_for(specialist).post(reverse("meetings:close", args=[started.pk])).status_code == 403
    )


# ------------------------------------------------------------ attendees and decisions


def test_the_coordinator_adds_and_removes_an_attendee_without_account(started, coordinator):
    client = client_for(coordinator)
    response = client.post(
        reverse("meetings:attendee_add", args=[started.pk]),
        {"name": "Mor til Per", "role": "Pårørende"},
    )
    assert response.status_code == 302
    attendee = Attendee.objects.get(meeting=started, name="Mor til Per")
    assert attendee.user is None
    assert attendee.role == "Pårørende"
    html = client.get(reverse("meetings:detail", args=[started.pk])).content.decode()
    assert "Mor til Per" in html
    client.post(reverse("meetings:attendee_remove", args=[started.pk, attendee.pk]))
    assert not Attendee.objects.filter(pk=attendee.pk).exists()


def test_an_attendee_needs_a_name(started, coordinator):
    client_for(coordinator).post(reverse("meetings:attendee_add", args=[started.pk]), {"name": " "})
    assert not Attendee.objects.filter(meeting=started, user__isnull=True).exists()


def test_a_member_cannot_edit_the_attendee_list(started, specialist, coordinator):
    client = client_for(specialist)
    response = client.post(reverse("meetings:attendee_add", args=[started.pk]), {"name": "X"})
    assert response.status_code == 403
    own = Attendee.objects.get(meeting=started, user=coordinator)
    assert (
        client.post(reverse("meetings:attendee_remove", args=[started.pk, own.pk])).status_code
        == 403
    )
    assert Attendee.objects.filter(pk=own.pk).exists()


def test_an_editing_member_writes_a_decision_during_the_meeting(started, specialist):
    item = started.items.order_by("position").first()
    response = client_for(specialist).post(
        reverse("meetings:decision", args=[started.pk, item.pk]),
        {"decision": "Søknad sendes i uke 3"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.decision == "Søknad sendes i uke 3"


def test_a_reader_cannot_write_a_decision(started, reader):
    item = started.items.order_by("position").first()
    response = client_for(reader).post(
        reverse("meetings:decision", args=[started.pk, item.pk]), {"decision": "x"}
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.decision == ""


def test_a_decision_for_another_meetings_item_is_404(started, coordinator, other_plan):
    foreign = services.meeting_schedule(
        plan_id=other_plan.pk, user=coordinator, scheduled_at=when()
    )
    item = foreign.items.first()
    response = client_for(coordinator).post(
        reverse("meetings:decision", args=[started.pk, item.pk]), {"decision": "x"}
    )
    assert response.status_code == 404


# ------------------------------------------------------------------------ the lists


def test_the_plan_page_lists_the_meetings_and_the_way_into_the_room(started, specialist):
    response = client_for(specialist).get(reverse("plans:detail", args=[started.plan_id]))
    html = response.content.decode()
    assert reverse("meetings:room", args=[started.pk]) in html
    assert reverse("meetings:create", args=[started.plan_id]) not in html  # not coordinator


def test_the_plan_page_offers_the_coordinator_to_schedule(plan, coordinator):
    html = client_for(coordinator).get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert reverse("meetings:create", args=[plan.pk]) in html
    assert "No meeting is scheduled." in html


def test_the_dashboard_shows_a_meeting_in_progress_to_its_members(started, reader, outsider):
    html = client_for(reader).get(reverse("plans:dashboard")).content.decode()
    assert reverse("meetings:room", args=[started.pk]) in html
    html = client_for(outsider).get(reverse("plans:dashboard")).content.decode()
    assert reverse("meetings:room", args=[started.pk]) not in html


def test_the_dashboard_shows_coming_meetings_but_not_far_future_ones(plan, coordinator):
    soon = services.meeting_schedule(plan_id=plan.pk, user=coordinator, scheduled_at=when(3))
    later = services.meeting_schedule(plan_id=plan.pk, user=coordinator, scheduled_at=when(200))
    html = client_for(coordinator).get(reverse("plans:dashboard")).content.decode()
    assert reverse("meetings:detail", args=[soon.pk]) in html
    assert reverse("meetings:detail", args=[later.pk]) not in html


def test_a_unit_leader_sees_no_meetings_on_the_dashboard(started, leader):
    html = client_for(leader).get(reverse("plans:dashboard")).content.decode()
    assert reverse("meetings:room", args=[started.pk]) not in html
