"""Login throttling (django-axes): five wrong passwords for one username from one
address lock that pair out for fifteen minutes, with a clear page."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from tests.conftest import PASSWORD

from .conftest import sign_in

LOGIN = "/logg-inn/"


def fail(client, username: str, times: int, **extra) -> list[int]:
    return [
        client.post(
            LOGIN, {"username": username, "password": "feil-passord-1"}, **extra
        ).status_code
        for _ in range(times)
    ]


def test_the_limit_is_five_failures_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    cooloff = settings.AXES_COOLOFF_TIME
    assert cooloff == datetime.timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_four_wrong_passwords_still_show_the_form(client, coordinator):
    assert fail(client, "kari", 4) == [200, 200, 200, 200]
    assert sign_in(client, coordinator).status_code == 302


def test_the_fifth_wrong_password_locks_the_username_out_from_that_address(client, coordinator):
    statuses = fail(client, "kari", 5)
    assert statuses == [200, 200, 200, 200, 429]


def test_a_locked_out_user_cannot_sign_in_even_with_the_right_password(client, coordinator):
    fail(client, "kari", 5)
    response = sign_in(client, coordinator)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still sent to the login page


def test_the_lockout_page_explains_what_happened_and_how_long_it_lasts(client, coordinator):
    fail(client, "kari", 4)
    response = client.post(LOGIN, {"username": "kari", "password": "feil-passord-1"})
    assert response.status_code == 429
    assert "accounts/lockout.html" in [t.name for t in response.templates]
    assert response.context["minutes"] == 15
    assert "15" in response.content.decode()
    assert "Content-Security-Policy" in response


def test_the_lockout_is_per_address_so_the_user_can_sign_in_elsewhere(client, coordinator):
    fail(client, "kari", 5, REMOTE_ADDR="192.0.2.10")
    assert sign_in(client, coordinator, REMOTE_ADDR="192.0.2.10").status_code == 429
    assert sign_in(client, coordinator, REMOTE_ADDR="192.0.2.20").status_code == 302


def test_the_lockout_is_per_username_so_colleagues_at_the_same_address_are_not_locked_out(
    client, coordinator, specialist
):
    fail(client, "kari", 5)
    assert sign_in(client, specialist).status_code == 302


def test_guessing_unknown_usernames_is_throttled_too(client, db):
    assert fail(client, "finnes-ikke", 5)[-1] == 429


def test_the_lockout_ends_after_the_cool_off_time(client, coordinator):
    fail(client, "kari", 5)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    AccessAttempt.objects.filter(username="kari").update(attempt_time=past)
    assert sign_in(client, coordinator).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, coordinator):
    fail(client, "kari", 4)
    assert sign_in(client, coordinator).status_code == 302
    client.post("/logg-ut/")
    assert fail(client, "kari", 4) == [200, 200, 200, 200]


def test_attempts_are_recorded_without_the_password(client, coordinator):
    fail(client, "kari", 2)
    attempt = AccessAttempt.objects.get(username="kari")
    assert attempt.failures_since_start == 2
    assert "feil-passord-1" not in attempt.post_data


@pytest.mark.parametrize("how", ["login", "force_login"])
def test_the_test_client_can_still_sign_in_without_a_request(client, coordinator, how):
    # Django's test client authenticates without an HTTP request; there is no client
    # address to throttle, and the rest of the suite relies on it.
    if how == "login":
        assert client.login(username="kari", password=PASSWORD)
    else:
        client.force_login(coordinator)
    assert int(client.session["_auth_user_id"]) == coordinator.pk
    assert client.get("/logg-inn/").status_code == 302  # signed in: sent on
