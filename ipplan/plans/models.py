"""The individual plan (individuell plan) and its legal content.

Every write goes through ipplan.plans.services, which bumps Plan.revision and writes
one Change row per accepted operation. Theme, Goal and Measure are soft-deleted
(deleted_at) so that history can show them and "restore" can bring them back.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ThemeTemplate(models.Model):
    """Default main themes for new plans (BrukerPlan's life domains), editable in admin."""

    code = models.SlugField(_("kode"), max_length=50, unique=True)
    title = models.CharField(_("tittel"), max_length=200)
    description = models.TextField(_("beskrivelse"), blank=True)
    position = models.PositiveIntegerField(_("rekkefølge"), default=0)
    is_active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["position", "title"]
        verbose_name = _("mal for hovedtema")
        verbose_name_plural = _("maler for hovedtema")

    def __str__(self) -> str:
        return self.title


class Person(models.Model):
    """The person the plan belongs to (the plan's owner in law and in spirit)."""

    first_name = models.CharField(_("fornavn"), max_length=100)
    last_name = models.CharField(_("etternavn"), max_length=100)
    birth_date = models.DateField(_("fødselsdato"))
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    email = models.EmailField(_("e-post"), blank=True)
    address = models.CharField(_("adresse"), max_length=250, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("brukerkonto"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("person")
        verbose_name_plural = _("personer")

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: datetime.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Utkast")
        ACTIVE = "active", _("Aktiv")
        CLOSED = "closed", _("Avsluttet")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="plans"
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("koordinator"),
        on_delete=models.PROTECT,
        related_name="coordinated_plans",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    period_start = models.DateField(_("planperiode fra"))
    period_end = models.DateField(_("planperiode til"), null=True, blank=True)
    next_evaluation = models.DateField(_("neste evaluering"), null=True, blank=True)
    what_matters = models.TextField(_("det som er viktig for meg"), blank=True)
    resources = models.TextField(_("mine ressurser"), blank=True)
    needs = models.TextField(_("mine behov"), blank=True)
    cooperation = models.TextField(
        _("samarbeid med andre tjenester"),
        blank=True,
        help_text=_("Samarbeid med andre tjenester, institusjoner og etater, og delplaner."),
    )
    revision = models.PositiveIntegerField(_("revisjon"), default=0)
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
    )
    updated_at = models.DateTimeField(_("sist endret"), auto_now=True)

    class Meta:
        ordering = ["person__last_name", "person__first_name"]
        verbose_name = _("individuell plan")
        verbose_name_plural = _("individuelle planer")
        constraints = [
            # One plan in use per person; closed plans are kept as history.
            models.UniqueConstraint(
                fields=["person"],
                condition=~Q(status="closed"),
                name="one_open_plan_per_person",
            )
        ]

    def __str__(self) -> str:
        return str(_("Individuell plan for %(name)s") % {"name": self.person.full_name})

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("plans:detail", args=[self.pk])


class Member(models.Model):
    """A member of the responsible group (ansvarsgruppe)."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("Koordinator")
        PERSON = "person", _("Personen selv")
        NEXT_OF_KIN = "next_of_kin", _("Pårørende")
        SPECIALIST = "specialist", _("Tjenesteyter / spesialist")
        OTHER = "other", _("Annen")

    class Access(models.TextChoices):
        EDIT = "edit", _("Kan redigere")
        COMMENT = "comment", _("Kan kommentere")
        READ = "read", _("Kan lese")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("bruker"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("rolle"), max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisasjon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    service = models.CharField(_("tjeneste"), max_length=200, blank=True)
    contribution = models.TextField(_("bidrag i planen"), blank=True)
    access = models.CharField(
        _("tilgang"), max_length=10, choices=Access.choices, default=Access.COMMENT
    )
    active_from = models.DateField(_("aktiv fra"), default=datetime.date.today)
    active_to = models.DateField(_("aktiv til"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "role", "user__last_name"]
        verbose_name = _("medlem av ansvarsgruppen")
        verbose_name_plural = _("ansvarsgruppe")
        constraints = [
            models.UniqueConstraint(fields=["plan", "user"], name="one_membership_per_plan")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def is_active_on(self, day: datetime.date) -> bool:
        return self.active_from <= day and (self.active_to is None or self.active_to >= day)


class Consent(models.Model):
    """The person's consent: to the plan itself, or to sharing with named members."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("Samtykke til individuell plan")
        SHARING = "sharing", _("Samtykke til deling av taushetsbelagte opplysninger")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("type samtykke"), max_length=10, choices=Kind.choices)
    members = models.ManyToManyField(
        Member, verbose_name=_("gjelder medlemmer"), blank=True, related_name="consents"
    )
    scope = models.TextField(_("omfang"), blank=True)
    given_on = models.DateField(_("gitt"))
    expires_on = models.DateField(_("utløper"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("trukket tilbake"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registrert av"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_on", "-pk"]
        verbose_name = _("samtykke")
        verbose_name_plural = _("samtykker")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.given_on})"

    def is_valid_on(self, day: datetime.date) -> bool:
        return (
            self.withdrawn_at is None
            and self.given_on <= day
            and (self.expires_on is None or self.expires_on >= day)
        )

    @staticmethod
    def valid_q(day: datetime.date, prefix: str = "") -> Q:
        p = prefix
        return Q(**{f"{p}withdrawn_at__isnull": True, f"{p}given_on__lte": day}) & (
            Q(**{f"{p}expires_on__isnull": True}) | Q(**{f"{p}expires_on__gte": day})
        )


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)


