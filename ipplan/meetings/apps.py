from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "ipplan.meetings"
    label = "meetings"
    verbose_name = "Ansvarsgruppemøter"
