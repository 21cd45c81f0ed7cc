"""Issuing a token in the admin shows the secret once, on the page after saving, and
stores only its hash; revoking is an admin action; tokens cannot be deleted."""

from __future__ import annotations

import hashlib

from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from ipplan.api.admin import ApiTokenAdmin
from ipplan.api.models import ApiToken
from tests.conftest import make_user


def _request(user):
    request = RequestFactory().post("/admin/api/apitoken/add/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_the_secret_is_shown_once_and_only_its_hash_is_kept(specialist, orgs):
    admin_user = make_user("ada", "Ada", "Admin", orgs["unit"], is_staff=True, is_superuser=True)
    model_admin = ApiTokenAdmin(ApiToken, admin.site)
    request = _request(admin_user)
    token = ApiToken(name="EPJ", user=specialist, organisation=orgs["dps"])
    model_admin.save_model(request, token, form=None, change=False)

    response = model_admin.response_add(request, token)
    response.render()
    page = response.content.decode()
    stored = ApiToken.objects.get()
    secret = next(word for word in page.replace('"', " ").split() if word.startswith("ipp_"))
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.created_by == admin_user
    assert response["Cache-Control"] == "no-store"
    # Not in a message (messages can travel in a cookie), and never shown again.
    assert not list(request._messages)
    change_page = model_admin.get_fields(request, stored)
    assert "key_hash" not in change_page


def test_the_revoke_action_and_no_deletion(specialist, orgs, issue_token):
    issue_token(specialist, orgs["dps"])
    admin_user = make_user("ada", "Ada", "Admin", orgs["unit"], is_staff=True, is_superuser=True)
    model_admin = ApiTokenAdmin(ApiToken, admin.site)
    request = _request(admin_user)
    model_admin.revoke(request, ApiToken.objects.all())
    token = ApiToken.objects.get()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    assert not model_admin.has_delete_permission(request, token)
