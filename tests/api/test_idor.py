"""The IDOR matrix: every endpoint × every way of reaching for a plan that is not
yours. Allowed, or 404 exactly like a plan that does not exist; never a hint.

Scenarios:
- own plan:            Kari coordinates Per's plan → allowed (reads 200, writes 2xx).
- another plan:        Siv (a member of Per's plan) reaches for Anna's plan → 404.
- another organisation: a token of Siv's, scoped to NAV rather than her DPS → 404.
- withdrawn consent:   Siv after Per withdrew the sharing consent → 404.
- person A vs B:       Per reaches for Berit's plan (Berit logs in too) → 404.
- anonymous:           no credentials → 401, the same for a plan that does not exist.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ipplan.courses.models import TreatmentCourse
from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import Meeting
from ipplan.plans import services
from ipplan.plans.models import Change, Consent, Goal, Measure, Member, Person, Plan, Theme
from ipplan.records import services as record_services
from ipplan.records.models import Comment, MeetingRecord
from tests.api.conftest import url
from tests.conftest import make_user

TODAY = datetime.date.today()
NO_SUCH_PLAN = 999_999_999


@dataclass
class Endpoint:
    name: str
    method: str
    route: str
    ids: Callable[[dict[str, int]], dict[str, int]] = lambda ids: {}
    body: Callable[[dict[str, int]], dict[str, Any] | None] = lambda ids: None
    ok: tuple[int, ...] = field(default=(200,))


def _in(key: str) -> Callable[[dict[str, int]], dict[str, int]]:
    return lambda ids: {"pk": ids[key]}


WHEN = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=0).isoformat()

ENDPOINTS = [
    Endpoint("plan detail", "get", "plan-detail"),
    Endpoint("plan update", "patch", "plan-detail", body=lambda ids: {"what_matters": "Ro"}),
    Endpoint("fhir", "get", "plan-fhir"),
    Endpoint("member list", "get", "member-list"),
    Endpoint("member detail", "get", "member-detail", _in("member")),
    Endpoint(
        "member create",
        "post",
        "member-list",
        body=lambda ids: {"user": ids["newcomer"], "role": "other"},
        ok=(201,),
    ),
    Endpoint(
        "member update", "patch", "member-detail", _in("member"), lambda ids: {"service": "X"}
    ),
    Endpoint("consent list", "get", "consent-list"),
    Endpoint("consent detail", "get", "consent-detail", _in("consent")),
    Endpoint(
        "consent create",
        "post",
        "consent-list",
        body=lambda ids: {"kind": "plan", "given_on": TODAY.isoformat()},
        ok=(201,),
    ),
    Endpoint("consent withdraw", "post", "consent-withdraw", _in("plan_consent")),
    Endpoint("theme list", "get", "theme-list"),
    Endpoint("theme detail", "get", "theme-detail", _in("theme")),
    Endpoint("theme create", "post", "theme-list", body=lambda ids: {"title": "Arbeid"}, ok=(201,)),
    Endpoint("theme update", "patch", "theme-detail", _in("theme"), lambda ids: {"title": "Hjem"}),
    Endpoint("theme delete", "delete", "theme-detail", _in("theme"), ok=(204,)),
    Endpoint("theme move", "post", "theme-move", _in("theme"), lambda ids: {"position": 0}),
    Endpoint("theme restore", "post", "theme-restore", _in("deleted_theme")),
    Endpoint("goal list", "get", "goal-list"),
    Endpoint("goal detail", "get", "goal-detail", _in("goal")),
    Endpoint(
        "goal create",
        "post",
        "goal-list",
        body=lambda ids: {
            "theme": ids["theme"],
            "text": "Jobb",
            "success_criterion": "Kontrakt",
            "evaluation_date": TODAY.isoformat(),
        },
        ok=(201,),
    ),
    Endpoint(
        "goal update", "patch", "goal-detail", _in("goal"), lambda ids: {"status": "achieved"}
    ),
    Endpoint("goal delete", "delete", "goal-detail", _in("goal"), ok=(204,)),
    Endpoint("goal move", "post", "goal-move", _in("goal"), lambda ids: {"position": 0}),
    Endpoint("goal restore", "post", "goal-restore", _in("deleted_goal")),
    Endpoint("measure list", "get", "measure-list"),
    Endpoint("measure detail", "get", "measure-detail", _in("measure")),
    Endpoint(
        "measure create",
        "post",
        "measure-list",
        body=lambda ids: {"theme": ids["theme"], "description": "Søke jobb"},
        ok=(201,),
    ),
    Endpoint(
        "measure update",
        "patch",
        "measure-detail",
        _in("measure"),
        lambda ids: {"scope": "Ukentlig"},
    ),
    Endpoint("measure delete", "delete", "measure-detail", _in("measure"), ok=(204,)),
    Endpoint("measure move", "post", "measure-move", _in("measure"), lambda ids: {"position": 0}),
    Endpoint("measure restore", "post", "measure-restore", _in("deleted_measure")),
    Endpoint("course list", "get", "course-list"),
    Endpoint("course detail", "get", "course-detail", _in("course")),
    Endpoint(
        "course create",
        "post",
        "course-list",
        body=lambda ids: {"kind": "tsb_inpatient", "provider": "Rogaland A-senter"},
        ok=(201,),
    ),
    Endpoint(
        "course update",
        "patch",
        "course-detail",
        _in("course"),
        lambda ids: {"provider": "Borgestadklinikken"},
    ),
    Endpoint("course delete", "delete", "course-detail", _in("course"), ok=(204,)),
    Endpoint("course restore", "post", "course-restore", _in("deleted_course")),
    Endpoint("meeting list", "get", "meeting-list"),
    Endpoint("meeting detail", "get", "meeting-detail", _in("meeting")),
    Endpoint(
        "meeting create", "post", "meeting-list", body=lambda ids: {"scheduled_at": WHEN}, ok=(201,)
    ),
    Endpoint(
        "meeting update", "patch", "meeting-detail", _in("meeting"), lambda ids: {"place": "Kafé"}
    ),
    Endpoint("meeting start", "post", "meeting-start", _in("meeting")),
    Endpoint(
        "meeting goto",
        "post",
        "meeting-goto",
        _in("running"),
        lambda ids: {"item": ids["running_item"]},
    ),
    Endpoint(
        "meeting decision",
        "post",
        "meeting-decision",
        _in("running"),
        lambda ids: {"item": ids["running_item"], "text": "Ok"},
    ),
    Endpoint("meeting close", "post", "meeting-close", _in("running"), lambda ids: {}),
    Endpoint(
        "attendee add",
        "post",
        "meeting-attendees",
        _in("meeting"),
        lambda ids: {"name": "Nabo"},
        ok=(201,),
    ),
    Endpoint(
        "attendee remove",
        "delete",
        "meeting-attendee-remove",
        lambda ids: {"pk": ids["meeting"], "attendee_pk": ids["attendee"]},
        ok=(204,),
    ),
    Endpoint("record list", "get", "record-list"),
    Endpoint("record detail", "get", "record-detail", _in("record")),
    Endpoint("record acknowledge", "post", "record-acknowledge", _in("record")),
    Endpoint("comment list", "get", "comment-list"),
    Endpoint("comment detail", "get", "comment-detail", _in("comment")),
    Endpoint(
        "comment create",
        "post",
        "comment-list",
        body=lambda ids: {"target_type": "goal", "target_id": ids["goal"], "body": "Bra!"},
        ok=(201,),
    ),
    Endpoint(
        "comment reply",
        "post",
        "comment-reply",
        _in("comment"),
        lambda ids: {"body": "Enig"},
        ok=(201,),
    ),
    Endpoint("comment resolve", "post", "comment-resolve", _in("comment")),
    Endpoint("comment reopen", "post", "comment-reopen", _in("comment")),
    Endpoint("change list", "get", "change-list"),
    Endpoint("change detail", "get", "change-detail", _in("change")),
    Endpoint("access log", "get", "access-log-list"),
]


class _Needs(dict):
    """Records which ids an endpoint's lambdas ask for, so only those are seeded."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def __missing__(self, key: str) -> int:
        self.asked.add(key)
        return 1


