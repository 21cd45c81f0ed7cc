"""Optional TOTP second factor: staff turn it on themselves; whoever has it must enter
a code after the password, and is not signed in until they do."""

import time

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from ipplan.accounts.views import PENDING_KEY

from .conftest import add_totp_device, next_token, sign_in, unthrottle, wrong_token

LOGIN, CODE, SETUP = "/logg-inn/", "/logg-inn/kode/", "/konto/tofaktor/"


def password_step(client, user, **extra):
    return client.post(LOGIN, {"username": user.username, "password": "demo-passord-123"}, **extra)


# ----------------------------------------------------------------- signing in


def test_without_a_device_the_password_is_enough(client, coordinator):
    response = password_step(client, coordinator)
    assert response.status_code == 302 and response.url == "/"
    assert int(client.session["_auth_user_id"]) == coordinator.pk


def test_with_a_device_the_password_leads_to_the_code_step_and_does_not_sign_in(client, admin_user):
    add_totp_device(admin_user)
    response = password_step(client, admin_user)
    assert response.status_code == 302 and response.url == CODE
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # the dashboard still asks for login
    page = client.get(CODE)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()


def test_the_right_code_signs_in_verified(client, admin_user):
    device = add_totp_device(admin_user)
    password_step(client, admin_user)
    response = client.post(CODE, {"token": next_token(device)})
    assert response.status_code == 302 and response.url == "/"
    assert int(client.session["_auth_user_id"]) == admin_user.pk
    assert client.session["otp_device_id"] == device.persistent_id
    assert PENDING_KEY not in client.session


def test_the_code_step_keeps_the_page_the_user_asked_for(client, admin_user):
    device = add_totp_device(admin_user)
    client.post(LOGIN, {"username": "ada", "password": "demo-passord-123", "next": "/planer/"})
    response = client.post(CODE, {"token": next_token(device)})
    assert response.url == "/planer/"


def test_the_code_step_does_not_redirect_to_other_sites(client, admin_user):
    device = add_totp_device(admin_user)
    client.post(
        LOGIN, {"username": "ada", "password": "demo-passord-123", "next": "https://evil.example/"}
    )
    response = client.post(CODE, {"token": next_token(device)})
    assert response.url == "/"


def test_a_wrong_code_is_refused_with_a_message(client, admin_user):
    device = add_totp_device(admin_user)
    password_step(client, admin_user)
    response = client.post(CODE, {"token": wrong_token(device)})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert "_auth_user_id" not in client.session


def test_after_a_wrong_code_the_device_makes_the_next_guess_wait(client, admin_user):
    device = add_totp_device(admin_user)
    password_step(client, admin_user)
    client.post(CODE, {"token": wrong_token(device)})
    # Even the right code is refused during the back-off...
    assert client.post(CODE, {"token": next_token(device)}).status_code == 200
    assert "_auth_user_id" not in client.session
    # ...and accepted after it.
    unthrottle(device)
    assert client.post(CODE, {"token": next_token(device)}).status_code == 302


def test_wrong_codes_count_as_failed_logins_and_lock_out(client, admin_user):
    device = add_totp_device(admin_user)
    password_step(client, admin_user)
    statuses = []
    for _ in range(5):
        unthrottle(device)
        statuses.append(client.post(CODE, {"token": wrong_token(device)}).status_code)
    assert statuses == [200, 200, 200, 200, 429]
    unthrottle(device)
    # Locked out: neither the code step nor the password step lets the user in now.
    assert client.post(CODE, {"token": next_token(device)}).status_code == 429
    assert "_auth_user_id" not in client.session
    assert password_step(client, admin_user).status_code == 429


def test_the_code_step_without_a_password_step_goes_back_to_login(client, db):
    response = client.get(CODE)
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_the_code_step_expires(client, admin_user):
    device = add_totp_device(admin_user)
    password_step(client, admin_user)
    session = client.session
    session[PENDING_KEY]["since"] = int(time.time()) - 301
    session.save()
    response = client.post(CODE, {"token": next_token(device)})
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_an_unconfirmed_device_does_not_ask_for_a_code(client, admin_user):
    add_totp_device(admin_user, confirmed=False)
    response = password_step(client, admin_user)
    assert response.url == "/"


# ----------------------------------------------------------------- setting up


def test_staff_can_turn_on_two_step_sign_in(client, staff_user):
    client.force_login(staff_user)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert page.context["qr"].startswith("data:image/svg+xml")
    assert len(page.context["secret"].replace(" ", "")) == 32
    assert "no-store" in page["Cache-Control"]
    device = TOTPDevice.objects.get(user=staff_user, confirmed=False)

    response = client.post(SETUP, {"token": next_token(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.session["otp_device_id"] == device.persistent_id  # verified at once


def test_reloading_the_setup_page_keeps_the_same_secret(client, staff_user):
    client.force_login(staff_user)
    first = client.get(SETUP).context["secret"]
    assert client.get(SETUP).context["secret"] == first
    assert TOTPDevice.objects.filter(user=staff_user).count() == 1


def test_a_wrong_code_does_not_turn_it_on(client, staff_user):
    client.force_login(staff_user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=staff_user)
    response = client.post(SETUP, {"token": wrong_token(device)})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    device.refresh_from_db()
    assert not device.confirmed


def test_turning_it_off_needs_a_code(client, staff_user):
    device = add_totp_device(staff_user)
    sign_in(client, staff_user, device=device)
    unthrottle(device)
    assert client.post(SETUP, {"token": wrong_token(device)}).status_code == 200
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    unthrottle(device)
    assert client.post(SETUP, {"token": next_token(device)}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize("persona", ["coordinator", "person_user", "leader"])
def test_the_setup_page_is_not_there_for_non_staff(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(SETUP).status_code == 404


def test_the_setup_page_needs_a_signed_in_user(client, db):
    response = client.get(SETUP)
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_the_code_step_sends_a_signed_in_user_on(client, coordinator):
    client.force_login(coordinator)
    response = client.get(CODE)
    assert response.status_code == 302 and response.url == "/"
