"""Password rules beyond Django's: length alone lets "aaaaaaaaaaaa" through."""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class CharacterVarietyValidator:
    """Refuse passwords built from only a few distinct characters."""

    def __init__(self, min_unique: int = 6) -> None:
        self.min_unique = min_unique

    def validate(self, password: str, user: Any = None) -> None:
        if len(set(password.lower())) < self.min_unique:
            raise ValidationError(
                ngettext(
                    "The password must contain at least %(min_unique)d different character.",
                    "The password must contain at least %(min_unique)d different characters.",
                    self.min_unique,
                ),
                code="password_too_uniform",
                params={"min_unique": self.min_unique},
            )

    def get_help_text(self) -> str:
        return _("Your password must contain at least %(min_unique)d different characters.") % {
            "min_unique": self.min_unique
        }


class NoServiceNameValidator:
    """Refuse passwords built around the service's name or an obvious word
    ("Passord2024!", "Sommer2025!"): what is left besides the word must be long."""

    WORDS = ("individuellplan", "ipplan", "passord", "password", "sommer", "vinter", "høst")
    MIN_REST = 8

    def validate(self, password: str, user: Any = None) -> None:
        folded = password.lower()
        found = [word for word in self.WORDS if word in folded]
        for word in found:
            folded = folded.replace(word, "")
        if found and len(folded) < self.MIN_REST:
            raise ValidationError(
                _("The password is too easy to guess: it is built around “%(word)s”."),
                code="password_guessable",
                params={"word": found[0]},
            )

    def get_help_text(self) -> str:
        return _("Your password cannot be built around an obvious word such as “passord”.")
