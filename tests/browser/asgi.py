"""The real ASGI application plus static files, for the browser tests' server.

ipplan.asgi leaves static files to the web server in front of it (as in production);
a test server has none, so Django's static files handler serves them here.
"""

from channels.routing import ProtocolTypeRouter
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from ipplan.asgi import application as ipplan_application
from ipplan.asgi import django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": ipplan_application.application_mapping["websocket"],
    }
)
