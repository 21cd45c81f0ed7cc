"""The demo (seeds/demo.json, `manage.py load_demo`): idempotent, real logins, and plan
content written through the services, so the change log is the real one."""

import datetime
import io
import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from ipplan.accounts.models import Organisation, User
from ipplan.plans.models import (
    AccessLog,
    Change,
    Consent,
    Goal,
    Measure,
    Member,
    Person,
    Plan,
    Theme,
    ThemeTemplate,
)
from ipplan.plans.permissions import Level, plan_access, visible_plans

SEED = json.loads((settings.BASE_DIR / "seeds" / "demo.json").read_text(encoding="utf-8"))
USERNAMES = [user["username"] for user in SEED["users"]]
PERSONS = [(p["first_name"], p["last_name"]) for p in SEED["persons"]]


FAST_HASHING = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module (it takes seconds) and rolled back after.

    Each test's own `db` transaction nests inside, so what a test changes is undone."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHING),
        transaction.atomic(),
    ):
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def demo_output(loaded_demo, db) -> str:
    return loaded_demo


def plan_of(first_name: str) -> Plan:
    return Plan.objects.select_related("person").get(person__first_name=first_name)


def demo_plans() -> list[Plan]:
    """The plans of the three demo persons (the courses seed may add a cohort of its own)."""
    return [
        Plan.objects.get(person__first_name=first, person__last_name=last)
        for first, last in PERSONS
    ]


def counts() -> dict[str, int]:
    models = [
        Organisation,
        User,
        Group,
        ThemeTemplate,
        Person,
        Plan,
        Member,
        Consent,
        Theme,
        Goal,
        Measure,
        Change,
        AccessLog,
    ]
    try:
        from ipplan.meetings.models import AgendaItem, Attendee, Meeting

        models += [Meeting, AgendaItem, Attendee]
    except ImportError:
        pass
    return {model.__name__: model.objects.count() for model in models}


def test_loading_twice_creates_no_duplicates(demo_output):
    before = counts()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert counts() == before
    assert "nothing to add" in out.getvalue()


def test_it_creates_three_persons_with_plans_and_every_demo_user(demo_output):
    assert len(demo_plans()) == 3
    assert plan_of("Anders").person.user.username == "anders"
    assert set(USERNAMES) <= set(User.objects.values_list("username", flat=True))


def test_a_second_run_leaves_what_people_changed_alone(demo_output):
    marte = User.objects.get(username="marte")
    marte.set_password("a-new-password-for-marte")
    marte.save()
    plan = plan_of("Anders")
    revision = plan.revision
    call_command("load_demo", stdout=io.StringIO())
    marte.refresh_from_db()
    assert marte.check_password("a-new-password-for-marte")
    assert Plan.objects.get(pk=plan.pk).revision == revision


def test_it_prints_every_login_and_the_shared_password(demo_output):
    assert SEED["password"] in demo_output
    for username in USERNAMES:
        assert f"  {username} " in demo_output


def test_every_demo_login_works_on_the_login_page(demo_output, client):
    for username in USERNAMES:
        response = client.post(
            reverse("login"), {"username": username, "password": SEED["password"]}
        )
        assert response.status_code == 302, username
        assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)
        client.logout()


def test_a_wrong_password_does_not_log_in(demo_output, client):
    response = client.post(reverse("login"), {"username": "marte", "password": "wrong-password-1"})
    assert "_auth_user_id" not in client.session
    assert response.status_code in {200, 429}


def test_coordinators_may_create_plans_and_others_may_not(demo_output):
    assert User.objects.get(username="marte").has_perm("plans.add_plan")
    assert User.objects.get(username="jonas").has_perm("plans.add_plan")
    assert not User.objects.get(username="ingrid").has_perm("plans.add_plan")
    assert Group.objects.get(name="Koordinatorer").permissions.filter(codename="add_plan").exists()


def test_the_unit_leader_sees_no_plan_and_admin_is_a_superuser(demo_output):
    leader = User.objects.get(username="hilde")
    assert leader.is_unit_leader
    assert not visible_plans(leader).exists()
    assert all(plan_access(leader, plan).level == Level.NONE for plan in Plan.objects.all())
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_members_get_the_access_the_demo_gives_them(demo_output):
    plan = plan_of("Anders")
    access = {name: plan_access(User.objects.get(username=name), plan) for name in USERNAMES}
    assert access["marte"].can_manage
    assert access["ingrid"].can_edit
    assert access["ahmed"].level == Level.COMMENT
    assert access["eirik"].level == Level.READ
    assert access["anders"].is_person
    assert access["jonas"].level == Level.NONE  # a colleague outside the plan


def test_the_person_with_a_login_sees_only_his_own_plan(demo_output):
    anders = User.objects.get(username="anders")
    assert list(visible_plans(anders)) == [plan_of("Anders")]


def test_each_responsible_group_has_the_services_of_the_unit(demo_output):
    plan = plan_of("Anders")
    kinds = set(plan.members.values_list("organisation__kind", flat=True))
    assert {"Spesialisthelsetjeneste (TSB)", "NAV", "Fastlege", "Kommune – bolig"} <= kinds
    assert plan.coordinator.username == "marte"


def test_every_plan_has_the_default_themes_goals_and_measures(demo_output):
    titles = [template["title"] for template in SEED["theme_templates"]]
    for plan in demo_plans():
        assert list(plan.themes.alive().values_list("title", flat=True)) == titles
        assert plan.goals.alive().exists()
        assert plan.measures.alive().exists()
        assert plan.what_matters


