"""Password authentication with login throttling (django-axes)."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class ThrottledModelBackend(AxesStandaloneBackend, ModelBackend):
    """ModelBackend that first refuses locked-out clients.

    One backend instead of axes' recommended pair (AxesBackend + ModelBackend), so
    `login(request, user)` never has to be told which backend to record.

    Every login over HTTP passes its request and is throttled. A call without one
    (Django's test client, a shell) has no client to throttle; axes would raise,
    we check the password alone. Failures are still counted by axes' signal handler
    whenever a request is at hand.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is not None:
            # Raises AxesBackendPermissionDenied (a PermissionDenied) when locked out.
            AxesStandaloneBackend.authenticate(self, request, username, password, **kwargs)
        return ModelBackend.authenticate(self, request, username, password, **kwargs)
