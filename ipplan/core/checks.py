"""Deploy checks of our own, run by `manage.py check --deploy`.

Django's checks cannot know that our demo defaults (a published SECRET_KEY, SQLite,
an in-process channel layer, localhost hosts) are unfit for production. These turn
each such default into a warning, so `check --deploy --fail-level WARNING` passes only
for a configuration that really sets everything production needs.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEMO_HOSTS = {"127.0.0.1", "localhost", "testserver"}


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list:
    from ipplan import settings as ipplan_settings

    warnings = []
    if settings.SECRET_KEY == ipplan_settings._DEV_SECRET:
        warnings.append(
            Warning(
                "SECRET_KEY is the built-in demo key, which is public.",
                hint="Set SECRET_KEY to a long random value, kept out of the repository.",
                id="ipplan.W001",
            )
        )
    if not settings.IPPLAN_HTTPS:
        warnings.append(
            Warning(
                "IPPLAN_HTTPS is off: cookies may travel unencrypted and there is no HSTS.",
                hint="Serve over TLS and set IPPLAN_HTTPS=1.",
                id="ipplan.W002",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        warnings.append(
            Warning(
                "The database is not PostgreSQL.",
                hint="Set DATABASE_URL to a PostgreSQL database; SQLite is for the demo only.",
                id="ipplan.W003",
            )
        )
    layer = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if layer.endswith("InMemoryChannelLayer"):
        warnings.append(
            Warning(
                "The channel layer is in-memory: live edits reach only clients of one process.",
                hint="Set REDIS_URL.",
                id="ipplan.W004",
            )
        )
    if set(settings.ALLOWED_HOSTS) <= DEMO_HOSTS:
        warnings.append(
            Warning(
                "ALLOWED_HOSTS names only local demo hosts.",
                hint="Set ALLOWED_HOSTS to the public host name(s) of this installation.",
                id="ipplan.W005",
            )
        )
    if not getattr(settings, "AXES_ENABLED", False):
        warnings.append(
            Warning(
                "Login throttling (django-axes) is disabled.",
                hint="Leave AXES_ENABLED on.",
                id="ipplan.W006",
            )
        )
    if not getattr(settings, "IPPLAN_ADMIN_REQUIRE_OTP", False):
        warnings.append(
            Warning(
                "The admin site does not require a second factor.",
                hint="Leave IPPLAN_ADMIN_REQUIRE_OTP on.",
                id="ipplan.W007",
            )
        )
    if "ipplan.core.middleware.SecurityHeadersMiddleware" not in settings.MIDDLEWARE:
        warnings.append(
            Warning(
                "SecurityHeadersMiddleware is not installed: no Content Security Policy.",
                id="ipplan.W008",
            )
        )
    return warnings
