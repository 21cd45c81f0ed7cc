"""API tokens for system integrations (e.g. the municipality's EHR).

A token acts as its service user and is scoped to one organisation: it reaches only
plans where that user is an active member on behalf of that organisation (and covered
by consent, as for any member). Only a SHA-256 hash of the token is stored; the token
itself is shown once, when it is issued (see services.token_issue).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    name = models.CharField(
        _("name"), max_length=200, help_text=_("Which system uses it, e.g. “EHR Sandnes”.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service user"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text=_(
            "The token acts as this user: it sees only the plans this user is a member of."
        ),
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text=_("Only plans where the user is a member on behalf of this organisation."),
    )
    allow_write = models.BooleanField(
        _("may write"),
        default=False,
        help_text=_("Without this the token can only read."),
    )
    # The first characters of the token, stored in clear to tell tokens apart.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable_at(self, moment: datetime.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)
