"""Password rules: long, not common, not just digits, not like the username, not a
handful of characters, not built around an obvious word."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


@pytest.mark.parametrize(
    "password",
    [
        "kort-ord1",  # too short
        "123456789012345",  # only digits
        "password1234",  # common
        "aaaaaaaaaaaaaaaa",  # one character repeated
        "ababababababab12",  # too few different characters
        "Passord2024!!",  # built around "passord"
        "Sommer2025!!!",  # season + year, the classic
        "ipplan-ipplan-1",  # the service's name
        "KariKoordinator1",  # like the user's name
    ],
)
def test_weak_passwords_are_refused(password, coordinator):
    with pytest.raises(ValidationError):
        validate_password(password, user=coordinator)


@pytest.mark.parametrize(
    "password",
    ["tre-blå-hester-danser-i-regnet", "Kaffe og boller på fredag 7", "m9#Tq2!vLx8@wZ"],
)
def test_strong_passwords_are_accepted(password, coordinator):
    validate_password(password, user=coordinator)


def test_the_password_change_form_shows_the_rules(coordinator):
    from django.contrib.auth.forms import SetPasswordForm

    form = SetPasswordForm(
        coordinator, {"new_password1": "aaaaaaaaaaaaaaaa", "new_password2": "aaaaaaaaaaaaaaaa"}
    )
    assert not form.is_valid()
    assert "new_password2" in form.errors
