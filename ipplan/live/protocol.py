"""The live protocol's message schemas (JSON Schema 2020-12) and frame validation.

docs/protocol.md shows the same schemas (a test keeps the two identical). Every frame a
client sends is parsed and validated here before the consumer looks at it; what the
schema lets through is then validated in depth and authorised by the services.
Server messages have schemas too, so the tests can check everything the server sends.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

# Close codes (WebSocket application range 4000-4999), mirrored on HTTP status codes.
CLOSE_UNAUTHENTICATED = 4401  # no session, or the session ended (logout, expiry)
CLOSE_FORBIDDEN = 4403  # access to the plan removed (membership, consent, closed account)
CLOSE_NOT_FOUND = 4404  # no such plan (or not yours: we never say which), or bad meeting
CLOSE_TOO_LARGE = 4413  # a frame over IPPLAN_LIVE_MAX_FRAME_BYTES
CLOSE_RATE_LIMITED = 4429  # kept sending after being told to slow down

ERROR_CODES = [
    "invalid",  # the message or operation is not valid (details in message/field)
    "forbidden",  # you may not do this
    "not_found",  # the object does not exist (or was deleted)
    "stale",  # the op does not fit the revision it names
    "conflict",  # a concurrent request won; send again
    "rate_limited",  # too many messages; this one was dropped, send it again later
    "bad_frame",  # not JSON, not an object, unknown type, or against the schema
    "unavailable",  # the server could not complete it (e.g. database); send it again
]

_ID = {"type": "integer", "minimum": 1, "maximum": 2**53 - 1}
_REV = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
_OP_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
_OP_ID_RE = re.compile("[A-Za-z0-9_-]{1,64}")
_NAME = {"type": "string", "pattern": "^[a-z][a-z_]{0,49}$"}

OPERATION = {
    "type": "object",
    "properties": {
        "type": {"enum": ["set", "text", "create", "delete", "restore", "move"]},
        "target": _NAME,
        "id": _ID,
        "field": _NAME,
        "value": {"type": ["string", "integer", "boolean", "null"]},
        "ops": {
            "type": "array",
            "maxItems": 10000,
            "items": {"type": ["integer", "string"]},
        },
        "values": {"type": "object", "maxProperties": 50},
        "position": {"type": "integer", "minimum": 0, "maximum": 100000},
        "theme": _ID,
    },
    "required": ["type", "target"],
    "additionalProperties": False,
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "set"}}},
            "then": {"required": ["field", "value"]},
        },
        {
            "if": {"properties": {"type": {"const": "text"}}},
            "then": {"required": ["field", "ops"]},
        },
        {
            "if": {"properties": {"type": {"const": "create"}}},
            "then": {"required": ["values"]},
        },
        {
            "if": {"properties": {"type": {"enum": ["delete", "restore"]}}},
            "then": {"required": ["id"]},
        },
        {
            "if": {"properties": {"type": {"const": "move"}}},
            "then": {"required": ["id", "position"]},
        },
    ],
}

CLIENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "op": {
        "type": "object",
        "properties": {
            "type": {"const": "op"},
            "op_id": _OP_ID,
            "base_rev": _REV,
            "op": OPERATION,
        },
        "required": ["type", "op_id", "base_rev", "op"],
        "additionalProperties": False,
    },
    "sync": {
        "type": "object",
        "properties": {"type": {"const": "sync"}, "since": _REV},
        "required": ["type", "since"],
        "additionalProperties": False,
    },
    "resync": {
        "type": "object",
        "properties": {"type": {"const": "resync"}},
        "required": ["type"],
        "additionalProperties": False,
    },
    "presence": {
        "type": "object",
        "properties": {
            "type": {"const": "presence"},
            "focus": {
                "type": ["string", "null"],
                "pattern": "^[a-z][a-z_]{0,29}:[0-9]{1,16}(:[a-z][a-z_]{0,49})?$",
            },
        },
        "required": ["type", "focus"],
        "additionalProperties": False,
    },
    "meeting": {
        "type": "object",
        "properties": {
            "type": {"const": "meeting"},
            "action": {
                "enum": ["start", "goto", "close", "decision", "attendee_add", "attendee_remove"]
            },
            "request_id": _OP_ID,
            "item": {"oneOf": [_ID, {"type": "null"}]},
            "text": {"type": "string", "maxLength": 500},
            "user": _ID,
            "name": {"type": "string", "maxLength": 200},
            "role": {"type": "string", "maxLength": 200},
            "attendee": _ID,
        },
        "required": ["type", "action"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"action": {"const": "goto"}}},
                "then": {"required": ["item"]},
            },
            {
                "if": {"properties": {"action": {"const": "decision"}}},
                "then": {"required": ["item", "text"], "properties": {"item": _ID}},
            },
            {
                "if": {"properties": {"action": {"const": "attendee_add"}}},
                "then": {"anyOf": [{"required": ["user"]}, {"required": ["name"]}]},
            },
            {
                "if": {"properties": {"action": {"const": "attendee_remove"}}},
                "then": {"required": ["attendee"]},
            },
        ],
    },
    "ping": {
        "type": "object",
        "properties": {"type": {"const": "ping"}},
        "required": ["type"],
        "additionalProperties": False,
    },
}

_USER_REF = {
    "type": "object",
    "properties": {"id": _ID, "name": {"type": "string"}},
    "required": ["id", "name"],
}
_NULLABLE_ID = {"oneOf": [_ID, {"type": "null"}]}
_DATE = {"type": ["string", "null"]}

# The operation as committed: like OPERATION, but `values` of create/restore carry the
# whole object and a move carries its resulting position (and theme, goal, measures).
COMMITTED_OPERATION = {
    "type": "object",
    "properties": {
        "type": {"enum": ["set", "text", "create", "delete", "restore", "move"]},
        "target": {"type": "string"},
        "id": _ID,
    },
    "required": ["type", "target", "id"],
}

OP_MESSAGE = {
    "type": "object",
    "properties": {
        "type": {"const": "op"},
        "rev": _REV,
        "op_id": {"type": "string"},
        "op": COMMITTED_OPERATION,
        "user": _USER_REF,
        "at": {"type": "string"},
        "meeting": _NULLABLE_ID,
    },
    "required": ["type", "rev", "op_id", "op", "user", "at", "meeting"],
    "additionalProperties": False,
}

ACK_MESSAGE = {
    "type": "object",
    "properties": {
        "type": {"const": "ack"},
        "rev": _REV,
        "op_id": {"type": "string"},
        "op": COMMITTED_OPERATION,
        "result": {"type": "object"},
        "user": _USER_REF,
        "at": {"type": "string"},
        "meeting": _NULLABLE_ID,
    },
    "required": ["type", "rev", "op_id", "op", "result"],
    "additionalProperties": False,
}

YOU = {
    "type": "object",
    "properties": {
        "id": _ID,
        "name": {"type": "string"},
        "level": {"enum": ["read", "comment", "edit", "manage"]},
        "can_edit": {"type": "boolean"},
        "can_comment": {"type": "boolean"},
        "can_manage": {"type": "boolean"},
        "is_person": {"type": "boolean"},
        "member": _NULLABLE_ID,
    },
    "required": ["id", "name", "level", "can_edit", "can_comment", "can_manage", "member"],
}

PRESENCE_USERS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "focus": {"type": ["string", "null"]},
        },
        "required": ["id", "name", "focus"],
        "additionalProperties": False,
    },
}

MEETING_STATE = {
    "oneOf": [
        {"type": "null"},
        {
            "type": "object",
            "properties": {
                "id": _ID,
                "plan": _ID,
                "status": {"enum": ["planned", "in_progress", "closed"]},
                "scheduled_at": {"type": "string"},
                "place": {"type": "string"},
                "current_item": _NULLABLE_ID,
                "started_at": _DATE,
                "started_by": {"oneOf": [_USER_REF, {"type": "null"}]},
                "start_revision": {"oneOf": [_REV, {"type": "null"}]},
                "closed_at": _DATE,
                "closed_by": {"oneOf": [_USER_REF, {"type": "null"}]},
                "end_revision": {"oneOf": [_REV, {"type": "null"}]},
                "next_meeting_at": _DATE,
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": _ID,
                            "theme": _ID,
                            "title": {"type": "string"},
                            "position": {"type": "integer"},
                            "decision": {"type": "string"},
                        },
                        "required": ["id", "theme", "title", "position", "decision"],
                    },
                },
                "attendees": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": _ID,
                            "user": _NULLABLE_ID,
                            "name": {"type": "string"},
                            "role": {"type": "string"},
                            "joined_at": {"type": "string"},
                        },
                        "required": ["id", "user", "name", "role", "joined_at"],
                    },
                },
            },
            "required": [
                "id",
                "plan",
                "status",
                "scheduled_at",
                "place",
                "current_item",
                "items",
                "attendees",
            ],
        },
    ]
}

PLAN_STATE = {
    "type": "object",
    "properties": {
        "id": _ID,
        "person": {"type": "object", "required": ["name"]},
        "themes": {"type": "array", "items": {"type": "object", "required": ["id", "position"]}},
        "goals": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "theme", "position"]},
        },
        "measures": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "theme", "position"]},
        },
        "members": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "user", "name", "role", "access"]},
        },
    },
    "required": [
        "id",
        "person",
        "status",
        "coordinator",
        "what_matters",
        "themes",
        "goals",
        "measures",
        "members",
    ],
}

SERVER_SCHEMAS: dict[str, dict[str, Any]] = {
    "snapshot": {
        "type": "object",
        "properties": {
            "type": {"const": "snapshot"},
            "rev": _REV,
            "plan": PLAN_STATE,
            "meeting": MEETING_STATE,
            "you": YOU,
            "presence": PRESENCE_USERS,
        },
        "required": ["type", "rev", "plan", "meeting", "you", "presence"],
        "additionalProperties": False,
    },
    "op": OP_MESSAGE,
    "ack": ACK_MESSAGE,
    "ops": {
        "type": "object",
        "properties": {
            "type": {"const": "ops"},
            "since": _REV,
            "rev": _REV,
            "ops": {"type": "array", "items": {"oneOf": [OP_MESSAGE, ACK_MESSAGE]}},
        },
        "required": ["type", "since", "rev", "ops"],
        "additionalProperties": False,
    },
    "error": {
        "type": "object",
        "properties": {
            "type": {"const": "error"},
            "op_id": {"type": ["string", "null"]},
            "code": {"enum": ERROR_CODES},
            "message": {"type": "string"},
            "field": {"type": ["string", "null"]},
        },
        "required": ["type", "op_id", "code", "message", "field"],
        "additionalProperties": False,
    },
    "presence": {
        "type": "object",
        "properties": {"type": {"const": "presence"}, "users": PRESENCE_USERS},
        "required": ["type", "users"],
        "additionalProperties": False,
    },
    "meeting": {
        "type": "object",
        "properties": {"type": {"const": "meeting"}, "meeting": MEETING_STATE},
        "required": ["type", "meeting"],
        "additionalProperties": False,
    },
    "you": {
        "type": "object",
        "properties": {"type": {"const": "you"}, "you": YOU},
        "required": ["type", "you"],
        "additionalProperties": False,
    },
    "pong": {
        "type": "object",
        "properties": {"type": {"const": "pong"}},
        "required": ["type"],
        "additionalProperties": False,
    },
}


class FrameError(Exception):
    """A frame that is not a valid client message. `message` is safe to show."""

    def __init__(self, message: str, *, op_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.op_id = op_id


@cache
def _validator(direction: str, kind: str) -> Draft202012Validator:
    schemas = CLIENT_SCHEMAS if direction == "client" else SERVER_SCHEMAS
    schema = schemas[kind]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def parse_client_frame(text: str) -> dict[str, Any]:
    """Parse and validate one text frame from a client; raise FrameError if bad."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise FrameError("The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise FrameError("The message must be a JSON object.")
    # Refusals name the op (or meeting request) when it has a usable id, so the client
    # knows which of its messages was refused.
    op_id = data.get("op_id", data.get("request_id"))
    if not (isinstance(op_id, str) and _OP_ID_RE.fullmatch(op_id)):
        op_id = None
    try:
        _check_scalars(data)
    except FrameError as exc:
        raise FrameError(exc.message, op_id=op_id) from None
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_SCHEMAS:
        raise FrameError("Unknown message type.", op_id=op_id)
    if plainly_valid_text_op(data):
        return data
    errors = sorted(_validator("client", kind).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "message"
        raise FrameError(f"Invalid message ({where}).", op_id=op_id)
    return data


_NAME_RE = re.compile("[a-z][a-z_]{0,49}")
_TEXT_OP_KEYS = {"type", "target", "id", "field", "ops"}


def _in_range(value: Any, low: int) -> bool:
    return type(value) is int and low <= value <= _SAFE_INT


def plainly_valid_text_op(data: dict[str, Any]) -> bool:
    """True if `data` is an `op` frame carrying a text op that the schema certainly
    accepts; False means "ask the schema", not "invalid".

    Why: text ops are most of what a meeting sends, and the schema validator cost more
    CPU per op than applying the op (docs/performance.md). This check is strictly
    narrower than the schema (exact types, no bool for int, full matches), which
    tests/live/test_protocol_fast.py checks against the schema on generated frames.
    """
    if data.keys() != {"type", "op_id", "base_rev", "op"} or data["type"] != "op":
        return False
    op_id, op = data["op_id"], data["op"]
    if not (type(op_id) is str and _OP_ID_RE.fullmatch(op_id)):
        return False
    if not _in_range(data["base_rev"], 0) or type(op) is not dict or op.get("type") != "text":
        return False
    keys = op.keys()
    if not keys <= _TEXT_OP_KEYS or len(keys) < 4 or ("id" in op and not _in_range(op["id"], 1)):
        return False
    target, field, ops = op.get("target"), op.get("field"), op.get("ops")
    if not (type(target) is str and _NAME_RE.fullmatch(target)):
        return False
    if not (type(field) is str and _NAME_RE.fullmatch(field)):
        return False
    if type(ops) is not list or len(ops) > 10_000:
        return False
    return all(type(c) is int or type(c) is str for c in ops)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SAFE_INT = 2**53 - 1


def _check_scalars(data: Any) -> None:
    """Refuse what no honest client sends and no layer below can hold: NUL characters
    and unpaired surrogates (PostgreSQL text and UTF-8 cannot store them) and integers
    beyond JavaScript's safe range (ids and positions never get there)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise FrameError("The message contains characters that cannot be stored.")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not -_SAFE_INT <= value <= _SAFE_INT:
                raise FrameError("A number in the message is out of range.")
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def server_message_errors(message: dict[str, Any]) -> list[str]:
    """Schema violations of a server message (used by the tests)."""
    kind = message.get("type")
    if kind not in SERVER_SCHEMAS:
        return [f"unknown server message type {kind!r}"]
    return [e.message for e in _validator("server", kind).iter_errors(message)]
