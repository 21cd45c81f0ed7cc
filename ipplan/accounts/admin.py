from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "phone"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "organisation", "is_unit_leader"]
    list_filter = ["organisation", "is_unit_leader", "is_staff"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("ipplan"), {"fields": ["organisation", "title", "phone", "is_unit_leader"]}),
    ]
