"""Issue, list and revoke integration tokens from the command line.

    manage.py api_token issue --name "EPJ" --user epj --organisation "Mestringsenheten" \\
        [--write] [--days 365]
    manage.py api_token list
    manage.py api_token revoke PREFIX
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ipplan.accounts.models import Organisation
from ipplan.api.models import ApiToken
from ipplan.api.services import token_issue, token_revoke


class Command(BaseCommand):
    help = "Issue, list and revoke API tokens for system integrations."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue")
        issue.add_argument("--name", required=True)
        issue.add_argument("--user", required=True, help="Username of the service user.")
        issue.add_argument("--organisation", required=True, help="Organisation name.")
        issue.add_argument("--write", action="store_true", help="Allow writes.")
        issue.add_argument("--days", type=int, default=None, help="Expire after N days.")
        sub.add_parser("list")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _issue(self, options: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError("No active user with that username.")
        organisation = Organisation.objects.filter(name=options["organisation"]).first()
        if organisation is None:
            raise CommandError("No organisation with that name.")
        expires = None
        if options["days"] is not None:
            if options["days"] < 1:
                raise CommandError("--days must be at least 1.")
            expires = timezone.now() + datetime.timedelta(days=options["days"])
        token, secret = token_issue(
            name=options["name"],
            user=user,
            organisation=organisation,
            expires_at=expires,
            allow_write=options["write"],
        )
        self.stdout.write(f"Issued token {token.prefix} for {user} at {organisation}.")
        self.stdout.write("It is shown only now; store it in the integration:")
        self.stdout.write(secret)

    def _list(self, options: dict[str, Any]) -> None:
        for token in ApiToken.objects.select_related("user", "organisation"):
            state = "revoked" if token.revoked_at else "active"
            if token.expires_at and token.expires_at <= timezone.now():
                state = "expired"
            self.stdout.write(
                f"{token.prefix}  {state:8}  {'rw' if token.allow_write else 'r '}  "
                f"{token.name} · {token.user} · {token.organisation} · "
                f"last used {token.last_used_at or 'never'}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.filter(prefix=options["prefix"]).first()
        if token is None:
            raise CommandError("No token with that prefix.")
        token_revoke(token=token)
        self.stdout.write(f"Revoked {token.prefix}.")
