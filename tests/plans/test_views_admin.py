"""The admin: theme templates are edited there, plan data only shown (and logged)."""

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ipplan.plans.models import AccessLog, Goal, ThemeTemplate
from tests.conftest import make_user

from .pages_support import fast_passwords, log_count  # noqa: F401


@pytest.fixture
def admin_client(orgs):
    """Ada Admin, signed in with her second factor (the admin requires it)."""
    admin = make_user("ada", "Ada", "Admin", orgs["unit"], is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=admin, name="Authenticator", confirmed=True)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.admin = admin
    return client


def test_the_administrator_edits_the_theme_templates_in_the_list(admin_client, theme_templates):
    response = admin_client.get("/admin/plans/themetemplate/")
    assert response.status_code == 200
    assert "Bolig" in response.content.decode()
    assert admin_client.get("/admin/plans/themetemplate/add/").status_code == 200


def test_plan_content_is_read_only_in_the_admin(admin_client, plan):
    goal = Goal.objects.get(plan=plan)
    assert admin_client.get("/admin/plans/plan/add/").status_code == 403
    response = admin_client.post(f"/admin/plans/goal/{goal.pk}/change/", {"text": "Endret i admin"})
    assert response.status_code == 403
    goal.refresh_from_db()
    assert goal.text == "Egen leilighet"


def test_opening_plan_data_in_the_admin_is_logged_as_a_read(admin_client, plan):
    before = log_count(plan)
    assert admin_client.get(f"/admin/plans/plan/{plan.pk}/change/").status_code == 200
    assert log_count(plan) == before + 1
    entry = AccessLog.objects.filter(plan=plan).order_by("-pk").first()
    assert (entry.user, entry.detail) == (admin_client.admin, "admin")


def test_the_access_log_cannot_be_changed_in_the_admin(admin_client, plan):
    entry = AccessLog.objects.filter(plan=plan).first() or AccessLog.objects.create(
        plan=plan, via="page"
    )
    assert (
        admin_client.post(f"/admin/plans/accesslog/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def test_people_are_edited_in_the_admin(admin_client, plan):
    assert admin_client.get(f"/admin/plans/person/{plan.person.pk}/change/").status_code == 200


def test_theme_templates_order_the_themes_of_new_plans(theme_templates):
    assert list(ThemeTemplate.objects.values_list("title", flat=True))[:2] == [
        "Bolig",
        "Meningsfull aktivitet",
    ]
