"""Tell open sockets that a plan changed. Only ids and revisions travel over the channel
layer, never plan text: clients fetch the committed changes from the database."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def plan_group(plan_id: int) -> str:
    return f"plan.{plan_id}"


def notify_plan_changed(*, plan_id: int, revision: int) -> None:
    _send(plan_id, {"type": "plan.changed", "plan": plan_id, "rev": revision})


def notify_access_changed(*, plan_id: int) -> None:
    """Membership or consent changed: every socket on the plan re-checks its access."""
    _send(plan_id, {"type": "plan.access", "plan": plan_id})


def _send(plan_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(plan_group(plan_id), message)
    except Exception:
        # The change is committed; clients notice the revision gap and catch up.
        logger.warning("live notify failed for plan %s", plan_id, exc_info=True)
