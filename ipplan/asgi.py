"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Django is set up before the routing modules are imported (they import models)."""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipplan.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from ipplan.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin must match ALLOWED_HOSTS (never "*", enforced in settings); the
        # session cookie authenticates; every message is authorised in the consumer.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if settings.IPPLAN_GC_FREEZE:
    # Everything imported so far (Django, the apps, their modules and caches) lives as
    # long as the process. Left in the collector's care, each full collection walks all
    # of it while the event loop, and so every socket of the process, waits: 100-170 ms
    # a time under the live benchmark. Frozen, it is never walked again.
    gc.collect()
    gc.freeze()
