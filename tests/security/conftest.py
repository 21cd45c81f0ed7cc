"""Fixtures for the security tests: administrators, TOTP devices and codes, and a
browser-like form submitter."""

import time
from html.parser import HTMLParser

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, make_user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # These tests sign in through the login form hundreds of times; the production
    # hasher is slow by design. What is tested here does not depend on the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(orgs):
    """Ada Admin: superuser, the only kind of user the admin site is for."""
    return make_user("ada", "Ada", "Admin", orgs["unit"], is_staff=True, is_superuser=True)


@pytest.fixture
def staff_user(orgs):
    """Stein Stab: staff flag but no superuser."""
    return make_user("stein", "Stein", "Stab", orgs["unit"], is_staff=True)


def add_totp_device(user, *, confirmed: bool = True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=confirmed)


def next_token(device: TOTPDevice) -> str:
    """The code the user's app shows now, or the next one if this one was used already
    (a TOTP code is accepted once; the device tolerates one step of clock drift)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time += device.step * (device.last_t + 1 - totp.t())
    return f"{totp.token():0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    right = next_token(device)
    return f"{(int(right) + 1) % 10**device.digits:0{device.digits}d}"


def unthrottle(device: TOTPDevice) -> None:
    """As if the device's back-off after a wrong code had passed."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)


def sign_in(client, user, *, password: str = PASSWORD, device: TOTPDevice | None = None, **extra):
    """Sign in through the real login pages (password, then code if the user has a device)."""
    response = client.post("/logg-inn/", {"username": user.username, "password": password}, **extra)
    if device is not None:
        assert response.status_code == 302 and response.url == "/logg-inn/kode/"
        response = client.post("/logg-inn/kode/", {"token": next_token(device)}, **extra)
    return response


class _FormParser(HTMLParser):
    """The values a browser would submit, per form on the page (action, values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self.data: dict[str, list[str]] | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.data = {}
            self.forms.append((a.get("action") or "", self.data))
        if self.data is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind in {"submit", "button", "file", "reset"}:
                return
            self.data.setdefault(name, []).append(
                a.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.data.setdefault(self._select, []).append(value)
                self._select_chosen = True

    def handle_data(self, data: str) -> None:
        if self._textarea and self.data is not None:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if self.data is None:
            return
        if tag == "textarea" and self._textarea:
            if self.data[self._textarea][-1].startswith("\n"):
                self.data[self._textarea][-1] = self.data[self._textarea][-1][1:]
            self._textarea = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.data.setdefault(self._select, []).append(self._select_first)
            self._select = None
        elif tag == "form":
            self.data = None


def form_with_field(html: str, field: str) -> tuple[str, dict[str, list[str]]]:
    """(action, values) of the first form on the page that has `field`."""
    parser = _FormParser()
    parser.feed(html)
    for action, data in parser.forms:
        if field in data:
            return action, data
    raise AssertionError(f"no form with a field named {field!r}")
