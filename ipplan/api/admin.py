"""Tokens in the admin: issue (the secret is shown once), see use, revoke. Tokens are
never edited or deleted: revocation keeps the record of who could do what, when."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .models import ApiToken
from .services import token_issue, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "organisation",
        "allow_write",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["organisation", "allow_write"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]
    fields = ["name", "user", "organisation", "allow_write", "expires_at"]
    readonly_fields_after_create = [
        "name",
        "user",
        "organisation",
        "allow_write",
        "expires_at",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return self.readonly_fields_after_create if obj else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return self.readonly_fields_after_create if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable after issue
        token, secret = token_issue(
            name=obj.name,
            user=obj.user,
            organisation=obj.organisation,
            created_by=request.user,
            expires_at=obj.expires_at,
            allow_write=obj.allow_write,
        )
        obj.pk = token.pk
        obj.prefix = token.prefix
        obj.key_hash = token.key_hash
        obj.created_at = token.created_at
        # Shown on the next page only (response_add), never stored or put in a message
        # (messages may travel in a cookie).
        request._issued_token_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: Any = None
    ) -> Any:
        secret = getattr(request, "_issued_token_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Token issued"),
            "token": obj,
            "secret": secret,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "api/token_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token, by=request.user)
        messages.success(request, _("The tokens were revoked."))
