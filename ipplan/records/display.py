"""Turning stored values into words people read: field labels, enum labels, names,
dates, and word-level text diffs.

Records are frozen with these display strings (a record keeps the names and labels as
they were at close); history and diff pages compute them fresh.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ipplan.plans import services
from ipplan.plans.models import Goal, Member, Plan

EMPTY = "—"

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Unchanged text longer than this is shortened in diffs, keeping CONTEXT chars each side.
LONG_EQUAL = 160
CONTEXT = 60


def target_label(target: str, level: str | None = None) -> str:
    if target == "goal":
        return str(Goal.Level(level).label) if level in Goal.Level.values else _("Goal")
    labels = {
        "plan": _("The plan"),
        "theme": _("Main theme"),
        "measure": _("Measure"),
        "member": _("Member of the responsible group"),
        "consent": _("Consent"),
    }
    if target in labels:
        return labels[target]
    model = services.MODELS.get(target)
    return str(capfirst(model._meta.verbose_name)) if model is not None else capfirst(target)


def target_plural(target: str) -> str:
    """A section title for objects other apps add to plans (e.g. treatment courses)."""
    model = services.MODELS.get(target)
    return str(capfirst(model._meta.verbose_name_plural)) if model is not None else capfirst(target)


def other_label(target: str, pk: int) -> str:
    """A short name for an object of another app's target, from the row itself."""
    model = services.MODELS.get(target)
    obj = model.objects.filter(pk=pk).first() if model is not None else None
    return shorten(str(obj), 200) if obj is not None else ""


def field_label(target: str, name: str) -> str:
    model = services.MODELS.get(target)
    if model is not None:
        try:
            return str(capfirst(model._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            pass
    return capfirst(name.replace("_", " "))


def field_kind(target: str, name: str) -> str:
    spec = services.FIELDS.get(target, {}).get(name)
    return spec.kind if spec is not None else "text"


def format_date(value: Any) -> str:
    if value in (None, ""):
        return EMPTY
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return formats.date_format(value, "SHORT_DATE_FORMAT")


@dataclass
class Names:
    """Id → name lookups for the ids stored in member/goal/user fields."""

    members: dict[int, str] = field(default_factory=dict)
    goals: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)

    @classmethod
    def for_plan(cls, plan: Plan, *, goal_texts: dict[int, str] | None = None) -> Names:
        from django.contrib.auth import get_user_model

        members = {
            m.pk: member_name(m) for m in Member.objects.filter(plan=plan).select_related("user")
        }
        goals = goal_texts
        if goals is None:
            goals = dict(Goal.objects.filter(plan=plan).values_list("pk", "text"))
        user_ids = set(
            plan.changes.filter(target_type="plan", field="coordinator").values_list(
                "after", flat=True
            )
        )
        user_ids.add(plan.coordinator_id)
        users = {
            u.pk: u.display_name
            for u in get_user_model().objects.filter(pk__in=[i for i in user_ids if i])
        }
        return cls(members=members, goals=goals, users=users)


def member_name(member: Member) -> str:
    name = member.user.display_name
    return f"{name} ({member.service})" if member.service else name


def format_value(target: str, name: str, value: Any, names: Names) -> str:
    """One stored field value as text for people."""
    if value is None or value == "":
        return EMPTY
    spec = services.FIELDS.get(target, {}).get(name)
    if spec is None:
        return str(value)
    if spec.kind == "date":
        return format_date(value)
    if spec.kind == "enum":
        try:
            return str(spec.choices(value).label)
        except ValueError:
            return str(value)
    if spec.kind == "member":
        return names.members.get(value, _("Unknown member"))
    if spec.kind == "goal":
        return shorten(names.goals.get(value, _("Unknown goal")), 120)
    if spec.kind == "user":
        return names.users.get(value, _("Unknown user"))
    return str(value)


def shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def text_diff(before: str, after: str, *, trim: bool = True) -> list[list[str]]:
    """Word-level diff: [["eq"|"del"|"ins", text], ...]. Long unchanged stretches are
    shortened to their ends (with "…") when `trim`, so a small edit in a long text
    reads as a small edit."""
    a = _TOKEN.findall(before or "")
    b = _TOKEN.findall(after or "")
    # Most edits touch one stretch of a text: match the common start and end directly
    # and leave only the middle to the (quadratic) matcher.
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    parts: list[list[str]] = []
    if head:
        parts.append(["eq", "".join(a[:head])])
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(["eq", "".join(middle_a[i1:i2])])
            continue
        if tag in {"delete", "replace"}:
            parts.append(["del", "".join(middle_a[i1:i2])])
        if tag in {"insert", "replace"}:
            parts.append(["ins", "".join(middle_b[j1:j2])])
    if tail:
        parts.append(["eq", "".join(a[len(a) - tail :])])
    if trim:
        last = len(parts) - 1
        for index, (kind, text) in enumerate(parts):
            if kind != "eq" or len(text) <= LONG_EQUAL:
                continue
            head = text[:CONTEXT] if index > 0 else ""
            tail = text[-CONTEXT:] if index < last else ""
            parts[index] = ["eq", f"{head}…{tail}" if head or tail else "…"]
    return parts


def snapshot_values(target: str, values: dict[str, Any], names: Names) -> list[list[str]]:
    """The filled-in fields of an object snapshot as [label, text] pairs."""
    shown = []
    for name in services.FIELDS.get(target, {}):
        value = values.get(name)
        if value in (None, ""):
            continue
        shown.append([field_label(target, name), format_value(target, name, value, names)])
    return shown


def object_label(target: str, values: dict[str, Any], names: Names) -> str:
    """A short name for an object from its snapshot: title, goal text, measure, member."""
    if target == "theme":
        return values.get("title") or ""
    if target == "goal":
        return shorten(values.get("text") or "", 200)
    if target == "measure":
        return shorten(values.get("description") or "", 200)
    if target == "member":
        return names.members.get(values.get("id"), "")
    return ""
