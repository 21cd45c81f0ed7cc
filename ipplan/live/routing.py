"""WebSocket routes (wrapped by ipplan.asgi in origin validation and session auth)."""

from django.urls import re_path

from .consumers import PlanConsumer

websocket_urlpatterns = [
    # Ids are bounded so a huge number is a 404, not a database overflow.
    re_path(r"^ws/plans/(?P<plan_id>[0-9]{1,18})/$", PlanConsumer.as_asgi()),
]