def needs(endpoint: Endpoint) -> set[str]:
    probe = _Needs()
    endpoint.ids(probe)
    endpoint.body(probe)
    return probe.asked


def _seed(plan: Plan, coordinator: Any, needed: set[str]) -> dict[str, int]:
    """Ids of the objects in `plan` the endpoint needs, created through the services."""
    ids: dict[str, int] = {"plan_pk": plan.pk}
    theme = Theme.objects.alive().filter(plan=plan).first()
    ids["theme"] = theme.pk
    when = timezone.now() + datetime.timedelta(days=1)

    def create(target: str, values: dict[str, Any]) -> int:
        return services.object_create(
            plan_id=plan.pk, user=coordinator, target=target, values=values
        ).result["id"]

    goal = Goal.objects.alive().filter(plan=plan).first()
    ids["goal"] = (
        goal.pk
        if goal
        else create(
            "goal",
            {
                "theme": theme.pk,
                "text": "Mål",
                "success_criterion": "Nådd",
                "evaluation_date": plan.period_start,
            },
        )
    )
    measure = Measure.objects.alive().filter(plan=plan).first()
    ids["measure"] = (
        measure.pk if measure else create("measure", {"theme": theme.pk, "description": "Tiltak"})
    )
    ids["member"] = Member.objects.filter(plan=plan).first().pk
    for target, values in [
        ("theme", {"title": "Slettet"}),
        (
            "goal",
            {
                "theme": theme.pk,
                "text": "G",
                "success_criterion": "S",
                "evaluation_date": plan.period_start,
            },
        ),
        ("measure", {"theme": theme.pk, "description": "Slettet"}),
    ]:
        if f"deleted_{target}" in needed:
            pk = create(target, values)
            services.object_delete(plan_id=plan.pk, user=coordinator, target=target, target_id=pk)
            ids[f"deleted_{target}"] = pk
    if needed & {"course", "deleted_course"}:
        ids["course"] = create("course", {"kind": "lar", "provider": "LAR Stavanger"})
        ids["deleted_course"] = create("course", {"kind": "other", "provider": "Slettet"})
        services.object_delete(
            plan_id=plan.pk, user=coordinator, target="course", target_id=ids["deleted_course"]
        )
    if needed & {"consent", "plan_consent"}:
        consent = services.consent_record(
            plan_id=plan.pk, user=coordinator, kind=Consent.Kind.PLAN, given_on=TODAY
        )
        ids["consent"] = ids["plan_consent"] = consent.pk
    if needed & {"meeting", "attendee"}:
        meeting = meeting_services.meeting_schedule(
            plan_id=plan.pk, user=coordinator, scheduled_at=when
        )
        ids["meeting"] = meeting.pk
        ids["attendee"] = meeting_services.attendee_add(
            meeting_id=meeting.pk, user=coordinator, name="Gjest"
        ).pk
    if "record" in needed:
        held = meeting_services.meeting_schedule(
            plan_id=plan.pk, user=coordinator, scheduled_at=when
        )
        meeting_services.meeting_start(meeting_id=held.pk, user=coordinator)
        meeting_services.meeting_close(meeting_id=held.pk, user=coordinator)
        ids["record"] = MeetingRecord.objects.get(meeting=held).pk
    if "comment" in needed:
        ids["comment"] = record_services.comment_create(
            plan_id=plan.pk,
            user=coordinator,
            target_type="goal",
            target_id=ids["goal"],
            body="Hva nå?",
        ).pk
    if needed & {"running", "running_item"}:
        running = meeting_services.meeting_schedule(
            plan_id=plan.pk, user=coordinator, scheduled_at=when
        )
        meeting_services.meeting_start(meeting_id=running.pk, user=coordinator)
        ids["running"] = running.pk
        ids["running_item"] = running.items.first().pk
    ids["change"] = Change.objects.filter(plan=plan).latest("revision").pk
    return ids


