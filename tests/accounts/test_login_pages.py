"""Logging in and out through the site's own pages."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_login_page_has_a_labelled_form_and_landmarks(client, db):
    response = client.get(reverse("login"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="nb">' in page
    assert '<main id="main"' in page
    assert 'href="#main"' in page  # skip link
    assert '<label class="field__label" for="id_username">' in page
    assert '<label class="field__label" for="id_password">' in page
    assert "csrfmiddlewaretoken" in page
    assert "/static/css/ipplan.css" in page
    assert 'type="module"' in page and "/static/js/app.js" in page


def test_a_coordinator_logs_in_and_lands_on_the_dashboard(client, coordinator):
    response = client.post(reverse("login"), {"username": "kari", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:dashboard")
    assert client.get(reverse("plans:dashboard")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, coordinator):
    response = client.post(reverse("login"), {"username": "kari", "password": "feil"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_logging_in_returns_to_the_page_asked_for(client, plan):
    address = reverse("plans:detail", args=[plan.pk])
    response = client.get(address)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(
        response["Location"], {"username": "siv", "password": PASSWORD, "next": address}
    )
    assert response["Location"] == address


def test_logging_out_is_a_post_from_the_header(client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("plans:dashboard")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in page
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("plans:dashboard")).status_code == 302


def test_the_admin_link_is_shown_to_superusers_only(client, coordinator, orgs):
    from tests.conftest import make_user

    client.force_login(coordinator)
    assert reverse("admin:index") not in client.get(reverse("plans:dashboard")).content.decode()
    admin = make_user("ada", "Ada", "Admin", orgs["unit"], is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert reverse("admin:index") in client.get(reverse("plans:dashboard")).content.decode()
