"""Integration tokens: stored hashed, shown once, scoped to an organisation, read-only
unless allowed to write, revocable, expiring."""

from __future__ import annotations

import datetime
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ipplan.api.models import ApiToken
from ipplan.api.services import token_revoke
from ipplan.plans.models import Change, Goal
from tests.api.conftest import url


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_only_a_hash_of_the_token_is_stored(issue_token, specialist, orgs):
    secret = issue_token(specialist, orgs["dps"])
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.values().get().values())
    assert secret not in stored
    assert secret.startswith(f"ipp_{token.prefix}_")


def test_a_token_reads_plans_its_user_serves_for_its_organisation(as_token, plan, specialist, orgs):
    client = as_token(specialist, orgs["dps"])
    assert client.get(url("plan-detail", plan_pk=plan.pk)).status_code == 200
    assert [p["id"] for p in client.get(url("plan-list")).json()["results"]] == [plan.pk]


def test_a_token_for_another_organisation_sees_nothing(as_token, plan, specialist, orgs):
    """Siv serves Per's plan for the DPS; a token of hers scoped to NAV reaches nothing."""
    client = as_token(specialist, orgs["nav"])
    assert client.get(url("plan-detail", plan_pk=plan.pk)).status_code == 404
    assert client.get(url("goal-list", plan_pk=plan.pk)).status_code == 404
    assert client.get(url("plan-list")).json()["results"] == []


def test_a_token_reads_only_unless_allowed_to_write(as_token, plan, specialist, orgs):
    goal = Goal.objects.get(plan=plan)
    response = as_token(specialist, orgs["dps"]).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    assert response.status_code == 403
    response = as_token(specialist, orgs["dps"], allow_write=True).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    assert response.status_code == 200
    change = Change.objects.filter(plan=plan).latest("revision")
    assert (change.user, change.via) == (specialist, "api")


def test_token_writes_need_no_csrf_token(plan, specialist, orgs, issue_token):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_token(specialist, orgs['dps'], allow_write=True)}"
    )
    goal = Goal.objects.get(plan=plan)
    response = client.patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    assert response.status_code == 200


def test_a_token_cannot_create_plans(as_token, coordinator, orgs, theme_templates):
    response = as_token(coordinator, orgs["unit"], allow_write=True).post(
        url("plan-list"),
        {
            "person": {"first_name": "A", "last_name": "B", "birth_date": "2000-01-01"},
            "period_start": "2025-01-01",
        },
        format="json",
    )
    assert response.status_code == 403


def test_a_revoked_token_is_refused_at_once(issue_token, plan, specialist, orgs):
    secret = issue_token(specialist, orgs["dps"])
    client = _bearer(secret)
    assert client.get(url("plan-detail", plan_pk=plan.pk)).status_code == 200
    token_revoke(token=ApiToken.objects.get())
    response = client.get(url("plan-detail", plan_pk=plan.pk))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(issue_token, plan, specialist, orgs):
    secret = issue_token(
        specialist, orgs["dps"], expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert _bearer(secret).get(url("plan-detail", plan_pk=plan.pk)).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(issue_token, plan, specialist, orgs):
    secret = issue_token(specialist, orgs["dps"])
    specialist.is_active = False
    specialist.save()
    assert _bearer(secret).get(url("plan-detail", plan_pk=plan.pk)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer a b", id="two-tokens"),
        pytest.param("Bearer ipp_00000000_guessed", id="unknown-token"),
        pytest.param("Bearer " + "x" * 500, id="oversized"),
    ],
)
def test_bad_token_headers_are_refused_alike(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(url("plan-list"))
    assert response.status_code == 401


def test_use_is_recorded(issue_token, plan, specialist, orgs):
    secret = issue_token(specialist, orgs["dps"])
    assert ApiToken.objects.get().last_used_at is None
    _bearer(secret).get(url("plan-list"))
    assert ApiToken.objects.get().last_used_at is not None


def test_the_command_issues_lists_and_revokes(specialist, orgs, plan):
    out = StringIO()
    call_command(
        "api_token",
        "issue",
        "--name",
        "EPJ",
        "--user",
        "siv",
        "--organisation",
        orgs["dps"].name,
        stdout=out,
    )
    secret = out.getvalue().strip().splitlines()[-1]
    assert _bearer(secret).get(url("plan-detail", plan_pk=plan.pk)).status_code == 200
    token = ApiToken.objects.get()
    out = StringIO()
    call_command("api_token", "list", stdout=out)
    assert token.prefix in out.getvalue() and "active" in out.getvalue()
    call_command("api_token", "revoke", token.prefix, stdout=StringIO())
    assert _bearer(secret).get(url("plan-detail", plan_pk=plan.pk)).status_code == 401
