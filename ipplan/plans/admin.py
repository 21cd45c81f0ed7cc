"""Admin: theme templates and people are edited here; plan data is read-only.

Plan content is written only through ipplan.plans.services (revision, change log,
live notifications), so the admin shows it but never changes it. Opening a plan's
data here is a read like any other and goes into the plan's access log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    AccessLog,
    Change,
    Consent,
    Goal,
    Measure,
    Member,
    Person,
    Plan,
    Theme,
    ThemeTemplate,
)

admin.site.site_header = _("ipplan administration")
admin.site.site_title = _("ipplan administration")


@admin.register(ThemeTemplate)
class ThemeTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "code", "position", "is_active"]
    list_display_links = ["code"]
    list_editable = ["title", "position", "is_active"]
    ordering = ["position", "title"]
    search_fields = ["title", "code"]
    prepopulated_fields = {"code": ["title"]}


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "birth_date", "user"]
    search_fields = ["last_name", "first_name"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: no add, change or delete (writes go through services)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlanDataAdmin(ReadOnlyAdmin):
    """Logs one access-log entry when an object of a plan is opened."""

    def plan_of(self, obj: Any) -> Plan:
        return obj.plan

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (
            getattr(response, "context_data", {}).get("original")
            if response.status_code == 200
            else None
        )
        if obj is not None:
            services.record_access(
                user=request.user, plan=self.plan_of(obj), via=AccessLog.Via.PAGE, detail="admin"
            )
        return response


@admin.register(Plan)
class PlanAdmin(PlanDataAdmin):
    # The list shows who and when, not health content.
    list_display = ["person", "status", "coordinator", "period_start", "period_end", "revision"]
    list_filter = ["status"]
    search_fields = ["person__last_name", "person__first_name"]
    list_select_related = ["person", "coordinator"]

    def plan_of(self, obj: Plan) -> Plan:
        return obj


@admin.register(Member)
class MemberAdmin(PlanDataAdmin):
    list_display = ["plan", "user", "role", "access", "active_from", "active_to"]
    list_select_related = ["plan__person", "user"]
    list_filter = ["role", "access"]


@admin.register(Consent)
class ConsentAdmin(PlanDataAdmin):
    list_display = ["plan", "kind", "given_on", "expires_on", "withdrawn_at"]
    list_select_related = ["plan__person"]
    list_filter = ["kind"]


@admin.register(Theme)
class ThemeAdmin(PlanDataAdmin):
    list_display = ["plan", "title", "position", "deleted_at"]
    list_select_related = ["plan__person"]


@admin.register(Goal)
class GoalAdmin(PlanDataAdmin):
    list_display = ["plan", "theme", "level", "status", "evaluation_date", "deleted_at"]
    list_select_related = ["plan__person", "theme"]


@admin.register(Measure)
class MeasureAdmin(PlanDataAdmin):
    list_display = ["plan", "theme", "status", "start_date", "due_date", "deleted_at"]
    list_select_related = ["plan__person", "theme"]


@admin.register(Change)
class ChangeAdmin(PlanDataAdmin):
    list_display = ["plan", "revision", "at", "user", "kind", "target_type", "target_id", "field"]
    list_select_related = ["plan__person", "user"]
    list_filter = ["kind", "target_type"]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "plan", "user", "via", "detail"]
    list_select_related = ["plan__person", "user"]
    list_filter = ["via"]
    date_hierarchy = "at"
