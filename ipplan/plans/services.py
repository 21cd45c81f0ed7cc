"""The one writer path for plan data.

Forms, the REST API and the live editor all express a change as an *operation* (a
small dict, documented in docs/protocol.md) and call `apply_operations`. In one
transaction it locks the plan row, checks permission, validates, transforms text
operations against what was committed since the sender's base revision, applies,
bumps the plan revision and writes one Change row per operation. Only after commit
are open sockets told (they then read the changes from the database).

Operation shapes:
    {"type": "set",     "target": T, "id": N, "field": F, "value": V}
    {"type": "text",    "target": T, "id": N, "field": F, "ops": [retain/insert/delete…]}
    {"type": "create",  "target": T, "values": {...}}
    {"type": "delete",  "target": T, "id": N}
    {"type": "restore", "target": T, "id": N}
    {"type": "move",    "target": T, "id": N, "position": K, ["theme": N]}
T is one of plan, theme, goal, measure (and member for manage-level edits).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from ipplan.live import ot
from ipplan.live.notify import notify_access_changed, notify_plan_changed

from .models import Change, Consent, Goal, Measure, Member, Person, Plan, Theme, ThemeTemplate
from .permissions import Level, PlanAccess, plan_access

MAX_TEXT = 20_000
MAX_OPS_PER_CALL = 200


class OperationError(Exception):
    """A refused operation. `code` is machine-readable; `message` is for people (nb)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass
class OpResult:
    revision: int
    change: Change
    op: dict[str, Any]
    duplicate: bool = False
    result: dict[str, Any] = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # text | date | enum | member | goal | user
    required: bool = False
    max_length: int = MAX_TEXT
    choices: type[models.TextChoices] | None = None
    manage_only: bool = False


def _text(max_length: int = MAX_TEXT, *, required: bool = False) -> FieldSpec:
    return FieldSpec("text", required=required, max_length=max_length)


FIELDS: dict[str, dict[str, FieldSpec]] = {
    "plan": {
        "what_matters": _text(),
        "resources": _text(),
        "needs": _text(),
        "cooperation": _text(),
        "next_evaluation": FieldSpec("date"),
        "period_start": FieldSpec("date", required=True, manage_only=True),
        "period_end": FieldSpec("date", manage_only=True),
        "status": FieldSpec("enum", required=True, choices=Plan.Status, manage_only=True),
        "coordinator": FieldSpec("user", required=True, manage_only=True),
    },
    "theme": {
        "title": _text(200, required=True),
        "current_situation": _text(),
    },
    "goal": {
        "level": FieldSpec("enum", required=True, choices=Goal.Level),
        "text": _text(required=True),
        "success_criterion": _text(required=True),
        "evaluation_date": FieldSpec("date", required=True),
        "status": FieldSpec("enum", required=True, choices=Goal.Status),
        "expressed_by": _text(200),
    },
    "measure": {
        "description": _text(required=True),
        "how": _text(),
        "goal": FieldSpec("goal"),
        "responsible": FieldSpec("member"),
        "responsible_service": _text(200),
        "scope": _text(200),
        "start_date": FieldSpec("date"),
        "due_date": FieldSpec("date"),
        "status": FieldSpec("enum", required=True, choices=Measure.Status),
    },
    "member": {
        "role": FieldSpec("enum", required=True, choices=Member.Role, manage_only=True),
        "service": _text(200),
        "contribution": _text(),
        "access": FieldSpec("enum", required=True, choices=Member.Access, manage_only=True),
        "active_from": FieldSpec("date", required=True, manage_only=True),
        "active_to": FieldSpec("date", manage_only=True),
    },
}

MODELS: dict[str, type[models.Model]] = {
    "plan": Plan,
    "theme": Theme,
    "goal": Goal,
    "measure": Measure,
    "member": Member,
}
ORDERED = {"theme", "goal", "measure"}
# Targets removed by delete (deleted_at set) and brought back by restore. Every ordered
# target is one; other apps add unordered ones (e.g. "course") in AppConfig.ready().
SOFT_DELETED = {"theme", "goal", "measure"}


