from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ipplan.api"
    label = "api"
