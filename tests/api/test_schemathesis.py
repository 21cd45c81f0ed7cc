"""schemathesis against our own OpenAPI schema, on the real ASGI application (the one
daphne serves), with every check enabled: no 5xx, every status, header, content type
and body as documented, invalid input refused, valid input accepted.

The requests go through the ASGI app in other threads, so the data must be committed:
this runs on a transactional database. Every path id is pinned to an object of the
seeded plan, so the generated bodies reach the code behind them instead of a 404 (ids
in paths are covered by test_idor.py and test_unknown_paths_get_json_404s).

Valid-by-schema input may still break a business rule the schema cannot express (a
date outside the plan period, an If-Match naming an old revision): positive data is
therefore also allowed a 400 or 412, never a 5xx.
"""

from __future__ import annotations

import datetime

import pytest
import schemathesis
from django.utils import timezone
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from ipplan.meetings import services as meeting_services
from ipplan.plans import services
from ipplan.plans.models import Change, Consent, Goal, Measure, Member, Theme
from ipplan.records import services as record_services
from ipplan.records.models import MeetingRecord
from tests.api.conftest import url

MAX_EXAMPLES = 15


def _seed(plan, coordinator) -> dict[str, int]:
    """One of each object in Per's plan (a deleted goal, a planned meeting…)."""
    theme = Theme.objects.alive().filter(plan=plan).first()
    deleted = services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="goal",
        values={
            "theme": theme.pk,
            "text": "Gammelt mål",
            "success_criterion": "-",
            "evaluation_date": plan.period_start,
        },
    ).result["id"]
    services.object_delete(plan_id=plan.pk, user=coordinator, target="goal", target_id=deleted)
    meeting = meeting_services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now() + datetime.timedelta(days=2)
    )
    attendee = meeting_services.attendee_add(meeting_id=meeting.pk, user=coordinator, name="Gjest")
    held = meeting_services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now()
    )
    meeting_services.meeting_start(meeting_id=held.pk, user=coordinator)
    meeting_services.meeting_close(meeting_id=held.pk, user=coordinator)
    comment = record_services.comment_create(
        plan_id=plan.pk, user=coordinator, target_type="theme", target_id=theme.pk, body="Hei"
    )
    course = services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="course",
        values={"kind": "tsb_outpatient", "provider": "DPS", "status": "referred"},
    ).result["id"]
    # Generated edits may hand the plan to another coordinator; Kari stays in the group
    # as co-coordinator (covered by consent), so the run does not lock itself out.
    kari = Member.objects.get(plan=plan, user=coordinator)
    services.consent_record(
        plan_id=plan.pk,
        user=coordinator,
        kind="sharing",
        given_on=plan.period_start,
        members=[kari],
    )
    return {
        "themes": theme.pk,
        "goals": Goal.objects.alive().get(plan=plan).pk,
        "measures": Measure.objects.get(plan=plan).pk,
        "members": Member.objects.filter(plan=plan).exclude(user=coordinator).first().pk,
        "consents": Consent.objects.filter(plan=plan).first().pk,
        "meetings": meeting.pk,
        "changes": Change.objects.filter(plan=plan).first().pk,
        "records": MeetingRecord.objects.get(meeting=held).pk,
        "comments": comment.pk,
        "courses": course,
        "attendee": attendee.pk,
        "deleted_goal": deleted,
    }


@pytest.fixture
def api_schema(api_db, settings, plan, coordinator, orgs, issue_token):
    """The schema as schemathesis loads it from /api/schema/ on the ASGI app, with Kari's
    write-enabled token and path ids pinned to Per's plan."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "100000/min",
            "user": "100000/min",
            "token": "100000/min",
        },
    }
    ids = _seed(plan, coordinator)
    token = issue_token(coordinator, orgs["unit"], allow_write=True)
    # The first matching entry wins, so the specific paths come first.
    operations = [
        {
            "include-path-regex": r"/attendees/\{attendee_pk\}/",
            "parameters": {"path.id": ids["meetings"], "path.attendee_pk": ids["attendee"]},
        },
        {
            "include-path-regex": r"/goals/\{id\}/restore/",
            "parameters": {"path.id": ids["deleted_goal"]},
        },
    ] + [
        {"include-path-regex": rf"/{collection}/\{{id\}}", "parameters": {"path.id": pk}}
        for collection, pk in ids.items()
        if collection not in ("attendee", "deleted_goal")
    ]
    config = SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "parameters": {"path.plan_pk": plan.pk},
            "operations": operations,
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412"]
                },
            },
        }
    )
    from ipplan.asgi import application

    return schemathesis.openapi.from_asgi(
        url("schema") + "?format=json", application, config=config
    )


def _failures(schema) -> tuple[list[str], int]:
    """Run every phase (examples, coverage, fuzzing, stateful) the way the CLI does and
    return one line per distinct failure, plus the number of requests sent."""
    problems: dict[tuple, str] = {}
    sent = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        recorder = getattr(event, "recorder", None)
        if recorder is not None and isinstance(
            event, events.ScenarioFinished | events.FuzzScenarioFinished
        ):
            sent += len(recorder.interactions)
            for checks in recorder.checks.values():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    key = (recorder.label, check.name, failure.title)
                    problems.setdefault(
                        key,
                        f"{recorder.label}: {check.name}: {failure.title}\n"
                        f"{failure.message[:500]}\n{check.failure_info.code_sample}",
                    )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            info = getattr(event, "info", None) or getattr(event, "exception", None)
            problems.setdefault(("error", str(info)), f"error: {info}")
    return list(problems.values()), sent


def test_the_api_keeps_its_documented_promises(api_schema):
    problems, sent = _failures(api_schema)
    assert sent > 500, f"only {sent} requests were sent"
    assert not problems, "\n\n".join(problems)
