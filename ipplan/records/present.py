"""A replayed plan state (history.plan_state_at / plan_state_live) laid out for pages
and PDFs: themes with their goals and measures, every value as text for people."""

from __future__ import annotations

from typing import Any

from ipplan.plans import services
from ipplan.plans.models import Member, Plan

from . import display
from .diff import names_for


def _fields(
    target: str, snap: dict[str, Any], names: display.Names, skip: tuple = ()
) -> list[dict]:
    rows = []
    for name in services.FIELDS.get(target, {}):
        if name in skip:
            continue
        value = snap.get(name)
        rows.append(
            {
                "name": name,
                "label": display.field_label(target, name),
                "value": display.format_value(target, name, value, names),
                "empty": value in (None, ""),
                "is_text": display.field_kind(target, name) == "text",
            }
        )
    return rows


def present_state(plan: Plan, state: dict[str, Any]) -> dict[str, Any]:
    names = names_for(plan, state)
    measures_by_goal: dict[Any, list[dict]] = {}
    loose: dict[Any, list[dict]] = {}
    for snap in state["measures"]:
        row = {
            "id": snap["id"],
            "label": display.object_label("measure", snap, names),
            "status": snap.get("status"),
            "fields": _fields("measure", snap, names, skip=("goal",)),
        }
        if snap.get("goal") and any(g["id"] == snap["goal"] for g in state["goals"]):
            measures_by_goal.setdefault(snap["goal"], []).append(row)
        else:
            loose.setdefault(snap.get("theme"), []).append(row)
    goals_by_theme: dict[Any, list[dict]] = {}
    for snap in state["goals"]:
        goals_by_theme.setdefault(snap.get("theme"), []).append(
            {
                "id": snap["id"],
                "label": display.object_label("goal", snap, names),
                "level": display.target_label("goal", snap.get("level")),
                "status": snap.get("status"),
                "fields": _fields("goal", snap, names, skip=("text", "level")),
                "measures": measures_by_goal.get(snap["id"], []),
            }
        )
    themes = [
        {
            "id": snap["id"],
            "title": snap.get("title") or "",
            "current_situation": snap.get("current_situation") or "",
            "goals": goals_by_theme.get(snap["id"], []),
            "measures": loose.get(snap["id"], []),
        }
        for snap in sorted(state["themes"], key=lambda s: (s["position"], s["id"]))
    ]
    users = {
        m.pk: m for m in Member.objects.filter(plan=plan).select_related("user", "organisation")
    }
    members = []
    for snap in state["members"]:
        member = users.get(snap["id"])
        members.append(
            {
                "id": snap["id"],
                "name": member.user.display_name if member else "",
                "organisation": member.organisation.name if member and member.organisation else "",
                "fields": _fields("member", snap, names),
            }
        )
    others = [
        {
            "target": target,
            "title": display.target_plural(target),
            "items": [
                {
                    "label": display.other_label(target, snap["id"]),
                    "fields": _fields(target, snap, names),
                }
                for snap in items
            ],
        }
        for target, items in sorted(state.get("other", {}).items())
        if items
    ]
    return {
        "revision": state["revision"],
        "others": others,
        "plan_fields": _fields("plan", state["plan"], names),
        "themes": themes,
        "members": members,
        "deleted": {
            target: [
                {
                    "id": s["id"],
                    "label": display.object_label(target, s, names),
                    "target_label": display.target_label(target, s.get("level")),
                }
                for s in items
            ]
            for target, items in state["deleted"].items()
        },
    }
