from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "ipplan.courses"
    label = "courses"
