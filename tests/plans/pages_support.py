"""Helpers for the page tests (tests/plans/test_views*.py, test_permissions_matrix.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipplan.plans import services
from ipplan.plans.models import AccessLog, Change, Goal, Measure, Member, Plan, Theme

TODAY = datetime.date.today()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(f"plans:{name}", args=args)


def the_goal(plan: Plan) -> Goal:
    return Goal.objects.get(plan=plan)


def the_measure(plan: Plan) -> Measure:
    return Measure.objects.get(plan=plan)


def member_of(plan: Plan, user: Any) -> Member:
    return Member.objects.get(plan=plan, user=user)


def log_count(plan: Plan) -> int:
    return AccessLog.objects.filter(plan=plan).count()


def state(plan: Plan) -> dict[str, Any]:
    """Everything a refused form must leave untouched."""
    return {
        "revision": Plan.objects.get(pk=plan.pk).revision,
        "changes": Change.objects.filter(plan=plan).count(),
        "themes": list(Theme.objects.filter(plan=plan).order_by("pk").values()),
        "goals": list(Goal.objects.filter(plan=plan).order_by("pk").values()),
        "measures": list(Measure.objects.filter(plan=plan).order_by("pk").values()),
        "members": list(Member.objects.filter(plan=plan).order_by("pk").values()),
        "consents": list(plan.consents.order_by("pk").values()),
        "plan": Plan.objects.filter(pk=plan.pk).values().get(),
    }


def form_data(response: Any) -> dict[str, Any]:
    """The POST data a browser would send for the page's form as drawn (including the
    hidden 'as drawn' values and base revision of edit forms)."""
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if value is None:
            value = ""
        if isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        else:
            data[name] = str(value) if not isinstance(value, datetime.date) else value.isoformat()
        if field.show_hidden_initial:
            initial = bound.initial
            if isinstance(initial, datetime.date):
                initial = initial.isoformat()
            data[bound.html_initial_name] = "" if initial is None else str(initial)
    return data


def add_goal(plan: Plan, user: Any, theme: Theme, **values: Any) -> Goal:
    defaults = {
        "theme": theme.pk,
        "level": "main",
        "text": "Gå tur tre ganger i uka",
        "success_criterion": "Har gått tur tre ganger i uka i fire uker",
        "evaluation_date": days(30),
        "status": "not_started",
    }
    result = services.object_create(
        plan_id=plan.pk, user=user, target="goal", values={**defaults, **values}
    )
    return Goal.objects.get(pk=result.result["id"])


def add_measure(plan: Plan, user: Any, theme: Theme, **values: Any) -> Measure:
    defaults = {"theme": theme.pk, "description": "Følge til treningssenteret", "status": "planned"}
    result = services.object_create(
        plan_id=plan.pk, user=user, target="measure", values={**defaults, **values}
    )
    return Measure.objects.get(pk=result.result["id"])


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The personas are created with a password; hashing it properly costs seconds
    per test. Import this fixture into a test module to use it there."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