def _call(client: APIClient, endpoint: Endpoint, ids: dict[str, int]):
    kwargs = {"plan_pk": ids["plan_pk"], **endpoint.ids(ids)}
    body = endpoint.body(ids)
    return getattr(client, endpoint.method)(url(endpoint.route, **kwargs), body, format="json")


def _state(plan: Plan) -> tuple:
    """What a refused request must leave untouched."""
    plan = Plan.objects.get(pk=plan.pk)
    meetings = tuple(
        Meeting.objects.filter(plan=plan).values_list("status", "place", "current_item")
    )
    comments = tuple(Comment.objects.filter(plan=plan).values_list("pk", "resolved_at"))
    acks = tuple(MeetingRecord.objects.filter(plan=plan).values_list("acknowledgements"))
    courses = tuple(
        TreatmentCourse.objects.filter(plan=plan).values_list("pk", "provider", "deleted_at")
    )
    return plan.revision, plan.what_matters, meetings, comments, acks, courses


@pytest.fixture
def berit_plan(theme_templates, coordinator) -> Plan:
    """Berit's plan: she logs in too (person B)."""
    berit = make_user("berit", "Berit", "Brukersen")
    person = Person.objects.create(
        first_name="Berit", last_name="Brukersen", birth_date=datetime.date(1980, 1, 1), user=berit
    )
    return services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=TODAY - datetime.timedelta(days=10),
        status=Plan.Status.ACTIVE,
    )


