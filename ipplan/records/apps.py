from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "ipplan.records"
    label = "records"
