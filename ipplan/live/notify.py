"""Tell open sockets that something changed. Only ids and revisions travel over the
channel layer, never plan text: sockets read what changed from the database.

Delivery is at most once (both Redis layers can drop), so nothing here is needed for
correctness: clients notice a revision gap and catch up, and sockets re-check access
and meeting state on a timer. These messages only make things fast.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def plan_group(plan_id: int) -> str:
    return f"plan.{plan_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def notify_plan_changed(*, plan_id: int, revision: int) -> None:
    _send(plan_group(plan_id), {"type": "plan.changed", "plan": plan_id, "rev": revision})


def notify_access_changed(*, plan_id: int) -> None:
    """Membership or consent changed: every socket on the plan re-checks its access."""
    _send(plan_group(plan_id), {"type": "plan.access", "plan": plan_id})


def notify_meeting_changed(*, plan_id: int, meeting_id: int) -> None:
    """A meeting of the plan changed: sockets re-read it and send its state."""
    _send(plan_group(plan_id), {"type": "meeting.changed", "plan": plan_id, "meeting": meeting_id})


def notify_user_logged_out(*, user_id: int) -> None:
    """The user logged out somewhere: their sockets re-check their session and close."""
    _send(user_group(user_id), {"type": "user.session", "user": user_id})


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The change is committed; clients notice the revision gap and catch up.
        logger.warning("live notify failed for %s", group, exc_info=True)


def on_user_logged_out(
    sender: object, request: object = None, user: object = None, **kwargs: object
) -> None:
    """user_logged_out receiver (connected in LiveConfig.ready): close that session's
    sockets now rather than at their next periodic check."""
    if user is not None and getattr(user, "pk", None) is not None:
        notify_user_logged_out(user_id=user.pk)
