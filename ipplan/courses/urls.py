from django.urls import path

from . import views

app_name = "courses"
urlpatterns = [
    path("planer/<int:pk>/behandlingslop/ny/", views.course_create_view, name="create"),
    path(
        "planer/<int:pk>/behandlingslop/<int:course_pk>/rediger/",
        views.course_edit_view,
        name="edit",
    ),
    path(
        "planer/<int:pk>/behandlingslop/<int:course_pk>/slett/",
        views.course_delete_view,
        name="delete",
    ),
    path("statistikk/behandlingslop/", views.statistics_view, name="statistics"),
    path("statistikk/behandlingslop.csv", views.statistics_csv_view, name="statistics_csv"),
]
