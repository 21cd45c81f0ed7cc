"""Meeting services: the coordinator schedules, starts, moves the current theme and
closes; attendance, decisions, and the revisions that bound the meeting's record."""

import datetime

import pytest
from django.utils import timezone

from ipplan.meetings import services as meetings
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans import services
from ipplan.plans.models import Change, Goal, Plan, Theme
from ipplan.plans.services import OperationError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def announced(monkeypatch):
    """The meeting.changed notifications sent (after commit)."""
    sent = []
    monkeypatch.setattr(
        meetings,
        "notify_meeting_changed",
        lambda **kw: sent.append((kw["plan_id"], kw["meeting_id"])),
    )
    return sent


def schedule(plan, user, **kwargs) -> Meeting:
    return meetings.meeting_schedule(
        plan_id=plan.pk,
        user=user,
        scheduled_at=kwargs.pop("scheduled_at", timezone.now() + datetime.timedelta(days=7)),
        place=kwargs.pop("place", "Mestringsenheten, møterom 2"),
        **kwargs,
    )


def test_the_agenda_defaults_to_all_the_plans_themes_in_order(plan, coordinator):
    meeting = schedule(plan, coordinator)
    titles = list(AgendaItem.objects.filter(meeting=meeting).values_list("theme__title", flat=True))
    assert titles == list(
        Theme.objects.filter(plan=plan).order_by("position").values_list("title", flat=True)
    )
    assert meeting.status == Meeting.Status.PLANNED and meeting.created_by == coordinator


def test_the_agenda_can_be_an_ordered_subset(plan, coordinator):
    themes = list(Theme.objects.filter(plan=plan).order_by("position"))
    meeting = schedule(plan, coordinator, agenda_theme_ids=[themes[3].pk, themes[0].pk])
    items = list(AgendaItem.objects.filter(meeting=meeting).order_by("position"))
    assert [(i.theme_id, i.position) for i in items] == [(themes[3].pk, 0), (themes[0].pk, 1)]


@pytest.mark.parametrize("bad", [[999999], "themes", [1.5]])
def test_the_agenda_must_name_this_plans_themes(plan, other_plan, coordinator, bad):
    with pytest.raises(OperationError) as error:
        schedule(
            plan,
            coordinator,
            agenda_theme_ids=bad if bad != "themes" else [other_plan.themes.first().pk],
        )
    assert error.value.field == "agenda"


def test_a_theme_appears_once_on_the_agenda(plan, coordinator):
    theme = Theme.objects.filter(plan=plan).first()
    with pytest.raises(OperationError):
        schedule(plan, coordinator, agenda_theme_ids=[theme.pk, theme.pk])


def test_only_the_coordinator_schedules(plan, specialist, outsider):
    with pytest.raises(OperationError) as error:
        schedule(plan, specialist)
    assert error.value.code == "forbidden"
    with pytest.raises(OperationError) as error:
        schedule(plan, outsider)
    assert error.value.code == "not_found"  # outsiders learn nothing
    assert not Meeting.objects.exists()


def test_a_closed_plan_gets_no_new_meetings(plan, coordinator):
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "set", "target": "plan", "id": plan.pk, "field": "status", "value": "closed"},
    )
    with pytest.raises(OperationError):
        schedule(plan, coordinator)


def test_place_is_limited_and_time_is_required(plan, coordinator):
    with pytest.raises(OperationError) as error:
        schedule(plan, coordinator, place="x" * 301)
    assert error.value.field == "place"
    with pytest.raises(OperationError) as error:
        schedule(plan, coordinator, scheduled_at="tomorrow")
    assert error.value.field == "scheduled_at"