def serialize_value(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def field_value(obj: models.Model, name: str) -> Any:
    spec = FIELDS[_target_of(obj)][name]
    if spec.kind in {"member", "goal", "user"}:
        return getattr(obj, f"{name}_id")
    return serialize_value(getattr(obj, name))


def _target_of(obj: models.Model) -> str:
    for name, model in MODELS.items():
        if isinstance(obj, model):
            return name
    raise KeyError(type(obj).__name__)


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The editable fields of an object as JSON values (for create/delete changes)."""
    target = _target_of(obj)
    data = {name: field_value(obj, name) for name in FIELDS[target]}
    data["id"] = obj.pk
    if target in {"goal", "measure"}:
        data["theme"] = obj.theme_id
    if target in ORDERED:
        data["position"] = obj.position
    return data


# ----------------------------------------------------------------------- validation


def _parse_value(plan: Plan, target: str, name: str, raw: Any) -> Any:
    spec = FIELDS[target].get(name)
    if spec is None:
        raise OperationError("invalid", _("Ukjent felt: %(f)s") % {"f": name}, field=name)
    if raw in (None, "") and spec.kind != "text":
        if spec.required:
            raise OperationError("invalid", _("Feltet må fylles ut."), field=name)
        return None
    if spec.kind == "text":
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise OperationError("invalid", _("Verdien må være tekst."), field=name)
        raw = raw.replace("\x00", "")
        if spec.required and not raw.strip():
            raise OperationError("invalid", _("Feltet må fylles ut."), field=name)
        if len(raw) > spec.max_length:
            raise OperationError(
                "invalid",
                _("Teksten er for lang (høyst %(n)s tegn).") % {"n": spec.max_length},
                field=name,
            )
        return raw
    if spec.kind == "date":
        if isinstance(raw, datetime.date):
            return raw
        try:
            return datetime.date.fromisoformat(str(raw))
        except ValueError:
            raise OperationError(
                "invalid", _("Ugyldig dato (bruk ÅÅÅÅ-MM-DD)."), field=name
            ) from None
    if spec.kind == "enum":
        if raw not in spec.choices.values:
            raise OperationError("invalid", _("Ugyldig verdi."), field=name)
        return raw
    if spec.kind == "member":
        member = _as_id(raw, name)
        found = Member.objects.filter(pk=member, plan=plan).first()
        today = timezone.localdate()
        if found is None or not found.is_active_on(today):
            raise OperationError(
                "invalid",
                _("Ansvarlig må være et aktivt medlem av ansvarsgruppen."),
                field=name,
            )
        return found
    if spec.kind == "goal":
        found = Goal.objects.alive().filter(pk=_as_id(raw, name), plan=plan).first()
        if found is None:
            raise OperationError("invalid", _("Målet finnes ikke i denne planen."), field=name)
        return found
    if spec.kind == "user":
        from django.contrib.auth import get_user_model

        found = get_user_model().objects.filter(pk=_as_id(raw, name), is_active=True).first()
        if found is None:
            raise OperationError("invalid", _("Ukjent bruker."), field=name)
        return found
    raise AssertionError(spec.kind)


def _as_id(raw: Any, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise OperationError("invalid", _("Ugyldig id."), field=name)
    try:
        return int(raw)
    except ValueError:
        raise OperationError("invalid", _("Ugyldig id."), field=name) from None


def _check_in_period(plan: Plan, day: datetime.date | None, name: str) -> None:
    if day is None:
        return
    if day < plan.period_start or (plan.period_end is not None and day > plan.period_end):
        raise OperationError("invalid", _("Datoen ligger utenfor planperioden."), field=name)


def _check_plan(plan: Plan, obj: Plan) -> None:
    if obj.period_end and obj.period_end < obj.period_start:
        raise OperationError(
            "invalid", _("Sluttdato kan ikke være før startdato."), field="period_end"
        )


def _check_goal(plan: Plan, obj: Goal) -> None:
    _check_in_period(plan, obj.evaluation_date, "evaluation_date")


def _check_measure(plan: Plan, obj: Measure) -> None:
    _check_in_period(plan, obj.start_date, "start_date")
    _check_in_period(plan, obj.due_date, "due_date")
    if obj.start_date and obj.due_date and obj.due_date < obj.start_date:
        raise OperationError("invalid", _("Frist kan ikke være før startdato."), field="due_date")
    if obj.goal_id and obj.goal.theme_id != obj.theme_id:
        raise OperationError("invalid", _("Målet hører til et annet hovedtema."), field="goal")


def _check_member(plan: Plan, obj: Member) -> None:
    if obj.active_to and obj.active_to < obj.active_from:
        raise OperationError(
            "invalid", _("Sluttdato kan ikke være før startdato."), field="active_to"
        )


# Cross-field rules per target, checked on the object as it would be saved. Other apps
# add their own targets (FIELDS, MODELS, CHECKS) from their AppConfig.ready().
CHECKS: dict[str, Callable[[Plan, Any], None]] = {
    "plan": _check_plan,
    "goal": _check_goal,
    "measure": _check_measure,
    "member": _check_member,
}


def _check_object(plan: Plan, target: str, obj: models.Model) -> None:
    check = CHECKS.get(target)
    if check is not None:
        check(plan, obj)


# --------------------------------------------------------------------- the engine


@dataclass
class _Applied:
    kind: str
    target: str
    target_id: int
    field: str = ""
    before: Any = None
    after: Any = None
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: dict[str, Any] = dataclasses.field(default_factory=dict)
    access_changed: bool = False
    check: bool = False


def new_op_id() -> str:
    return uuid.uuid4().hex


def apply_operation(
    *,
    plan_id: int,
    user: Any,
    op: dict[str, Any],
    base_revision: int | None = None,
    op_id: str | None = None,
    meeting_id: int | None = None,
    via: str = "form",
) -> OpResult:
    """Apply one operation; see the module docstring. Raises OperationError."""
    return apply_operations(
        plan_id=plan_id,
        user=user,
        ops=[(op, op_id or new_op_id())],
        base_revision=base_revision,
        meeting_id=meeting_id,
        via=via,
    )[0]


def apply_operations(
    *,
    plan_id: int,
    user: Any,
    ops: Iterable[tuple[dict[str, Any], str]],
    base_revision: int | None = None,
    meeting_id: int | None = None,
    via: str = "form",
) -> list[OpResult]:
    """Apply (op, op_id) pairs atomically: all or none. Each gets its own revision.

    A repeated op_id returns the earlier result instead of applying again, which is
    what makes a client's resend after reconnect safe.
    """
    ops = list(ops)
    if not ops or len(ops) > MAX_OPS_PER_CALL:
        raise OperationError("invalid", _("Ugyldig antall endringer."))
    try:
        with transaction.atomic():
            # The row lock serialises every writer of this plan across all processes:
            # revisions are gap-free and text ops are transformed in commit order.
            for _op, op_id in ops:
                if not isinstance(op_id, str) or not 1 <= len(op_id) <= 64:
                    raise OperationError("invalid", _("Ugyldig operasjons-id."))
            if len(ops) == 1 and hotpath.enabled():
                fast = hotpath.apply_text_op(
                    plan_id=plan_id,
                    user=user,
                    op=ops[0][0],
                    op_id=ops[0][1],
                    base_revision=base_revision,
                    meeting_id=meeting_id,
                    via=via,
                )
                if fast is not None:
                    return [fast]
                # Not the plain case: nothing was written; the general path below
                # answers (a duplicate, a refusal), in this transaction and lock.
            try:
                plan = Plan.objects.select_for_update().select_related("person").get(pk=plan_id)
            except Plan.DoesNotExist:
                raise OperationError("not_found", _("Planen finnes ikke.")) from None
            # What the hot path (one live op) must judge under the lock, in one
            # statement of its own: is the op id known already, is the meeting in
            # progress. Not as subqueries of the locking query: in READ COMMITTED a
            # statement reads the database as it was when the statement began, so they
            # would miss what the writer we waited for committed (a resend's first copy
            # from the old socket: applied again; a meeting just started or closed).
            known_revision, meeting_live = (
                Plan.objects.filter(pk=plan_id)
                .annotate(
                    known_revision=Subquery(
                        Change.objects.filter(plan=OuterRef("pk"), op_id=ops[0][1]).values(
                            "revision"
                        )[:1]
                    ),
                    meeting_live=_meeting_live(meeting_id),
                )
                .values_list("known_revision", "meeting_live")
                .get()
            )
            access = plan_access(user, plan)
            if access.level < Level.READ:
                raise OperationError("not_found", _("Planen finnes ikke."))
            if base_revision is not None and (
                isinstance(base_revision, bool)
                or not isinstance(base_revision, int)
                or not 0 <= base_revision <= plan.revision
            ):
                raise OperationError("stale", _("Ugyldig revisjon."))
            if not meeting_live:
                # Decided under the plan lock, which meeting_close also takes: an edit
                # is attributed to a meeting only while it is in progress.
                meeting_id = None
            # Earlier changes with these op ids (whether the first op's exists is known
            # from the query above; a batch looks the rest up at once).
            earlier_by_id: dict[str, Change] = {}
            if known_revision is not None or len(ops) > 1:
                earlier_by_id = {
                    c.op_id: c
                    for c in Change.objects.filter(plan=plan, op_id__in=[i for _o, i in ops])
                }
            results: list[OpResult] = []
            access_changed = False
            to_check: set[tuple[str, int]] = set()
            for op, op_id in ops:
                earlier = earlier_by_id.get(op_id)
                if earlier is not None:
                    if earlier.user_id != user.pk:
                        raise OperationError("invalid", _("Ugyldig operasjons-id."))
                    results.append(
                        OpResult(
                            earlier.revision,
                            earlier,
                            change_to_op(earlier),
                            duplicate=True,
                            result=earlier.payload.get("result", {}),
                        )
                    )
                    continue
                applied = _apply_one(plan, access, op, base_revision)
                plan.revision += 1
                payload = dict(applied.payload)
                if applied.result:
                    payload["result"] = applied.result
                change = Change.objects.create(
                    plan=plan,
                    revision=plan.revision,
                    op_id=op_id,
                    user=user,
                    meeting_id=meeting_id,
                    via=via,
                    kind=applied.kind,
                    target_type=applied.target,
                    target_id=applied.target_id,
                    field=applied.field,
                    before=applied.before,
                    after=applied.after,
                    payload=payload,
                    base_revision=base_revision,
                )
                access_changed |= applied.access_changed
                if applied.check:
                    to_check.add((applied.target, applied.target_id))
                earlier_by_id[op_id] = change  # the same op id twice in one batch: once
                results.append(
                    OpResult(plan.revision, change, change_to_op(change), result=applied.result)
                )
            for target, target_id in sorted(to_check):
                obj = plan if target == "plan" else MODELS[target].objects.get(pk=target_id)
                _check_object(plan, target, obj)
            Plan.objects.filter(pk=plan.pk).update(
                revision=plan.revision, updated_at=timezone.now()
            )
            if any(not r.duplicate for r in results):
                revision = plan.revision
                transaction.on_commit(
                    lambda: notify_plan_changed(plan_id=plan_id, revision=revision)
                )
            if access_changed:
                transaction.on_commit(lambda: notify_access_changed(plan_id=plan_id))
            return results
    except IntegrityError:
        # Two requests with the same op_id raced past the lookup; the loser retries
        # and then finds the winner's change.
        raise OperationError("conflict", _("Endringen kolliderte; prøv igjen.")) from None


def _meeting_live(meeting_id: Any) -> Exists | Value:
    """Is `meeting_id` a meeting of the plan (OuterRef) in progress, as an expression."""
    from django.apps import apps

    if isinstance(meeting_id, bool) or not isinstance(meeting_id, int):
        return Value(False)
    meeting = apps.get_model("meetings", "Meeting")
    return Exists(
        meeting.objects.filter(pk=meeting_id, plan_id=OuterRef("pk"), status="in_progress")
    )


def _load(plan: Plan, target: str, raw_id: Any, *, alive: bool = True) -> models.Model:
    if target == "plan":
        return plan
    model = MODELS.get(target)
    if model is None:
        raise OperationError("invalid", _("Ukjent type: %(t)s") % {"t": target})
    qs = model.objects.filter(plan=plan)
    if alive and target in SOFT_DELETED:
        qs = qs.filter(deleted_at__isnull=True)
    obj = qs.filter(pk=_as_id(raw_id, "id")).first()
    if obj is None:
        raise OperationError("not_found", _("Fant ikke elementet (kan være slettet)."))
    return obj


def _require_write(
    access: PlanAccess, target: str, obj: models.Model | None, spec: FieldSpec | None
) -> None:
    responsible = None
    if target == "measure" and obj is not None and obj.responsible_id:  # type: ignore[attr-defined]
        responsible = obj.responsible.user_id  # type: ignore[attr-defined]
    refusal = write_refusal(
        access, target, spec, existing=obj is not None, responsible_user_id=responsible
    )
    if refusal is not None:
        raise refusal


def write_refusal(
    access: PlanAccess,
    target: str,
    spec: FieldSpec | None,
    *,
    existing: bool,
    responsible_user_id: int | None,
) -> OperationError | None:
    """Why this user may not write `target` (an existing object if `existing`), or None.
    `responsible_user_id` is the user responsible for the measure, for measures."""
    if access.plan.status == Plan.Status.CLOSED and not (
        target == "plan" and spec is not None and spec.manage_only and access.can_manage
    ):
        return OperationError("forbidden", _("Planen er avsluttet og kan ikke endres."))
    if target == "member" or (spec is not None and spec.manage_only):
        if not access.can_manage:
            return OperationError("forbidden", _("Bare koordinator kan endre dette."))
        return None
    if target == "measure" and existing:
        if not access.can_edit_measure(responsible_user_id):
            return OperationError("forbidden", _("Du har ikke tilgang til å endre dette."))
        return None
    if not access.can_edit:
        return OperationError("forbidden", _("Du har ikke tilgang til å endre planen."))
    return None


def _apply_one(plan: Plan, access: PlanAccess, op: Any, base_revision: int | None) -> _Applied:
    if not isinstance(op, dict):
        raise OperationError("invalid", _("Ugyldig operasjon."))
    kind = op.get("type")
    target = op.get("target")
    if target not in FIELDS:
        raise OperationError("invalid", _("Ukjent type: %(t)s") % {"t": target})
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise OperationError("invalid", _("Ukjent operasjon: %(k)s") % {"k": kind})
    return handler(plan, access, target, op, base_revision)


def _op_set(plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None) -> _Applied:
    name = op.get("field")
    if not isinstance(name, str) or name not in FIELDS[target]:
        raise OperationError("invalid", _("Ukjent felt."))
    spec = FIELDS[target][name]
    obj = _load(plan, target, op.get("id", plan.pk))
    _require_write(access, target, obj, spec)
    before = field_value(obj, name)
    if spec.kind == "text":
        # A whole-value replacement of a text field is stored as a text op, so that
        # live clients can transform their pending edits against it.
        value = _parse_value(plan, target, name, op.get("value"))
        return _apply_text(plan, target, obj, name, ot.from_replace(before or "", value), None)
    value = _parse_value(plan, target, name, op.get("value"))
    setattr(obj, name, value)
    # Cross-field rules are checked once after the whole batch (apply_operations), so
    # a form that moves both ends of a period is judged on the result, not on a
    # half-applied intermediate state.
    obj.save(update_fields=[name])
    after = field_value(obj, name)
    return _Applied(
        Change.Kind.SET,
        target,
        obj.pk,
        name,
        before,
        after,
        # Who may see the plan changes with members, the coordinator and the plan's
        # status (not with a goal's or measure's status).
        access_changed=target == "member"
        or (target == "plan" and name in {"coordinator", "status"}),
        check=True,
    )


def _op_text(plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None) -> _Applied:
    name = op.get("field")
    if not isinstance(name, str) or name not in FIELDS[target]:
        raise OperationError("invalid", _("Ukjent felt."))
    spec = FIELDS[target][name]
    if spec.kind != "text":
        raise OperationError("invalid", _("Feltet er ikke et tekstfelt."))
    if base is None:
        raise OperationError("invalid", _("Tekstendringer må ha en basisrevisjon."))
    obj = _load(plan, target, op.get("id", plan.pk))
    _require_write(access, target, obj, spec)
    raw = op.get("ops")
    try:
        text_op = checked_text_op(raw)
    except ot.OTError as exc:
        raise OperationError("invalid", _("Ugyldig tekstendring.")) from exc
    # The sender's op must span the whole field as it was at base_revision (explicit
    # trailing retain). Normalised ops leave that implicit, so check it here: an op
    # built on another length would otherwise land at the wrong place silently.
    return _apply_text(plan, target, obj, name, text_op, base, base_length=ot.base_length(raw))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def checked_text_op(raw: Any) -> list:
    """`raw` as a valid, normalised text op, or OTError. Inserted text must be storable:
    PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (the socket refuses
    both earlier; this is for every other caller)."""
    text_op = ot.validate(raw)
    if any(isinstance(c, str) and _UNSTORABLE.search(c) for c in text_op):
        raise ot.OTError("the inserted text holds characters that cannot be stored")
    return text_op


def _length_delta(op: list) -> int:
    return sum(len(c) if isinstance(c, str) else (c if c < 0 else 0) for c in op)


def _apply_text(
    plan: Plan,
    target: str,
    obj: models.Model,
    name: str,
    text_op: list,
    base: int | None,
    *,
    base_length: int | None = None,
) -> _Applied:
    current = getattr(obj, name) or ""
    committed_ops: list[list] = []
    if base is not None and base < plan.revision:
        # Transform against every text op on this field committed after the sender's
        # base revision, in commit order; the committed op wins ties (it came first).
        concurrent = Change.objects.filter(
            plan=plan,
            revision__gt=base,
            kind=Change.Kind.TEXT,
            target_type=target,
            target_id=obj.pk,
            field=name,
        ).order_by("revision")
        committed_ops = [p["ops"] for p in concurrent.values_list("payload", flat=True)]
    value, text_op = transformed_text(
        target, name, current, text_op, committed_ops, base_length=base_length
    )
    setattr(obj, name, value)
    obj.save(update_fields=[name])
    return _Applied(
        Change.Kind.TEXT,
        target,
        obj.pk,
        name,
        None,
        value,
        payload={"ops": ot.normalize(text_op)},
    )


def transformed_text(
    target: str,
    name: str,
    current: str,
    text_op: list,
    committed_ops: list[list],
    *,
    base_length: int | None,
) -> tuple[str, list]:
    """(the field's new value, the op as applied): `text_op`, made on the field as it
    was before `committed_ops` (in commit order), transformed past them and applied to
    `current`. Raises OperationError if it no longer fits or the text grows too long."""
    if base_length is not None:
        expected = len(current) - sum(_length_delta(c) for c in committed_ops)
        if base_length != expected:
            raise OperationError("stale", _("Endringen passer ikke lenger; henter siste versjon."))
    for committed in committed_ops:
        try:
            text_op, _unused = ot.transform(text_op, committed, a_first=False)
        except ot.OTError:
            raise OperationError(
                "stale", _("Endringen passer ikke lenger; henter siste versjon.")
            ) from None
    try:
        value = ot.apply(current, text_op)
    except ot.OTError:
        raise OperationError(
            "stale", _("Endringen passer ikke lenger; henter siste versjon.")
        ) from None
    spec = FIELDS[target][name]
    value = value.replace("\x00", "")
    if len(value) > spec.max_length:
        raise OperationError(
            "invalid", _("Teksten er for lang (høyst %(n)s tegn).") % {"n": spec.max_length}
        )
    return value, text_op


def _op_create(plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None) -> _Applied:
    if target == "plan":
        raise OperationError("invalid", _("Ugyldig operasjon."))
    values = op.get("values")
    if not isinstance(values, dict):
        raise OperationError("invalid", _("Mangler verdier."))
    model = MODELS[target]
    obj = model(plan=plan)
    if target in {"goal", "measure"}:
        theme = _load(plan, "theme", values.get("theme"))
        obj.theme = theme
    if target == "member":
        from django.contrib.auth import get_user_model

        user = (
            get_user_model()
            .objects.filter(pk=_as_id(values.get("user"), "user"), is_active=True)
            .first()
        )
        if user is None:
            raise OperationError("invalid", _("Ukjent bruker."), field="user")
        if Member.objects.filter(plan=plan, user=user).exists():
            raise OperationError(
                "invalid", _("Brukeren er allerede medlem av ansvarsgruppen."), field="user"
            )
        obj.user = user
        obj.added_by = access.user
        org = values.get("organisation")
        obj.organisation_id = _as_id(org, "organisation") if org not in (None, "") else None
    _require_write(access, target, obj if target == "measure" else None, None)
    if target == "measure" and not access.can_edit:
        raise OperationError("forbidden", _("Du har ikke tilgang til å endre planen."))
    for name, spec in FIELDS[target].items():
        if name in values:
            setattr(obj, name, _parse_value(plan, target, name, values[name]))
        elif spec.required and spec.kind in {"text", "date"}:
            if target == "member" and name == "active_from":
                obj.active_from = timezone.localdate()
                continue
            raise OperationError("invalid", _("Feltet må fylles ut."), field=name)
    if target == "theme" and values.get("template"):
        obj.template = ThemeTemplate.objects.filter(
            pk=_as_id(values["template"], "template")
        ).first()
    _check_object(plan, target, obj)
    if target in ORDERED:
        siblings = _siblings(plan, target, obj)
        obj.position = len(siblings)
    obj.save()
    if target in ORDERED and "position" in values:
        _move(plan, target, obj, values["position"])
    return _Applied(
        Change.Kind.CREATE,
        target,
        obj.pk,
        "",
        None,
        snapshot(obj),
        result={"id": obj.pk},
        access_changed=target == "member",
    )


def _siblings(plan: Plan, target: str, obj: models.Model) -> list[models.Model]:
    model = MODELS[target]
    qs = model.objects.alive().filter(plan=plan)
    if target in {"goal", "measure"}:
        qs = qs.filter(theme_id=obj.theme_id)
    return [s for s in qs.order_by("position", "pk") if s.pk != obj.pk]


def _move(plan: Plan, target: str, obj: models.Model, position: Any) -> None:
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise OperationError("invalid", _("Ugyldig plassering."))
    siblings = _siblings(plan, target, obj)
    siblings.insert(min(position, len(siblings)), obj)
    for index, item in enumerate(siblings):
        if item.position != index:
            item.position = index
            type(item).objects.filter(pk=item.pk).update(position=index)


def _op_move(plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None) -> _Applied:
    if target not in ORDERED:
        raise OperationError("invalid", _("Ugyldig operasjon."))
    obj = _load(plan, target, op.get("id"))
    _require_write(access, target, None, None)
    before: dict[str, Any] = {"position": obj.position}
    followers: list[int] | None = None
    if target in {"goal", "measure"}:
        before["theme"] = obj.theme_id
        if target == "measure":
            before["goal"] = obj.goal_id
        old_theme_id = obj.theme_id
        if op.get("theme") not in (None, obj.theme_id):
            obj.theme = _load(plan, "theme", op.get("theme"))
            if target == "measure" and obj.goal_id and obj.goal.theme_id != obj.theme_id:
                obj.goal = None
            obj.save(update_fields=["theme", "goal"] if target == "measure" else ["theme"])
            # Positions stay dense (0..n-1) in every group, and everything that moves is
            # named in the change, so a live client replays the log to the same state.
            _renumber(plan, target, old_theme_id)
            if target == "goal":
                # Measures tied to the goal follow it (appended in their order), so no
                # measure points across themes.
                followers = _follow_goal(plan, obj, old_theme_id)
    _move(plan, target, obj, op.get("position"))
    after: dict[str, Any] = {"position": obj.position}
    if target in {"goal", "measure"}:
        after["theme"] = obj.theme_id
    if target == "measure":
        after["goal"] = obj.goal_id
    if followers is not None:
        after["measures"] = followers
    return _Applied(Change.Kind.MOVE, target, obj.pk, "", before, after)


def _renumber(plan: Plan, target: str, theme_id: int | None) -> None:
    qs = MODELS[target].objects.alive().filter(plan=plan)
    if theme_id is not None:
        qs = qs.filter(theme_id=theme_id)
    rows = qs.order_by("position", "pk").values_list("pk", "position")
    for index, (pk, position) in enumerate(rows):
        if position != index:
            MODELS[target].objects.filter(pk=pk).update(position=index)


def _follow_goal(plan: Plan, goal: Goal, old_theme_id: int) -> list[int]:
    """Move the goal's measures to its new theme, appended in order; return their ids."""
    measures = Measure.objects.alive().filter(goal=goal).order_by("position", "pk")
    alive = list(measures.values_list("pk", flat=True))
    start = Measure.objects.alive().filter(plan=plan, theme_id=goal.theme_id).count()
    Measure.objects.filter(goal=goal).update(theme=goal.theme)
    for offset, pk in enumerate(alive):
        Measure.objects.filter(pk=pk).update(position=start + offset)
    _renumber(plan, "measure", old_theme_id)
    return alive


def _op_delete(plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None) -> _Applied:
    if target not in SOFT_DELETED:
        raise OperationError("invalid", _("Ugyldig operasjon."))
    obj = _load(plan, target, op.get("id"))
    _require_write(access, target, None, None)
    obj.deleted_at = timezone.now()
    obj.save(update_fields=["deleted_at"])
    if target in ORDERED:
        _move_close_gap(plan, target, obj)
    return _Applied(Change.Kind.DELETE, target, obj.pk, "", snapshot(obj), None)


def _move_close_gap(plan: Plan, target: str, obj: models.Model) -> None:
    for index, item in enumerate(_siblings(plan, target, obj)):
        if item.position != index:
            type(item).objects.filter(pk=item.pk).update(position=index)


def _op_restore(
    plan: Plan, access: PlanAccess, target: str, op: dict, base: int | None
) -> _Applied:
    if target not in SOFT_DELETED:
        raise OperationError("invalid", _("Ugyldig operasjon."))
    obj = _load(plan, target, op.get("id"), alive=False)
    if obj.deleted_at is None:
        raise OperationError("invalid", _("Elementet er ikke slettet."))
    _require_write(access, target, None, None)
    if target in {"goal", "measure"} and obj.theme.deleted_at is not None:
        raise OperationError("invalid", _("Gjenopprett hovedtemaet først."))
    obj.deleted_at = None
    update_fields = ["deleted_at"]
    if target in ORDERED:
        obj.position = len(_siblings(plan, target, obj))
        update_fields.append("position")
    obj.save(update_fields=update_fields)
    return _Applied(Change.Kind.RESTORE, target, obj.pk, "", None, snapshot(obj))


_HANDLERS: dict[str, Callable[..., _Applied]] = {
    "set": _op_set,
    "text": _op_text,
    "create": _op_create,
    "move": _op_move,
    "delete": _op_delete,
    "restore": _op_restore,
}


def change_to_op(change: Change) -> dict[str, Any]:
    """The operation as committed, in protocol form (what other clients apply)."""
    op: dict[str, Any] = {"type": change.kind, "target": change.target_type, "id": change.target_id}
    if change.kind == Change.Kind.TEXT:
        op["field"] = change.field
        op["ops"] = change.payload.get("ops", [])
    elif change.kind == Change.Kind.SET:
        op["field"] = change.field
        op["value"] = change.after
    elif change.kind in {Change.Kind.CREATE, Change.Kind.RESTORE}:
        op["values"] = change.after
    elif change.kind == Change.Kind.MOVE:
        op.update(change.after or {})
    return op


def change_to_event(change: Change, *, user_name: str | None = None) -> dict[str, Any]:
    """A committed change as the live protocol's `op` message."""
    return {
        "type": "op",
        "rev": change.revision,
        "op_id": change.op_id,
        "op": change_to_op(change),
        "user": {"id": change.user_id, "name": user_name or str(change.user)},
        "at": change.at.isoformat(),
        "meeting": change.meeting_id,
    }


# ------------------------------------------------------------- convenience services
# Thin, keyword-only wrappers used by forms and the API. They all end in apply_operations.


def object_update(
    *,
    plan_id: int,
    user: Any,
    target: str,
    target_id: int,
    values: dict[str, Any],
    via: str = "form",
) -> list[OpResult]:
    """Set several fields at once (a form save). Unchanged fields write nothing."""
    plan = Plan.objects.get(pk=plan_id)
    obj = (
        plan if target == "plan" else MODELS[target].objects.filter(plan=plan, pk=target_id).first()
    )
    if obj is None:
        raise OperationError("not_found", _("Fant ikke elementet (kan være slettet)."))
    ops = []
    for name, value in values.items():
        current = field_value(obj, name)
        if serialize_value(value) == current or (value in (None, "") and current in (None, "")):
            continue
        ops.append(
            (
                {
                    "type": "set",
                    "target": target,
                    "id": target_id,
                    "field": name,
                    "value": serialize_value(value),
                },
                new_op_id(),
            )
        )
    if not ops:
        return []
    return apply_operations(plan_id=plan_id, user=user, ops=ops, via=via)


def object_create(
    *, plan_id: int, user: Any, target: str, values: dict[str, Any], via: str = "form"
) -> OpResult:
    values = {k: serialize_value(v) for k, v in values.items()}
    return apply_operation(
        plan_id=plan_id,
        user=user,
        op={"type": "create", "target": target, "values": values},
        via=via,
    )


def object_delete(
    *, plan_id: int, user: Any, target: str, target_id: int, via: str = "form"
) -> OpResult:
    return apply_operation(
        plan_id=plan_id,
        user=user,
        op={"type": "delete", "target": target, "id": target_id},
        via=via,
    )


@transaction.atomic
def plan_create(
    *,
    person: Person,
    coordinator: Any,
    created_by: Any,
    period_start: datetime.date,
    period_end: datetime.date | None = None,
    next_evaluation: datetime.date | None = None,
    what_matters: str = "",
    status: str = Plan.Status.DRAFT,
) -> Plan:
    """Create a plan with the default themes; the coordinator and (if they have an
    account) the person become members. Revision 1 records the creation."""
    if not created_by.has_perm("plans.add_plan"):
        raise OperationError("forbidden", _("Du har ikke tilgang til å opprette planer."))
    if period_end and period_end < period_start:
        raise OperationError(
            "invalid", _("Sluttdato kan ikke være før startdato."), field="period_end"
        )
    if Plan.objects.filter(person=person).exclude(status=Plan.Status.CLOSED).exists():
        raise OperationError(
            "invalid", _("Personen har allerede en individuell plan i bruk."), field="person"
        )
    plan = Plan.objects.create(
        person=person,
        coordinator=coordinator,
        created_by=created_by,
        period_start=period_start,
        period_end=period_end,
        next_evaluation=next_evaluation,
        what_matters=what_matters,
        status=status,
        revision=1,
    )
    Member.objects.create(
        plan=plan,
        user=coordinator,
        role=Member.Role.COORDINATOR,
        organisation=getattr(coordinator, "organisation", None),
        access=Member.Access.EDIT,
        active_from=period_start if period_start < timezone.localdate() else timezone.localdate(),
        added_by=created_by,
    )
    if person.user_id:
        Member.objects.create(
            plan=plan,
            user_id=person.user_id,
            role=Member.Role.PERSON,
            access=Member.Access.COMMENT,
            active_from=timezone.localdate(),
            added_by=created_by,
        )
    for index, template in enumerate(ThemeTemplate.objects.filter(is_active=True)):
        Theme.objects.create(plan=plan, template=template, title=template.title, position=index)
    Change.objects.create(
        plan=plan,
        revision=1,
        op_id=new_op_id(),
        user=created_by,
        kind=Change.Kind.CREATE,
        target_type="plan",
        target_id=plan.pk,
        after={name: field_value(plan, name) for name in FIELDS["plan"]},
    )
    return plan


def _bump(
    plan: Plan, user: Any, *, kind: str, target: str, target_id: int, before: Any, after: Any
) -> int:
    """Record a change that is not an editable-field op (consent) under the plan lock."""
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    locked.revision += 1
    Plan.objects.filter(pk=plan.pk).update(revision=locked.revision, updated_at=timezone.now())
    Change.objects.create(
        plan=locked,
        revision=locked.revision,
        op_id=new_op_id(),
        user=user,
        kind=kind,
        target_type=target,
        target_id=target_id,
        before=before,
        after=after,
    )
    revision = locked.revision
    transaction.on_commit(lambda: notify_plan_changed(plan_id=plan.pk, revision=revision))
    transaction.on_commit(lambda: notify_access_changed(plan_id=plan.pk))
    return revision


def _consent_snapshot(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "kind": consent.kind,
        "members": sorted(consent.members.values_list("pk", flat=True)),
        "scope": consent.scope,
        "given_on": serialize_value(consent.given_on),
        "expires_on": serialize_value(consent.expires_on),
        "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
    }


@transaction.atomic
def consent_record(
    *,
    plan_id: int,
    user: Any,
    kind: str,
    given_on: datetime.date,
    members: Iterable[Member] = (),
    scope: str = "",
    expires_on: datetime.date | None = None,
) -> Consent:
    plan = Plan.objects.select_for_update().select_related("person").get(pk=plan_id)
    if not plan_access(user, plan).can_manage:
        raise OperationError("forbidden", _("Bare koordinator kan registrere samtykke."))
    if kind not in Consent.Kind.values:
        raise OperationError("invalid", _("Ugyldig verdi."), field="kind")
    if expires_on and expires_on < given_on:
        raise OperationError(
            "invalid",
            _("Utløpsdato kan ikke være før datoen samtykket ble gitt."),
            field="expires_on",
        )
    if given_on > timezone.localdate():
        raise OperationError("invalid", _("Samtykke kan ikke gis fram i tid."), field="given_on")
    members = list(members)
    if any(m.plan_id != plan.pk for m in members):
        raise OperationError("invalid", _("Medlemmet hører ikke til planen."), field="members")
    consent = Consent.objects.create(
        plan=plan,
        kind=kind,
        scope=scope,
        given_on=given_on,
        expires_on=expires_on,
        recorded_by=user,
    )
    consent.members.set(members)
    _bump(
        plan,
        user,
        kind=Change.Kind.CREATE,
        target="consent",
        target_id=consent.pk,
        before=None,
        after=_consent_snapshot(consent),
    )
    return consent


@transaction.atomic
def consent_withdraw(*, plan_id: int, user: Any, consent_id: int) -> Consent:
    """Withdrawal takes effect at once: access checks read it on every request and
    open sockets are told to re-check (and close) after commit."""
    plan = Plan.objects.select_for_update().select_related("person").get(pk=plan_id)
    access = plan_access(user, plan)
    if not (access.can_manage or access.is_person):
        raise OperationError(
            "forbidden", _("Bare koordinator eller personen selv kan trekke samtykket.")
        )
    consent = Consent.objects.filter(plan=plan, pk=consent_id).first()
    if consent is None:
        raise OperationError("not_found", _("Fant ikke samtykket."))
    if consent.withdrawn_at is not None:
        raise OperationError("invalid", _("Samtykket er allerede trukket tilbake."))
    before = _consent_snapshot(consent)
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = user
    consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    _bump(
        plan,
        user,
        kind=Change.Kind.SET,
        target="consent",
        target_id=consent.pk,
        before=before,
        after=_consent_snapshot(consent),
    )
    return consent


def record_access(*, user: Any, plan: Plan, via: str, detail: str = "") -> None:
    """One entry in the access log (innsynslogg) for one read of a plan."""
    from .models import AccessLog

    AccessLog.objects.create(
        plan=plan,
        user=user if getattr(user, "is_authenticated", False) else None,
        via=via,
        detail=detail[:200],
    )


# The hot path builds on this module (it imports it), hence at the end.
from . import hotpath  # noqa: E402
