from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "ipplan.courses"
    label = "courses"
    verbose_name = "Behandlingsløp"

    def ready(self) -> None:
        # Treatment courses are plan content: forms, the API and the live meeting room
        # write them with the same operations as goals and measures (target "course"),
        # so every change is checked, logged in the plan's change log and sent live.
        from ipplan.plans import services

        from .models import TreatmentCourse
        from .rules import check_course

        spec = services.FieldSpec
        services.FIELDS["course"] = {
            "kind": spec("enum", required=True, choices=TreatmentCourse.Kind),
            "provider": spec("text", required=True, max_length=200),
            "referral_date": spec("date"),
            "start_date": spec("date"),
            "planned_end": spec("date"),
            "status": spec("enum", required=True, choices=TreatmentCourse.Status),
            "end_date": spec("date"),
            "break_reason": spec("enum", choices=TreatmentCourse.BreakReason),
            "break_note": spec("text", max_length=services.MAX_TEXT),
        }
        services.MODELS["course"] = TreatmentCourse
        services.CHECKS["course"] = check_course
        services.SOFT_DELETED.add("course")
