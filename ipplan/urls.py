from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("ipplan.accounts.urls")),
    path("", include("ipplan.plans.urls")),
    path("", include("ipplan.meetings.urls")),
    path("", include("ipplan.courses.urls")),
    path("", include("ipplan.records.urls")),
    path("", include("ipplan.api.urls")),
]
