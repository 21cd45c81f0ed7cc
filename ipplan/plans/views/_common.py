"""Shared helpers for the plan pages: access, the access log, saving edit forms."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ipplan.plans import services
from ipplan.plans.forms import EditForm
from ipplan.plans.models import Change, Consent, Member, Plan
from ipplan.plans.permissions import Level, PlanAccess, get_plan_or_404


def plan_or_404(request: HttpRequest, pk: int, *, need: Level = Level.READ) -> PlanAccess:
    """404 for anyone who may not read the plan, 403 for a member below `need`."""
    return get_plan_or_404(request.user, pk, need=need)


def log_read(request: HttpRequest, access: PlanAccess, *, via: str, detail: str = "") -> None:
    """Exactly one access-log entry per request that shows plan data."""
    services.record_access(user=request.user, plan=access.plan, via=via, detail=detail)


def goal_warnings(*, text: str, success_criterion: str) -> list[str]:
    """Advice on vague goals (never blocking). The rules module is optional."""
    try:
        from ipplan.plans.goal_rules import goal_warnings as rules
    except ImportError:
        return []
    return [str(w) for w in rules(text=text or "", success_criterion=success_criterion or "")]


# ------------------------------------------------------------------ saving edit forms

# A form saves its fields one operation at a time, and each must leave a valid object.
# When a whole period moves later (new start after the old end), the end goes first.
DATE_PAIRS = (
    ("start_date", "due_date"),
    ("period_start", "period_end"),
    ("active_from", "active_to"),
)


def order_for_update(values: dict[str, Any], obj: models.Model) -> dict[str, Any]:
    ordered = dict(values)
    for start, end in DATE_PAIRS:
        if start in values and end in values:
            old_end = getattr(obj, end)
            if values[start] and old_end and values[start] > old_end:
                ordered = {end: values[end], **{k: v for k, v in ordered.items() if k != end}}
    return ordered


def _display(form: EditForm, name: str, raw: Any) -> str:
    if raw in (None, ""):
        return _("(empty)")
    field = form.fields[name]
    choices = getattr(field, "choices", None)
    if choices is not None:
        for key, label in choices:
            if str(key) == str(raw):
                return str(label)
    if isinstance(raw, str) and len(raw) == 10 and raw[4] == "-":
        try:
            return formats.date_format(datetime.date.fromisoformat(raw), "SHORT_DATE_FORMAT")
        except ValueError:
            pass
    text = str(raw)
    return text if len(text) <= 300 else text[:300] + "…"


def save_edit(
    request: HttpRequest, *, access: PlanAccess, form: EditForm, target: str, obj: models.Model
) -> bool:
    """Write what the user changed in a valid form. False, with the reason on the
    form, when the service refuses or someone else changed the same field meanwhile
    (their change is kept; the user sees it and may save again)."""
    changed = [name for name in form.user_changes() if name in services.FIELDS[target]]
    if not changed:
        return True
    base = form.cleaned_data.get("base_revision")
    if base is not None:
        clashes = set(
            Change.objects.filter(
                plan_id=access.plan.pk,
                revision__gt=base,
                target_type=target,
                target_id=obj.pk,
                field__in=changed,
            ).values_list("field", flat=True)
        )
        if clashes:
            _show_clashes(form, obj, sorted(clashes))
            return False
    values = order_for_update({name: form.cleaned_data[name] for name in changed}, obj)
    try:
        services.object_update(
            plan_id=access.plan.pk,
            user=request.user,
            target=target,
            target_id=obj.pk,
            values=values,
        )
    except services.OperationError as error:
        form.add_operation_error(error)
        return False
    return True


def _show_clashes(form: EditForm, obj: models.Model, names: list[str]) -> None:
    """Keep the user's input, but move the form's baseline to the current values so
    that saving again is a deliberate overwrite."""
    data = form.data.copy()
    for name in names:
        current = services.field_value(obj, name)
        data[form[name].html_initial_name] = "" if current is None else str(current)
        form.add_error(
            name,
            _(
                "Someone else changed this field while you were editing. Their version: "
                "%(value)s. Save again to replace it with yours."
            )
            % {"value": _display(form, name, current)},
        )
    plan_id = obj.pk if isinstance(obj, Plan) else obj.plan_id
    data["base_revision"] = str(Plan.objects.values_list("revision", flat=True).get(pk=plan_id))
    form.data = data


def edit_initial(obj: models.Model, target: str, plan: Plan) -> dict[str, Any]:
    initial = {name: services.field_value(obj, name) for name in services.FIELDS[target]}
    initial["base_revision"] = plan.revision
    return initial


# ------------------------------------------------------------------------- consent


@dataclass
class MemberConsent:
    member: Member
    status: str  # not_needed | covered | expired | withdrawn | not_covered
    active: bool

    @property
    def label(self) -> str:
        return str(CONSENT_LABELS[self.status])

    @property
    def warn(self) -> bool:
        return self.active and self.status not in {"not_needed", "covered"}


CONSENT_LABELS = {
    "not_needed": gettext_lazy("Not needed"),
    "covered": gettext_lazy("Covered"),
    "expired": gettext_lazy("Expired"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "not_covered": gettext_lazy("Not covered"),
}


def consent_status(
    plan: Plan, members: list[Member], consents: list[Consent], day: datetime.date
) -> list[MemberConsent]:
    """Each member's sharing-consent status, from already loaded consents (with their
    `member_ids`, see plan.load_consents): no query per member."""
    sharing = [c for c in consents if c.kind == Consent.Kind.SHARING]
    covering: dict[int, list[Consent]] = {}
    for consent in sharing:
        for member_id in consent.member_ids:
            covering.setdefault(member_id, []).append(consent)
    rows = []
    for member in members:
        active = member.is_active_on(day)
        if member.role == Member.Role.PERSON or member.user_id == plan.coordinator_id:
            status = "not_needed"
        else:
            mine = covering.get(member.pk, [])
            if any(c.is_valid_on(day) for c in mine):
                status = "covered"
            elif any(c.withdrawn_at is not None for c in mine):
                status = "withdrawn"
            elif any(c.expires_on is not None and c.expires_on < day for c in mine):
                status = "expired"
            else:
                status = "not_covered"
        rows.append(MemberConsent(member, status, active))
    return rows


def plan_consent_valid(consents: list[Consent], day: datetime.date) -> Consent | None:
    """The valid consent to the plan itself, if any."""
    for consent in consents:
        if consent.kind == Consent.Kind.PLAN and consent.is_valid_on(day):
            return consent
    return None
