from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ipplan.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # Registers the token scheme with drf-spectacular.
        from . import authentication  # noqa: F401
