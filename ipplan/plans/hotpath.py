"""The live editor's hot path: one text op in two round trips, without ORM compilation.

`services.apply_operations` applies every op. The op a live meeting sends many times a
second is one text op on a plan, theme, goal or measure field; for it, apply_operations
first calls `apply_text_op` here, inside its transaction. This does the same work as
the general path with fewer statements, precompiled SQL (ipplan.core.precompiled) and
pipelining (each batch below is one round trip):

1. a batch of reads:
   a. lock the plan row (`SELECT … FOR UPDATE`), as every writer does;
   b. one statement, run *after* the lock is granted (in READ COMMITTED a statement
      sees what was committed before it began, so nothing judged here may ride on the
      lock statement, see services.apply_operations): is the op id known, is the
      meeting in progress, the user's membership and covering consent, and the
      target's current text;
   c. the text ops committed on the field since the sender's base revision;
2. one statement that updates the field and the plan revision and inserts the Change.

The rules are not copied: access is decided by permissions.access_from, the write
permission by services.write_refusal, the transform by services.transformed_text.
Anything but the plain case (a known op id, any refusal, another database than
PostgreSQL) returns None *before writing anything*, and the general path then answers in
the same transaction, so duplicates and refusals are handled in one place.

The logic is written once, without I/O (`text_op_steps`), and run by two drivers:
`apply_text_op` on Django's connection, and the live sockets' fast lane
(ipplan/live/fastlane.py) on an asynchronous connection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Value

from ipplan.core.precompiled import CompileError, Precompiled, run_batch
from ipplan.live import ot
from ipplan.live.notify import notify_plan_changed

from . import services
from .models import Change, Goal, Measure, Member, Plan, Theme
from .permissions import Level, _today, access_from, covering_consents, member_of

logger = logging.getLogger(__name__)

TARGETS: dict[str, type] = {"plan": Plan, "theme": Theme, "goal": Goal, "measure": Measure}

_LOCK = Precompiled(
    lambda plan_id: (
        Plan.objects.select_for_update()
        .filter(pk=plan_id)
        .values_list("revision", "status", "coordinator_id")
    ),
    plan_id=int,
)

_CONCURRENT = Precompiled(
    lambda plan_id, base, target, target_id, field: (
        Change.objects.filter(
            plan_id=plan_id,
            revision__gt=base,
            kind=Change.Kind.TEXT,
            target_type=target,
            target_id=target_id,
            field=field,
        )
        .order_by("revision")
        .values_list("payload", flat=True)
    ),
    plan_id=int,
    base=int,
    target=str,
    target_id=int,
    field=str,
)

_CONTEXT: dict[tuple[str, str, bool], Precompiled] = {}
_INSERTED_FIELDS = [f for f in Change._meta.concrete_fields if not f.primary_key]
_WRITE: dict[tuple[str, str, str], str] = {}


def enabled() -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "IPPLAN_HOT_PATH", True)


def apply_text_op(
    *,
    plan_id: int,
    user: Any,
    op: Any,
    op_id: Any,
    base_revision: Any,
    meeting_id: Any,
    via: str,
) -> services.OpResult | None:
    """Apply one plain text op, or return None (having written nothing) for the general
    path to handle. Must run inside the caller's transaction."""
    steps = text_op_steps(
        plan_id=plan_id,
        user=user,
        op=op,
        op_id=op_id,
        base_revision=base_revision,
        meeting_id=meeting_id,
        via=via,
    )
    try:
        batch = next(steps)
        while True:
            batch = steps.send(run_batch(batch))
    except StopIteration as done:
        result = done.value
    except CompileError as exc:
        warn_compile_error(exc)
        return None
    if result is not None:
        new_revision = result.revision
        transaction.on_commit(lambda: notify_plan_changed(plan_id=plan_id, revision=new_revision))
    return result


_warned = False


def warn_compile_error(exc: CompileError) -> None:
    # Precompiled caches the error, so this is every call from now on: say it once.
    global _warned
    if not _warned:
        _warned = True
        logger.warning("live hot path off: %s", exc)


Statement = tuple[str, list[Any]]


class Batch(list):
    """Statements for one round trip; `writes`: the op's last batch, which writes (a
    driver that owns the transaction can send COMMIT in the same round trip)."""

    def __init__(self, statements: list[Statement], *, writes: bool = False) -> None:
        super().__init__(statements)
        self.writes = writes


Steps = Generator[Batch, list[list[tuple]], "services.OpResult | None"]


