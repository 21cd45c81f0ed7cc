"""Meeting records, acknowledgements, comment threads and reviews.

The meeting record is not written by anyone: it is built from the plan's change log
when the meeting closes (see builder.py) and frozen. Corrections are new changes to
the plan, which appear in the next meeting's record; the frozen record never changes,
and the database refuses to update or delete it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MeetingRecord(models.Model):
    """The record (referat) of one closed meeting: JSON content built at close."""

    meeting = models.OneToOneField(
        "meetings.Meeting", on_delete=models.PROTECT, related_name="record"
    )
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="records")
    start_revision = models.PositiveIntegerField()
    end_revision = models.PositiveIntegerField()
    content = models.JSONField()
    # SHA-256 of the canonical JSON content, so a copy (PDF, export) can be checked
    # against the stored record.
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("meeting record")
        verbose_name_plural = _("meeting records")

    def __str__(self) -> str:
        return f"{self.meeting}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("A meeting record cannot be changed once it is made.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> None:
        raise ValueError("A meeting record cannot be deleted.")


class RecordAcknowledgement(models.Model):
    """'I have read this': one per person per record, never withdrawn."""

    record = models.ForeignKey(
        MeetingRecord, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("acknowledgement of a meeting record")
        verbose_name_plural = _("acknowledgements of meeting records")
        constraints = [
            models.UniqueConstraint(fields=["record", "user"], name="acknowledge_record_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.at:%Y-%m-%d %H:%M}"


class Comment(models.Model):
    """A comment on a theme, goal or measure. Threads are one level deep: a reply's
    parent is the thread's first comment, which also carries the resolved state."""

    class Target(models.TextChoices):
        THEME = "theme", _("Main theme")
        GOAL = "goal", _("Goal")
        MEASURE = "measure", _("Measure")

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="comments")
    target_type = models.CharField(max_length=10, choices=Target.choices)
    target_id = models.BigIntegerField()
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_comments"
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["plan", "target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.author} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class Review(models.Model):
    """'I have reviewed revision N' of a plan. Kept as a history; the latest counts."""

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [models.Index(fields=["user", "plan", "-revision"])]

    def __str__(self) -> str:
        return f"{self.user} r{self.revision}"
