from django.contrib.admin.apps import AdminConfig


class IpplanAdminConfig(AdminConfig):
    """django.contrib.admin with our site as the default `admin.site`, so every
    `@admin.register` lands on the restricted site (ipplan/core/admin_site.py)."""

    default_site = "ipplan.core.admin_site.IpplanAdminSite"
