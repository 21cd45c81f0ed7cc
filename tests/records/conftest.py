"""Helpers for the records tests: run a meeting on Per's plan and close it."""

import datetime

import pytest
from django.utils import timezone

from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import Meeting
from ipplan.plans import services
from ipplan.plans.models import Goal, Measure, Plan
from ipplan.records.services import record_create_for_meeting


def apply(plan, user, op, *, meeting=None, base=None):
    """One operation through the writer path (as the live socket would send it)."""
    if op["type"] == "text" and base is None:
        base = Plan.objects.get(pk=plan.pk).revision
    return services.apply_operation(
        plan_id=plan.pk,
        user=user,
        op=op,
        base_revision=base,
        meeting_id=meeting.pk if meeting else None,
        via="live" if meeting else "form",
    )


def type_text(plan, user, target, obj_id, field, text, *, meeting=None, at=None):
    """Type `text` one keystroke at a time at position `at` (default: the end)."""
    model = services.MODELS[target]
    current = getattr(model.objects.get(pk=obj_id), field) or ""
    pos = len(current) if at is None else at
    for char in text:
        length = len(getattr(model.objects.get(pk=obj_id), field) or "")
        ops = [pos, char, length - pos] if pos else [char, length]
        apply(
            plan,
            user,
            {
                "type": "text",
                "target": target,
                "id": obj_id,
                "field": field,
                "ops": [c for c in ops if c != 0],
            },
            meeting=meeting,
        )
        pos += 1


def start_meeting(plan, coordinator, *, place="Mestringsenheten, møterom 2"):
    meeting = meeting_services.meeting_schedule(
        plan_id=plan.pk,
        user=coordinator,
        scheduled_at=timezone.now(),
        place=place,
    )
    return meeting_services.meeting_start(meeting_id=meeting.pk, user=coordinator)


def close_meeting(meeting, coordinator, *, next_meeting_at=None):
    """Close through meetings.services and make sure the record exists (meeting_close
    calls record_create_for_meeting once wired; calling it again is harmless)."""
    meeting = meeting_services.meeting_close(
        meeting_id=meeting.pk, user=coordinator, next_meeting_at=next_meeting_at
    )
    return record_create_for_meeting(meeting=Meeting.objects.get(pk=meeting.pk))


@pytest.fixture
def goal(plan):
    return Goal.objects.get(plan=plan)


@pytest.fixture
def measure(plan):
    return Measure.objects.get(plan=plan)


@pytest.fixture
def in_days():
    def shift(days):
        return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()

    return shift


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The personas log in with a password; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def log_entries(plan, **filters):
    from ipplan.plans.models import AccessLog

    return list(AccessLog.objects.filter(plan=plan, **filters).values_list("user__username", "via"))