def test_starting_records_who_when_and_the_revision(
    plan, coordinator, django_capture_on_commit_callbacks, announced
):
    meeting = schedule(plan, coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        started = meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    assert started.status == Meeting.Status.IN_PROGRESS
    assert started.started_by == coordinator and started.started_at is not None
    assert started.start_revision == Plan.objects.get(pk=plan.pk).revision
    assert (
        started.current_item
        == AgendaItem.objects.filter(meeting=meeting).order_by("position").first()
    )
    assert Attendee.objects.filter(meeting=meeting, user=coordinator).exists()
    assert announced == [(plan.pk, meeting.pk)]


def test_only_the_coordinator_starts_moves_and_closes(plan, coordinator, specialist):
    meeting = schedule(plan, coordinator)
    with pytest.raises(OperationError) as error:
        meetings.meeting_start(meeting_id=meeting.pk, user=specialist)
    assert error.value.code == "forbidden"
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    item = AgendaItem.objects.filter(meeting=meeting).last()
    with pytest.raises(OperationError):
        meetings.meeting_goto(meeting_id=meeting.pk, user=specialist, item_id=item.pk)
    with pytest.raises(OperationError):
        meetings.meeting_close(meeting_id=meeting.pk, user=specialist)
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.IN_PROGRESS


def test_only_one_meeting_runs_per_plan(plan, coordinator):
    first = schedule(plan, coordinator)
    second = schedule(plan, coordinator)
    meetings.meeting_start(meeting_id=first.pk, user=coordinator)
    with pytest.raises(OperationError) as error:
        meetings.meeting_start(meeting_id=second.pk, user=coordinator)
    assert error.value.code == "conflict"
    meetings.meeting_close(meeting_id=first.pk, user=coordinator)
    meetings.meeting_start(meeting_id=second.pk, user=coordinator)


def test_a_meeting_starts_once_and_closes_once(plan, coordinator):
    meeting = schedule(plan, coordinator)
    with pytest.raises(OperationError):
        meetings.meeting_close(meeting_id=meeting.pk, user=coordinator)
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    with pytest.raises(OperationError):
        meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    meetings.meeting_close(meeting_id=meeting.pk, user=coordinator)
    with pytest.raises(OperationError):
        meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)


def test_goto_moves_the_current_item_within_this_meeting_only(plan, coordinator):
    meeting = schedule(plan, coordinator)
    other = schedule(plan, coordinator)
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    last = AgendaItem.objects.filter(meeting=meeting).order_by("position").last()
    assert (
        meetings.meeting_goto(meeting_id=meeting.pk, user=coordinator, item_id=last.pk).current_item
        == last
    )
    foreign = AgendaItem.objects.filter(meeting=other).first()
    with pytest.raises(OperationError) as error:
        meetings.meeting_goto(meeting_id=meeting.pk, user=coordinator, item_id=foreign.pk)
    assert error.value.code == "not_found"
    assert (
        meetings.meeting_goto(meeting_id=meeting.pk, user=coordinator, item_id=None).current_item
        is None
    )


