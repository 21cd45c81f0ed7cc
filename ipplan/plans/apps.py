from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "ipplan.plans"
    label = "plans"
    verbose_name = "Individuelle planer"
