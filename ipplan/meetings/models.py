from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Meeting(models.Model):
    """An ansvarsgruppemøte. The plan's themes are its agenda."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planlagt")
        IN_PROGRESS = "in_progress", _("Pågår")
        CLOSED = "closed", _("Avsluttet")

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="meetings")
    scheduled_at = models.DateTimeField(_("tidspunkt"))
    place = models.CharField(_("sted eller videolenke"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    agenda = models.ManyToManyField(
        "plans.Theme", through="AgendaItem", related_name="+", verbose_name=_("dagsorden")
    )
    current_item = models.ForeignKey(
        "AgendaItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    start_revision = models.PositiveIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_revision = models.PositiveIntegerField(null=True, blank=True)
    next_meeting_at = models.DateTimeField(_("neste møte"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at"]
        verbose_name = _("ansvarsgruppemøte")
        verbose_name_plural = _("ansvarsgruppemøter")

    def __str__(self) -> str:
        return f"{self.plan} {self.scheduled_at:%Y-%m-%d}"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    theme = models.ForeignKey("plans.Theme", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    decision = models.CharField(_("beslutning"), max_length=500, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "theme"], name="theme_once_per_agenda")
        ]

    def __str__(self) -> str:
        return str(self.theme)


class Attendee(models.Model):
    """Someone present: a user (recorded on join) or a person without an account."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("navn"), max_length=200, blank=True)
    role = models.CharField(_("rolle"), max_length=200, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"],
                condition=models.Q(user__isnull=False),
                name="user_attends_once",
            )
        ]

    def __str__(self) -> str:
        return str(self.user or self.name)
