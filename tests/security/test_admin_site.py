"""The admin is for administrators (superusers) who signed in with a second factor;
staff status alone is not enough, and the admin's own password form is not a way in."""

import pytest

from .conftest import add_totp_device, sign_in

ADMIN = "/admin/"


def test_anonymous_visitors_are_sent_to_the_site_login(client, db):
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    response = client.get(response.url)
    assert response.status_code == 302 and response.url.startswith("/logg-inn/?next=")


@pytest.mark.parametrize("persona", ["coordinator", "staff_user", "leader", "person_user"])
def test_signed_in_non_administrators_are_refused(client, request, persona):
    user = request.getfixturevalue(persona)
    sign_in(client, user)
    response = client.get(ADMIN, follow=True)
    assert response.status_code == 403
    assert response.context["needs_otp"] is False
    assert client.get("/admin/accounts/user/").status_code in {302, 403}
    assert client.get("/admin/accounts/user/", follow=True).status_code == 403


def test_a_superuser_without_a_second_factor_is_refused_and_told_how_to_get_in(client, admin_user):
    sign_in(client, admin_user)
    response = client.get(ADMIN, follow=True)
    assert response.status_code == 403
    assert response.context["needs_otp"] is True
    assert "/konto/tofaktor/" in response.content.decode()


def test_a_superuser_signed_in_with_a_code_gets_the_admin(client, admin_user):
    device = add_totp_device(admin_user)
    sign_in(client, admin_user, device=device)
    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_password_form_does_not_sign_anyone_in(client, admin_user):
    response = client.post(
        "/admin/login/", {"username": "ada", "password": "demo-passord-123", "next": ADMIN}
    )
    assert response.status_code == 302 and response.url.startswith("/logg-inn/")
    assert "_auth_user_id" not in client.session


def test_every_registration_lands_on_the_restricted_site():
    from django.contrib import admin

    from ipplan.core.admin_site import IpplanAdminSite

    assert isinstance(admin.site, IpplanAdminSite)


def test_administrators_can_manage_second_factors_and_lockouts(client, admin_user):
    device = add_totp_device(admin_user)
    sign_in(client, admin_user, device=device)
    # Remove a lost phone's device; look at and clear login lockouts.
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").status_code == 200
    assert client.get("/admin/axes/accessattempt/").status_code == 200
