"""The floor for the live benchmark: a bare Channels group relay.

    ws://host/relay/<room>/

A consumer joins the group of its room and group_sends every text frame it receives to
that group, sender included: no database, no validation, no ordering, no session.
Served by the same ASGI server, worker count and channel layer (the layer ipplan's
settings build from REDIS_URL: RedisPubSubChannelLayer) as ipplan itself, so the
difference between the two is what ipplan does per edit.

    REDIS_URL=redis://127.0.0.1:6379/13 uvicorn --workers 2 bench.floor_relay:application

bench/live_load.py starts it; it is not meant to be deployed.
"""

from __future__ import annotations

from django.conf import settings

if not settings.configured:
    from ipplan import settings as ipplan_settings  # reads REDIS_URL like production

    settings.configure(
        CHANNEL_LAYERS=ipplan_settings.CHANNEL_LAYERS,
        INSTALLED_APPS=["channels"],
        USE_TZ=True,
    )
    import django

    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        room = self.scope["url_route"]["kwargs"]["room"]
        self.group = f"floor.{room}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(self.group, {"type": "relay", "text": text_data})

    async def relay(self, message: dict) -> None:
        await self.send(text_data=message["text"])


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [re_path(r"^relay/(?P<room>[0-9A-Za-z_-]{1,40})/$", RelayConsumer.as_asgi())]
        )
    }
)
