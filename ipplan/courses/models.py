from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from ipplan.plans.models import SoftDeleteQuerySet


class TreatmentCourse(models.Model):
    """A treatment course (behandlingsløp), e.g. TSB inpatient. Counted in the unit's
    yearly statistics (started, completed, broken off).

    Written only through ipplan.plans.services (target "course", registered in
    CoursesConfig.ready), so every change is in the plan's change log. Removal is a
    soft delete (deleted_at): history can show the course and restore it, and the
    statistics leave it out.
    """

    class Kind(models.TextChoices):
        TSB_INPATIENT = "tsb_inpatient", _("TSB døgn")
        TSB_OUTPATIENT = "tsb_outpatient", _("TSB poliklinisk")
        LAR = "lar", _("LAR")
        MH_INPATIENT = "mh_inpatient", _("Psykisk helsevern døgn")
        MH_OUTPATIENT = "mh_outpatient", _("Psykisk helsevern poliklinisk")
        OTHER = "other", _("Annet")

    class Status(models.TextChoices):
        REFERRED = "referred", _("Henvist")
        ONGOING = "ongoing", _("Pågår")
        COMPLETED = "completed", _("Fullført")
        BROKEN_OFF = "broken_off", _("Avbrutt")

    class BreakReason(models.TextChoices):
        SELF_DISCHARGE = "self_discharge", _("Skrev seg ut selv")
        DISCHARGED_RULES = "discharged_rules", _("Utskrevet pga. regelbrudd")
        NO_SHOW = "no_show", _("Møtte ikke")
        MOVED = "moved", _("Flyttet")
        OTHER = "other", _("Annet")

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="courses")
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    provider = models.CharField(_("behandlingssted"), max_length=200)
    referral_date = models.DateField(_("henvist"), null=True, blank=True)
    start_date = models.DateField(_("startet"), null=True, blank=True)
    planned_end = models.DateField(_("planlagt slutt"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REFERRED
    )
    end_date = models.DateField(_("avsluttet"), null=True, blank=True)
    break_reason = models.CharField(
        _("årsak til avbrudd"), max_length=20, choices=BreakReason.choices, blank=True
    )
    break_note = models.TextField(_("om avbruddet"), blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-referral_date", "pk"]
        verbose_name = _("behandlingsløp")
        verbose_name_plural = _("behandlingsløp")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.provider}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The services hand a cleared optional choice over as None (e.g. the break-off
        # reason when a course is corrected to completed); the column holds "".
        if self.break_reason is None:
            self.break_reason = ""
        super().save(*args, **kwargs)

    @property
    def is_closed(self) -> bool:
        return self.status in {self.Status.COMPLETED, self.Status.BROKEN_OFF}
