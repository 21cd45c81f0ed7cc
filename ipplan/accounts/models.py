from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """A service or agency: the coping unit, DPS/TSB, NAV, a GP office, housing."""

    name = models.CharField(_("navn"), max_length=200, unique=True)
    kind = models.CharField(_("type tjeneste"), max_length=100, blank=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisasjon")
        verbose_name_plural = _("organisasjoner")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisasjon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    title = models.CharField(_("stilling"), max_length=120, blank=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    is_unit_leader = models.BooleanField(
        _("enhetsleder"),
        default=False,
        help_text=_("Ser bare anonymisert statistikk, aldri planer eller personer."),
    )

    class Meta:
        verbose_name = _("bruker")
        verbose_name_plural = _("brukere")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