def test_goals_are_concrete_and_measures_have_active_responsible_members(demo_output):
    today = timezone.localdate()
    plans = demo_plans()
    for goal in Goal.objects.alive().filter(plan__in=plans):
        assert goal.success_criterion.strip() and goal.evaluation_date
    for measure in Measure.objects.alive().filter(plan__in=plans):
        assert measure.responsible is not None, measure
        assert measure.responsible.plan_id == measure.plan_id
        assert measure.responsible.is_active_on(today)


def test_every_other_member_is_covered_by_a_valid_sharing_consent(demo_output):
    today = timezone.localdate()
    for plan in demo_plans():
        assert any(c.is_valid_on(today) for c in plan.consents.filter(kind=Consent.Kind.PLAN))
        sharing = [
            c for c in plan.consents.filter(kind=Consent.Kind.SHARING) if c.is_valid_on(today)
        ]
        covered = {m.pk for c in sharing for m in c.members.all()}
        others = plan.members.exclude(role__in=[Member.Role.COORDINATOR, Member.Role.PERSON])
        assert set(others.values_list("pk", flat=True)) <= covered


def test_plan_content_is_written_through_the_change_log(demo_output):
    for plan in demo_plans():
        revisions = list(plan.changes.order_by("revision").values_list("revision", flat=True))
        # Gap-free, one change per revision, ending at the plan's revision.
        assert revisions == list(range(1, plan.revision + 1))
        created = set(
            plan.changes.filter(kind=Change.Kind.CREATE).values_list("target_type", "target_id")
        )
        for goal in plan.goals.all():
            assert ("goal", goal.pk) in created
        for measure in plan.measures.all():
            assert ("measure", measure.pk) in created
        for consent in plan.consents.all():
            assert ("consent", consent.pk) in created
        for member in plan.members.exclude(role__in=[Member.Role.COORDINATOR, Member.Role.PERSON]):
            assert ("member", member.pk) in created


def test_changes_are_attributed_to_the_members_who_made_them(demo_output):
    authors = set(plan_of("Anders").changes.values_list("user__username", flat=True))
    assert {"marte", "ingrid", "ahmed"} <= authors


def test_the_history_is_spread_over_the_past_in_revision_order(demo_output):
    now = timezone.now()
    for plan in demo_plans():
        times = list(plan.changes.order_by("revision").values_list("at", flat=True))
        assert times == sorted(times)
        assert times[-1] <= now
        assert timezone.localdate(times[0]) == plan.period_start
        assert timezone.localdate(plan.created_at) == plan.period_start


def test_dates_are_relative_to_the_day_of_loading(demo_output):
    today = timezone.localdate()
    spec = SEED["persons"][0]
    plan = plan_of(spec["first_name"])
    assert plan.period_start == today + datetime.timedelta(days=spec["plan"]["period_start"])
    assert plan.next_evaluation == today + datetime.timedelta(days=spec["plan"]["next_evaluation"])


def test_the_demo_has_reminders_due(demo_output):
    today = timezone.localdate()
    assert any(m.is_overdue for m in Measure.objects.alive())
    assert any(g.is_overdue for g in Goal.objects.alive())
    assert Plan.objects.filter(next_evaluation__lt=today).exists()
    soon = today + datetime.timedelta(days=30)
    assert Consent.objects.filter(expires_on__gte=today, expires_on__lte=soon).exists()


def test_the_person_can_see_who_has_read_his_plan(demo_output):
    readers = set(plan_of("Anders").access_log.values_list("user__username", flat=True))
    assert {"ingrid", "ahmed", "eirik"} <= readers


def test_it_refuses_to_load_where_the_settings_look_like_production(demo_output, settings):
    settings.IPPLAN_HTTPS = True
    before = counts()
    User.objects.filter(username="hilde").delete()  # something a run would re-create
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=io.StringIO())
    assert not User.objects.filter(username="hilde").exists()
    assert counts()["Plan"] == before["Plan"]


def test_meetings_are_seeded_when_the_meetings_app_provides_services(demo_output):
    services = pytest.importorskip("ipplan.meetings.services")
    if not hasattr(services, "meeting_schedule"):
        pytest.skip("ipplan.meetings.services has no meeting_schedule")
    from ipplan.meetings.models import Meeting

    plan = plan_of("Anders")
    closed = Meeting.objects.get(plan=plan, status=Meeting.Status.CLOSED)
    planned = Meeting.objects.get(plan=plan, status=Meeting.Status.PLANNED)
    assert planned.scheduled_at > timezone.now() > closed.closed_at
    in_meeting = plan.changes.filter(meeting=closed)
    assert in_meeting.exists()
    assert all(
        closed.start_revision < rev <= closed.end_revision
        for rev in in_meeting.values_list("revision", flat=True)
    )
    assert closed.items.exclude(decision="").exists()
    assert closed.attendees.filter(user__username="anders").exists()


def test_the_past_meetings_record_carries_the_day_it_was_held(demo_output):
    """The record (referat) is frozen at close: it must show the meeting's day, not the
    moment the demo was loaded."""
    from ipplan.meetings.models import Meeting
    from ipplan.records.models import MeetingRecord

    closed = Meeting.objects.get(plan=plan_of("Anders"), status=Meeting.Status.CLOSED)
    content = MeetingRecord.objects.get(meeting=closed).content
    times = []

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in {"at", "started_at", "closed_at", "joined_at"} and item:
                    times.append(datetime.datetime.fromisoformat(item))
                else:
                    collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(content)
    assert len(times) > 3
    held = closed.scheduled_at
    assert all(held <= t <= held + datetime.timedelta(hours=3) for t in times), times


def test_treatment_courses_are_seeded_when_the_courses_app_provides_them(demo_output):
    pytest.importorskip("ipplan.courses.seed")
    assert plan_of("Anders").courses.exists()