def text_op_steps(
    *,
    plan_id: int,
    user: Any,
    op: Any,
    op_id: Any,
    base_revision: Any,
    meeting_id: Any,
    via: str,
    using: str = "default",
) -> Steps:
    """The hot path without its I/O: yields batches of statements (SQL, parameters),
    is sent back each statement's rows, and returns the op's result, or None if the
    general path must answer (nothing has been written then). Callers run the batches
    in order in one transaction, each batch in one round trip (pipelined): two round
    trips per op. `apply_text_op` runs them on Django's connection, the live sockets'
    fast lane (ipplan.live.fastlane) on an asynchronous one: one copy of the logic.

    The first batch reads everything the op is judged on; each of its statements runs
    after the one before has finished, so the reads still begin after the lock is
    granted (see the module docstring). It reads the text ops committed since the base
    revision even when there are none (an index probe that returns nothing): knowing
    whether there are any would cost a round trip of its own."""
    shape = _shape(op, op_id, base_revision)
    if shape is None:
        return None
    target, name, target_id, text_op, base_length = shape
    with_meeting = isinstance(meeting_id, int) and not isinstance(meeting_id, bool)

    values = {"plan_id": plan_id, "user_id": user.pk, "op_id": op_id, "day": _today()}
    object_id = plan_id
    if target != "plan":
        values["target_id"] = object_id = target_id
    if with_meeting:
        values["meeting_id"] = meeting_id
    locked, context, payloads = yield Batch(
        [
            _LOCK.sql(using, plan_id=plan_id),
            _context(target, name, with_meeting).sql(using, **values),
            _CONCURRENT.sql(
                using,
                plan_id=plan_id,
                base=base_revision,
                target=target,
                target_id=object_id,
                field=name,
            ),
        ]
    )
    if not locked or not context:
        return None
    revision, status, coordinator_id = locked[0]
    if base_revision > revision:
        return None
    (
        known,
        meeting_live,
        person_user_id,
        member_id,
        member_role,
        member_access,
        covered,
        found,
        current,
        responsible_user_id,
    ) = context[0]
    if known is not None or not found:
        return None
    plan = Plan(pk=plan_id, revision=revision, status=status, coordinator_id=coordinator_id)
    member = None
    if member_id is not None:
        member = Member(
            pk=member_id, plan_id=plan_id, user_id=user.pk, role=member_role, access=member_access
        )
    access = access_from(
        plan, user, person_user_id=person_user_id, member=member, covered=bool(covered)
    )
    spec = services.FIELDS[target][name]
    if access.level < Level.READ or services.write_refusal(
        access, target, spec, existing=True, responsible_user_id=responsible_user_id
    ):
        return None
    committed = [_json(row[0])["ops"] for row in payloads]
    try:
        value, text_op = services.transformed_text(
            target, name, current or "", text_op, committed, base_length=base_length
        )
    except services.OperationError:
        return None

    change = Change(
        plan_id=plan_id,
        revision=revision + 1,
        op_id=op_id,
        user=user,
        meeting_id=meeting_id if meeting_live else None,
        via=via,
        kind=Change.Kind.TEXT,
        target_type=target,
        target_id=object_id,
        field=name,
        before=None,
        after=value,
        payload={"ops": ot.normalize(text_op)},
        base_revision=base_revision,
    )
    [inserted] = yield Batch([_write(target, name, change, value, using)], writes=True)
    change.pk = inserted[0][0]
    change._state.adding = False
    change._state.db = using
    return services.OpResult(change.revision, change, services.change_to_op(change))


def compile_all(using: str = "default") -> None:
    """Compile every statement the hot path can run (for callers that must not compile
    on first use: the fast lane runs on an event loop, where Django may not query the
    server's version). Raises CompileError as the first use would."""
    # Django compiles SELECT ... FOR UPDATE only inside a transaction.
    with transaction.atomic(using=using):
        _compile_all(using)


def _compile_all(using: str) -> None:
    _LOCK.sql(using, plan_id=1)
    _CONCURRENT.sql(using, plan_id=1, base=0, target="goal", target_id=1, field="text")
    for target in TARGETS:
        for name, spec in services.FIELDS[target].items():
            if spec.kind != "text":
                continue
            for with_meeting in (False, True):
                values: dict[str, Any] = {"plan_id": 1, "user_id": 1, "op_id": "x", "day": _today()}
                if target != "plan":
                    values["target_id"] = 1
                if with_meeting:
                    values["meeting_id"] = 1
                _context(target, name, with_meeting).sql(using, **values)
            if (using, target, name) not in _WRITE:
                _WRITE[(using, target, name)] = _write_sql(target, name, using)


