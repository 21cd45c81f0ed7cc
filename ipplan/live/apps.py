from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "ipplan.live"
    label = "live"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from .notify import on_user_logged_out

        # A logout closes that session's open sockets at once (docs/protocol.md).
        user_logged_out.connect(on_user_logged_out, dispatch_uid="ipplan.live.logout")
