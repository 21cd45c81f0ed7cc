"""Issuing and revoking API tokens. Plan data is never written here (see plans.services)."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from ipplan.accounts.models import Organisation

from .models import ApiToken

TOKEN_PREFIX = "ipp"  # noqa: S105 (a label, not a secret)
# Tokens touched more recently than this are not written again: a busy integration
# would otherwise write a row on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def hash_token(raw: str) -> str:
    """SHA-256 of the whole token. The secret has 256 bits of entropy, so a fast hash
    is enough (no password stretching needed) and lets us look the token up by hash."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def token_issue(
    *,
    name: str,
    user: Any,
    organisation: Organisation,
    created_by: Any | None = None,
    expires_at: datetime.datetime | None = None,
    allow_write: bool = False,
) -> tuple[ApiToken, str]:
    """Create a token; return it and the secret, which is never stored or shown again."""
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name,
        user=user,
        organisation=organisation,
        allow_write=allow_write,
        prefix=prefix,
        key_hash=hash_token(raw),
        created_by=created_by,
        expires_at=expires_at,
    )
    return token, raw


def token_revoke(*, token: ApiToken, by: Any | None = None) -> ApiToken:
    """Revocation takes effect on the next request: authentication reads it every time."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = by
        token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token for this secret, or None. Records when it was last used."""
    token = (
        ApiToken.objects.select_related("user", "organisation")
        .filter(key_hash=hash_token(raw))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_usable_at(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