def _shape(op: Any, op_id: Any, base_revision: Any) -> tuple | None:
    """(target, field, target id, validated op, base length) of a plain text op, or
    None for anything else (the general path judges and words the refusal)."""
    if not isinstance(op, dict) or op.get("type") != "text":
        return None
    target, name = op.get("target"), op.get("field")
    if target not in TARGETS or not isinstance(name, str):
        return None
    spec = services.FIELDS[target].get(name)
    if spec is None or spec.kind != "text":
        return None
    if isinstance(base_revision, bool) or not isinstance(base_revision, int) or base_revision < 0:
        return None
    if not isinstance(op_id, str) or not 1 <= len(op_id) <= 64:
        return None
    target_id = 0
    if target != "plan":
        try:
            target_id = services._as_id(op.get("id"), "id")
        except services.OperationError:
            return None
        if not 0 < target_id < 2**63:
            return None
    raw = op.get("ops")
    try:
        text_op = services.checked_text_op(raw)
        base_length = ot.base_length(raw)
    except ot.OTError:
        return None
    return target, name, target_id, text_op, base_length


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _context(target: str, name: str, with_meeting: bool) -> Precompiled:
    key = (target, name, with_meeting)
    query = _CONTEXT.get(key)
    if query is None:
        params: dict[str, type] = {
            "plan_id": int,
            "user_id": int,
            "op_id": str,
            "day": type(_today()),
        }
        if target != "plan":
            params["target_id"] = int
        if with_meeting:
            params["meeting_id"] = int
        query = _CONTEXT[key] = Precompiled(_context_queryset(target, name), **params)
    return query


def _context_queryset(target: str, name: str) -> Any:
    from ipplan.meetings.models import Meeting

    def build(
        plan_id: int,
        user_id: int,
        op_id: str,
        day: Any,
        target_id: int | None = None,
        meeting_id: int | None = None,
    ) -> QuerySet:
        member = member_of(plan_id=OuterRef("pk"), user_id=user_id, day=day)
        covered = member.annotate(c=Exists(covering_consents(day, OuterRef("pk")))).values("c")
        if meeting_id is None:
            live: Any = Value(False)
        else:
            live = Exists(
                Meeting.objects.filter(
                    pk=meeting_id, plan_id=OuterRef("pk"), status=Meeting.Status.IN_PROGRESS
                )
            )
        none = Value(None, output_field=IntegerField())
        if target == "plan":
            found: Any = Value(True)
            current: Any = F(name)
            responsible: Any = none
        else:
            objects = TARGETS[target].objects.filter(pk=target_id, plan_id=OuterRef("pk"))
            if target in services.SOFT_DELETED:
                objects = objects.filter(deleted_at__isnull=True)
            found = Exists(objects)
            current = Subquery(objects.values(name)[:1])
            responsible = none
            if target == "measure":
                responsible = Subquery(objects.values("responsible__user_id")[:1])
        return (
            Plan.objects.filter(pk=plan_id)
            .annotate(
                hot_known=Subquery(
                    Change.objects.filter(plan_id=OuterRef("pk"), op_id=op_id).values("revision")[
                        :1
                    ]
                ),
                hot_live=live,
                hot_person_user=F("person__user_id"),
                hot_member=Subquery(member.values("pk")[:1]),
                hot_role=Subquery(member.values("role")[:1]),
                hot_access=Subquery(member.values("access")[:1]),
                hot_covered=Subquery(covered[:1]),
                hot_found=found,
                hot_current=current,
                hot_responsible=responsible,
            )
            .values_list(
                "hot_known",
                "hot_live",
                "hot_person_user",
                "hot_member",
                "hot_role",
                "hot_access",
                "hot_covered",
                "hot_found",
                "hot_current",
                "hot_responsible",
            )
        )

    return build


def _write(target: str, name: str, change: Change, value: str, using: str) -> Statement:
    """The field, the plan's revision and the Change row, in one statement (which
    returns the Change's id)."""
    sql = _WRITE.get((using, target, name))
    if sql is None:
        sql = _WRITE[(using, target, name)] = _write_sql(target, name, using)
    db = connections[using]
    row = [f.get_db_prep_save(getattr(change, f.attname), db) for f in _INSERTED_FIELDS]
    if target == "plan":
        return sql, [value, change.revision, change.at, change.plan_id, *row]
    return sql, [value, change.target_id, change.revision, change.at, change.plan_id, *row]


def _write_sql(target: str, name: str, using: str) -> str:
    # Identifiers come from the models' _meta, quoted; every value is a parameter.
    qn = connections[using].ops.quote_name
    model = TARGETS[target]
    plan_meta = Plan._meta
    plan_table, plan_pk = qn(plan_meta.db_table), qn(plan_meta.pk.column)
    revision = qn(plan_meta.get_field("revision").column)
    updated = qn(plan_meta.get_field("updated_at").column)
    column = qn(model._meta.get_field(name).column)
    fields = _INSERTED_FIELDS
    insert = (
        f"INSERT INTO {qn(Change._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(Change._meta.pk.column)}"
    )
    if target == "plan":
        # One UPDATE for the plan's field and its revision: a statement may not
        # update the same row twice.
        return (
            f"WITH p AS (UPDATE {plan_table} SET {column} = %s, {revision} = %s, "  # noqa: S608
            f"{updated} = %s WHERE {plan_pk} = %s) {insert}"
        )
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    return (
        f"WITH o AS (UPDATE {table} SET {column} = %s WHERE {pk} = %s), "  # noqa: S608
        f"p AS (UPDATE {plan_table} SET {revision} = %s, {updated} = %s "
        f"WHERE {plan_pk} = %s) {insert}"
    )