class Theme(models.Model):
    """A main theme (hovedtema): structures the plan and the meeting's agenda."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="themes")
    template = models.ForeignKey(
        ThemeTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("tittel"), max_length=200)
    current_situation = models.TextField(_("nåsituasjon"), blank=True)
    position = models.PositiveIntegerField(_("rekkefølge"), default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("hovedtema")
        verbose_name_plural = _("hovedtema")

    def __str__(self) -> str:
        return self.title


class Goal(models.Model):
    class Level(models.TextChoices):
        MAIN = "main", _("Hovedmål")
        SUB = "sub", _("Delmål")

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Ikke startet")
        IN_PROGRESS = "in_progress", _("Pågår")
        ACHIEVED = "achieved", _("Nådd")
        NOT_ACHIEVED = "not_achieved", _("Ikke nådd")
        REVISED = "revised", _("Revidert")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="goals")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="goals")
    level = models.CharField(_("nivå"), max_length=10, choices=Level.choices, default=Level.MAIN)
    text = models.TextField(_("mål"))
    success_criterion = models.TextField(_("suksesskriterium (hvordan vet vi at målet er nådd)"))
    evaluation_date = models.DateField(_("evalueringsdato"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED
    )
    expressed_by = models.CharField(
        _("formulert av"), max_length=200, blank=True, help_text=_("F.eks. «meg selv».")
    )
    position = models.PositiveIntegerField(_("rekkefølge"), default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("mål")
        verbose_name_plural = _("mål")

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_overdue(self) -> bool:
        return (
            self.status
            in {
                self.Status.NOT_STARTED,
                self.Status.IN_PROGRESS,
            }
            and self.evaluation_date < timezone.localdate()
        )


class Measure(models.Model):
    """A measure (tiltak): what a service or person does, and who is responsible."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planlagt")
        ONGOING = "ongoing", _("Pågår")
        DONE = "done", _("Fullført")
        CANCELLED = "cancelled", _("Avlyst")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="measures")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="measures")
    goal = models.ForeignKey(
        Goal,
        verbose_name=_("knyttet til mål"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measures",
    )
    description = models.TextField(_("tiltak (hva)"))
    how = models.TextField(_("gjennomføring (hvordan)"), blank=True)
    responsible = models.ForeignKey(
        Member,
        verbose_name=_("ansvarlig"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measures",
    )
    responsible_service = models.CharField(_("ansvarlig tjeneste"), max_length=200, blank=True)
    scope = models.CharField(_("omfang / hyppighet"), max_length=200, blank=True)
    start_date = models.DateField(_("startdato"), null=True, blank=True)
    due_date = models.DateField(_("frist"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    position = models.PositiveIntegerField(_("rekkefølge"), default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("tiltak")
        verbose_name_plural = _("tiltak")

    def __str__(self) -> str:
        return self.description[:80]

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.status in {self.Status.PLANNED, self.Status.ONGOING}
            and self.due_date < timezone.localdate()
        )


class Change(models.Model):
    """One accepted operation on a plan: the audit trail, the live-sync log and the
    source of meeting records.

    Field changes carry before/after values. Text operations (kind=text) carry the
    operation as committed (after transformation) in payload["ops"] and the field's
    full value after it in `after`; the value before is the previous change's `after`
    (or the value in the create change), so it is not stored twice.
    """

    class Kind(models.TextChoices):
        CREATE = "create", _("Opprettet")
        SET = "set", _("Endret")
        TEXT = "text", _("Tekst endret")
        DELETE = "delete", _("Slettet")
        RESTORE = "restore", _("Gjenopprettet")
        MOVE = "move", _("Flyttet")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="changes")
    revision = models.PositiveIntegerField()
    op_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_changes"
    )
    at = models.DateTimeField(default=timezone.now)
    meeting = models.ForeignKey(
        "meetings.Meeting",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="changes",
    )
    via = models.CharField(max_length=10, default="form")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    target_type = models.CharField(max_length=20)
    target_id = models.BigIntegerField()
    field = models.CharField(max_length=50, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    base_revision = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "revision"]
        verbose_name = _("endring")
        verbose_name_plural = _("endringslogg")
        constraints = [
            models.UniqueConstraint(fields=["plan", "revision"], name="one_change_per_revision"),
            models.UniqueConstraint(fields=["plan", "op_id"], name="op_applied_once"),
        ]
        indexes = [models.Index(fields=["plan", "target_type", "target_id", "field"])]

    def __str__(self) -> str:
        return f"r{self.revision} {self.kind} {self.target_type}#{self.target_id} {self.field}"


class AccessLog(models.Model):
    """Every read of a plan: who, when, through what. Append-only (innsynslogg)."""

    class Via(models.TextChoices):
        PAGE = "page", _("Planside")
        PERSON_VIEW = "person", _("Min plan")
        EDIT = "edit", _("Redigering")
        HISTORY = "history", _("Historikk")
        RECORD = "record", _("Referat")
        LIVE = "live", _("Møterom (live)")
        API = "api", _("API")
        EXPORT = "export", _("Eksport")
        PDF = "pdf", _("PDF")
        FHIR = "fhir", _("FHIR-eksport")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="access_log")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=10, choices=Via.choices)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("innsynslogg")
        verbose_name_plural = _("innsynslogg")
        indexes = [models.Index(fields=["plan", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.via}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> None:
        raise ValueError("The access log is append-only.")
