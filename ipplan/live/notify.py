"""Tell open sockets that something changed. Only ids and revisions travel over the
channel layer, never plan text: sockets read what changed from the database.

Delivery is at most once (both Redis layers can drop), so nothing here is needed for
correctness: clients notice a revision gap and catch up, and sockets re-check access
and meeting state on a timer. These messages only make things fast.
"""

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

Message = tuple[str, dict]
_collector = threading.local()


def plan_group(plan_id: int) -> str:
    return f"plan.{plan_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def plan_changed_message(*, plan_id: int, revision: int) -> Message:
    return plan_group(plan_id), {"type": "plan.changed", "plan": plan_id, "rev": revision}


def notify_plan_changed(*, plan_id: int, revision: int) -> None:
    _send(*plan_changed_message(plan_id=plan_id, revision=revision))


def notify_access_changed(*, plan_id: int) -> None:
    """Membership or consent changed: every socket on the plan re-checks its access."""
    _send(plan_group(plan_id), {"type": "plan.access", "plan": plan_id})


def notify_meeting_changed(*, plan_id: int, meeting_id: int) -> None:
    """A meeting of the plan changed: sockets re-read it and send its state."""
    _send(plan_group(plan_id), {"type": "meeting.changed", "plan": plan_id, "meeting": meeting_id})


def session_tag(session_key: str | None) -> str | None:
    """A stand-in for a session key on the channel layer: the key itself is a secret."""
    if not session_key:
        return None
    return hashlib.sha256(f"ipplan-live-session:{session_key}".encode()).hexdigest()[:32]


def notify_user_logged_out(*, user_id: int, session_key: str | None = None) -> None:
    """The user logged out somewhere: the sockets of that session close at once, the
    user's other sockets re-check their own session.

    The ended session is named (by its tag) because Django sends `user_logged_out`
    before it flushes the session: a socket that re-checked its session on this
    message alone could still find it valid, and would close only at the next poll."""
    _send(
        user_group(user_id),
        {"type": "user.session", "user": user_id, "ended": session_tag(session_key)},
    )


@contextlib.contextmanager
def collecting() -> Iterator[list[Message]]:
    """Collect the notifications sent in this thread instead of publishing them.

    A live socket's database call runs on a worker thread; publishing from there
    (async_to_sync inside on_commit) holds that thread, and with it a database
    connection, for a Redis round trip per change. The socket publishes what was
    collected from its event loop instead (PlanConsumer.publish). If the block fails
    after something was committed, the notifications go out here before the error
    propagates, so none is lost to an exception.
    """
    outer = getattr(_collector, "sink", None)
    sink: list[Message] = []
    _collector.sink = sink
    try:
        yield sink
    except BaseException:
        _collector.sink = outer
        for group, message in sink:
            _send(group, message)
        raise
    _collector.sink = outer


def _send(group: str, message: dict) -> None:
    sink = getattr(_collector, "sink", None)
    if sink is not None:
        sink.append((group, message))
        return
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
        session = getattr(request, "session", None)
        notify_user_logged_out(user_id=user.pk, session_key=getattr(session, "session_key", None))
