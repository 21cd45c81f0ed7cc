from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "ipplan.live"
    label = "live"
