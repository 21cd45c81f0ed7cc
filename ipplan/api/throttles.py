"""Rate limits: anonymous clients by IP, session users by user, tokens by token.

DRF's throttles copy the rate table at import; these read it per request, so that
settings (and tests' overrides) apply. Counters live in the default cache: give every
process the same cache (e.g. Redis) in production, or each process counts on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .models import ApiToken

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.request import Request


class _RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from None


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    scope = "anon"


class SessionUserThrottle(_RateFromSettings, UserRateThrottle):
    """Logged-in people (session). Token requests are counted by TokenThrottle instead."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TokenThrottle(_RateFromSettings, SimpleRateThrottle):
    """Per token, so one integration cannot starve another acting as the same user."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
