"""API test helpers: clients for personas (session or token), URLs, and a clean
throttle state per test (the counters live in the cache)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from pytest_django.plugin import blocking_manager_key
from rest_framework.test import APIClient

from ipplan.api.services import token_issue
from ipplan.plans.models import Goal, Measure, Member
from tests.db_support import allow_flush, restore_append_only


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # the flush has run; put the access log's guard back
    # After the last test the test database itself is gone: nothing to restore.
    if nextitem is not None and "api_db" in getattr(item, "fixturenames", ()):
        with item.config.stash[blocking_manager_key].unblock():
            restore_append_only()


@pytest.fixture
def api_db(transactional_db):
    """A committed database (for requests served in other threads: the ASGI app, a live
    server) whose flush may empty the append-only access log."""
    restore_append_only()
    yield
    allow_flush()


def url(name: str, **kwargs: object) -> str:
    return reverse(f"api:{name}", kwargs=kwargs)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The personas are created per test; these tests never check a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def as_user(db):
    """A logged-in (session) API client for a persona; None for anonymous."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def issue_token(db):
    def make(user, organisation, **options) -> str:
        return token_issue(name="EPJ", user=user, organisation=organisation, **options)[1]

    return make


@pytest.fixture
def as_token(issue_token):
    """An API client authenticated with a fresh token for `user` at `organisation`."""

    def make(user, organisation, **options) -> APIClient:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {issue_token(user, organisation, **options)}"
        )
        return client

    return make


@pytest.fixture
def goal(plan) -> Goal:
    return Goal.objects.get(plan=plan)


@pytest.fixture
def measure(plan) -> Measure:
    return Measure.objects.get(plan=plan)


@pytest.fixture
def specialist_member(plan, specialist) -> Member:
    return Member.objects.get(plan=plan, user=specialist)
