from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("planer/<int:plan_pk>/moter/nytt/", views.meeting_create, name="create"),
    path("moter/<int:pk>/", views.meeting_detail, name="detail"),
    path("moter/<int:pk>/endre/", views.meeting_edit, name="edit"),
    path("moter/<int:pk>/rom/", views.meeting_room, name="room"),
    path("moter/<int:pk>/start/", views.meeting_start, name="start"),
    path("moter/<int:pk>/tema/", views.meeting_goto, name="goto"),
    path("moter/<int:pk>/avslutt/", views.meeting_close, name="close"),
    path("moter/<int:pk>/deltakere/", views.attendee_add, name="attendee_add"),
    path(
        "moter/<int:pk>/deltakere/<int:attendee_pk>/fjern/",
        views.attendee_remove,
        name="attendee_remove",
    ),
    path("moter/<int:pk>/punkt/<int:item_pk>/beslutning/", views.decision_set, name="decision"),
]
