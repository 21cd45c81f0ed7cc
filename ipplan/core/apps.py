from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting pieces: security headers, production checks, log redaction."""

    name = "ipplan.core"
    label = "core"
    verbose_name = "ipplan core"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