@pytest.fixture
def newcomer(db):
    return make_user("nina", "Nina", "Ny")


SCENARIOS = [
    "own plan",
    "another plan",
    "another organisation",
    "withdrawn consent",
    "person A vs person B",
    "anonymous",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_idor_matrix(
    request,
    endpoint,
    scenario,
    plan,
    other_plan,
    coordinator,
    specialist,
    person_user,
    orgs,
    as_token,
    newcomer,
):
    if scenario == "own plan":
        client, target = APIClient(), plan
        client.force_login(coordinator)
    elif scenario == "another plan":
        client, target = APIClient(), other_plan
        client.force_login(specialist)
    elif scenario == "another organisation":
        client, target = as_token(specialist, orgs["nav"], allow_write=True), plan
    elif scenario == "withdrawn consent":
        client, target = APIClient(), plan
        client.force_login(specialist)
        sharing = Consent.objects.get(plan=plan, kind=Consent.Kind.SHARING)
        services.consent_withdraw(plan_id=plan.pk, user=person_user, consent_id=sharing.pk)
    elif scenario == "person A vs person B":
        client, target = APIClient(), request.getfixturevalue("berit_plan")
        client.force_login(person_user)
    else:
        client, target = APIClient(), plan

    ids = _seed(target, coordinator, needs(endpoint))
    ids["newcomer"] = newcomer.pk
    before = _state(target)
    response = _call(client, endpoint, ids)

    if scenario == "own plan":
        assert response.status_code in endpoint.ok, response.content
        return
    # Refused exactly as for a plan that does not exist, and nothing changed.
    missing = _call(client, endpoint, {**ids, "plan_pk": NO_SUCH_PLAN})
    expected = 401 if scenario == "anonymous" else 404
    assert (response.status_code, response.json()) == (missing.status_code, missing.json())
    assert response.status_code == expected
    assert "ETag" not in response
    assert _state(target) == before