def test_closing_records_the_end_revision_and_the_meetings_changes(plan, coordinator, specialist):
    meeting = schedule(plan, coordinator)
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    goal = Goal.objects.get(plan=plan)
    result = services.apply_operation(
        plan_id=plan.pk,
        user=specialist,
        op={"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting_id=meeting.pk,
        via="live",
    )
    closed = meetings.meeting_close(
        meeting_id=meeting.pk,
        user=coordinator,
        next_meeting_at=timezone.now() + datetime.timedelta(days=30),
    )
    assert closed.end_revision == result.revision
    assert closed.closed_by == coordinator and closed.next_meeting_at is not None
    assert list(
        Change.objects.filter(
            plan=plan,
            meeting=meeting,
            revision__gt=closed.start_revision,
            revision__lte=closed.end_revision,
        ).values_list("revision", flat=True)
    ) == [result.revision]
    # An edit that names the closed meeting is no longer attributed to it.
    later = services.apply_operation(
        plan_id=plan.pk,
        user=specialist,
        op={"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "revised"},
        meeting_id=meeting.pk,
        via="live",
    )
    assert later.change.meeting_id is None


def test_an_edit_naming_a_meeting_of_another_plan_is_not_attributed(plan, other_plan, coordinator):
    foreign = schedule(other_plan, coordinator)
    meetings.meeting_start(meeting_id=foreign.pk, user=coordinator)
    goal = Goal.objects.get(plan=plan)
    result = services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting_id=foreign.pk,
    )
    assert result.change.meeting_id is None


def test_attendees_by_account_or_by_name(plan, coordinator, specialist, outsider):
    meeting = schedule(plan, coordinator)
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    siv = meetings.attendee_add(
        meeting_id=meeting.pk, user=coordinator, attendee_user_id=specialist.pk, role="DPS"
    )
    again = meetings.attendee_add(
        meeting_id=meeting.pk, user=coordinator, attendee_user_id=specialist.pk
    )
    assert again.pk == siv.pk
    mother = meetings.attendee_add(
        meeting_id=meeting.pk, user=coordinator, name="Mor til Per", role="Pårørende"
    )
    assert (mother.user, mother.name, mother.role) == (None, "Mor til Per", "Pårørende")
    with pytest.raises(OperationError):  # an account that is not in the group
        meetings.attendee_add(meeting_id=meeting.pk, user=coordinator, attendee_user_id=outsider.pk)
    with pytest.raises(OperationError):  # neither account nor name
        meetings.attendee_add(meeting_id=meeting.pk, user=coordinator, name="  ")
    with pytest.raises(OperationError):  # members do not edit the list
        meetings.attendee_add(meeting_id=meeting.pk, user=specialist, name="Noen")
    meetings.attendee_remove(attendee_id=mother.pk, user=coordinator)
    assert set(Attendee.objects.filter(meeting=meeting).values_list("user_id", flat=True)) == {
        coordinator.pk,
        specialist.pk,
    }


def test_joining_records_attendance_only_while_the_meeting_runs(
    plan, coordinator, reader, outsider
):
    meeting = schedule(plan, coordinator)
    assert meetings.attendee_join(meeting_id=meeting.pk, user=reader) is None
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    first = meetings.attendee_join(meeting_id=meeting.pk, user=reader)
    assert meetings.attendee_join(meeting_id=meeting.pk, user=reader).pk == first.pk
    with pytest.raises(OperationError):
        meetings.attendee_join(meeting_id=meeting.pk, user=outsider)


def test_decisions_by_editors_while_running_and_by_the_coordinator_after(
    plan, coordinator, specialist, reader
):
    meeting = schedule(plan, coordinator)
    item = AgendaItem.objects.filter(meeting=meeting).first()
    with pytest.raises(OperationError):  # not before the meeting, except the coordinator
        meetings.agenda_decision_set(item_id=item.pk, user=specialist, text="Tidlig")
    meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
    assert (
        meetings.agenda_decision_set(item_id=item.pk, user=specialist, text="Søke bolig").decision
        == "Søke bolig"
    )
    with pytest.raises(OperationError) as error:
        meetings.agenda_decision_set(item_id=item.pk, user=reader, text="Nei")
    assert error.value.code == "forbidden"
    with pytest.raises(OperationError):
        meetings.agenda_decision_set(item_id=item.pk, user=specialist, text="x" * 501)
    meetings.meeting_close(meeting_id=meeting.pk, user=coordinator)
    with pytest.raises(OperationError):
        meetings.agenda_decision_set(item_id=item.pk, user=specialist, text="Etterpå")
    meetings.agenda_decision_set(item_id=item.pk, user=coordinator, text="Søke kommunal bolig")
    assert AgendaItem.objects.get(pk=item.pk).decision == "Søke kommunal bolig"


def test_rescheduling_keeps_decisions_of_themes_that_stay(plan, coordinator):
    themes = list(Theme.objects.filter(plan=plan).order_by("position"))
    meeting = schedule(plan, coordinator, agenda_theme_ids=[themes[0].pk, themes[1].pk])
    kept = AgendaItem.objects.get(meeting=meeting, theme=themes[1])
    meetings.agenda_decision_set(item_id=kept.pk, user=coordinator, text="Forberedt")
    meetings.meeting_update(
        meeting_id=meeting.pk,
        user=coordinator,
        place="Video",
        agenda_theme_ids=[themes[1].pk, themes[2].pk],
    )
    items = list(AgendaItem.objects.filter(meeting=meeting).order_by("position"))
    assert [(i.theme_id, i.decision) for i in items] == [
        (themes[1].pk, "Forberedt"),
        (themes[2].pk, ""),
    ]
    assert Meeting.objects.get(pk=meeting.pk).place == "Video"


def test_outsiders_cannot_touch_a_meeting(plan, coordinator, outsider):
    meeting = schedule(plan, coordinator)
    for call in (
        lambda: meetings.meeting_start(meeting_id=meeting.pk, user=outsider),
        lambda: meetings.meeting_goto(meeting_id=meeting.pk, user=outsider, item_id=None),
        lambda: meetings.attendee_join(meeting_id=meeting.pk, user=outsider),
        lambda: meetings.meeting_start(meeting_id=987654, user=coordinator),
    ):
        with pytest.raises(OperationError) as error:
            call()
        assert error.value.code == "not_found"
