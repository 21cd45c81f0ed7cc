"""/api/v1/ (the REST API), /api/schema/ (OpenAPI) and /api/docs/ (Swagger UI)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import docs, meetings, records, views

app_name = "api"

# Ids appear in every path: [^/]+ lets junk reach the view, which answers with the
# API's JSON 404 (and anything else under /api/ gets one from `not_found`).
PLAN = r"plans/(?P<plan_pk>[^/]+)"

router = SimpleRouter()
router.register("plans", views.PlanViewSet, basename="plan")
router.register(f"{PLAN}/members", views.MemberViewSet, basename="member")
router.register(f"{PLAN}/consents", views.ConsentViewSet, basename="consent")
router.register(f"{PLAN}/themes", views.ThemeViewSet, basename="theme")
router.register(f"{PLAN}/goals", views.GoalViewSet, basename="goal")
router.register(f"{PLAN}/measures", views.MeasureViewSet, basename="measure")
router.register(f"{PLAN}/courses", views.CourseViewSet, basename="course")
router.register(f"{PLAN}/meetings", meetings.MeetingViewSet, basename="meeting")
router.register(f"{PLAN}/records", records.MeetingRecordViewSet, basename="record")
router.register(f"{PLAN}/comments", records.CommentViewSet, basename="comment")
router.register(f"{PLAN}/changes", views.ChangeViewSet, basename="change")
router.register(f"{PLAN}/access-log", views.AccessLogViewSet, basename="access-log")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    re_path(rf"^api/v1/{PLAN}/fhir$", views.PlanFhirView.as_view(), name="plan-fhir"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs.api_docs, name="docs"),
    re_path(r"^api/", docs.not_found),
]
