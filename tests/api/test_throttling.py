"""Rate limits answer 429 with Retry-After: per session user, per token, per address
for anonymous clients."""

from __future__ import annotations

import pytest

from tests.api.conftest import url


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/min", "user": "3/min", "token": "3/min"},
    }


def test_a_session_user_is_throttled(low_rates, as_user, plan, coordinator, reader):
    client = as_user(coordinator)
    statuses = [client.get(url("plan-list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(url("plan-list"))
    assert response.json()["code"] == "throttled" and int(response["Retry-After"]) > 0
    # Counted per user: a colleague is not affected.
    assert as_user(reader).get(url("plan-list")).status_code == 200


def test_a_token_is_throttled_on_its_own(low_rates, as_token, as_user, plan, specialist, orgs):
    first = as_token(specialist, orgs["dps"])
    statuses = [first.get(url("plan-list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another token of the same service user has its own budget, and so does the
    # user's own browser session.
    assert as_token(specialist, orgs["dps"]).get(url("plan-list")).status_code == 200
    assert as_user(specialist).get(url("plan-list")).status_code == 200


def test_anonymous_clients_are_throttled(low_rates, db, client):
    statuses = [client.get(url("schema")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
