"""Plan pages. Every URL under /planer/<pk>/ answers 404 to anyone who may not read
the plan (ipplan.plans.permissions.get_plan_or_404)."""

from django.urls import path

from .views import access_log, consent, content, dashboard, members, plan

app_name = "plans"


def _content_urls(target: str, segment: str) -> list:
    return [
        path(
            f"planer/<int:pk>/{segment}/<int:obj_pk>/slett/",
            content.content_delete,
            {"target": target},
            name=f"{target}_delete",
        ),
        path(
            f"planer/<int:pk>/{segment}/<int:obj_pk>/flytt/",
            content.content_move,
            {"target": target},
            name=f"{target}_move",
        ),
    ]


urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("planer/", dashboard.plan_list, name="list"),
    path("planer/ny/", plan.plan_create, name="create"),
    path("planer/<int:pk>/", plan.plan_detail, name="detail"),
    path("planer/<int:pk>/rediger/", plan.plan_edit, name="edit"),
    # Main themes, goals and measures.
    path("planer/<int:pk>/hovedtema/ny/", content.theme_create, name="theme_create"),
    path(
        "planer/<int:pk>/hovedtema/<int:theme_pk>/rediger/", content.theme_edit, name="theme_edit"
    ),
    path(
        "planer/<int:pk>/hovedtema/<int:theme_pk>/mal/ny/", content.goal_create, name="goal_create"
    ),
    path("planer/<int:pk>/mal/<int:goal_pk>/rediger/", content.goal_edit, name="goal_edit"),
    path(
        "planer/<int:pk>/hovedtema/<int:theme_pk>/tiltak/ny/",
        content.measure_create,
        name="measure_create",
    ),
    path(
        "planer/<int:pk>/tiltak/<int:measure_pk>/rediger/",
        content.measure_edit,
        name="measure_edit",
    ),
    *_content_urls("theme", "hovedtema"),
    *_content_urls("goal", "mal"),
    *_content_urls("measure", "tiltak"),
    # The responsible group and consent.
    path("planer/<int:pk>/ansvarsgruppe/", members.members, name="members"),
    path(
        "planer/<int:pk>/ansvarsgruppe/<int:member_pk>/rediger/",
        members.member_edit,
        name="member_edit",
    ),
    path(
        "planer/<int:pk>/ansvarsgruppe/<int:member_pk>/avslutt/",
        members.member_deactivate,
        name="member_deactivate",
    ),
    path("planer/<int:pk>/samtykke/", consent.consent, name="consent"),
    path("planer/<int:pk>/innsynslogg/", access_log.access_log, name="access_log"),
]
