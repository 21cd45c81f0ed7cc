"""What differs between two revisions of a plan, and who made those changes.

Compares two replayed states (history.plan_states_at) object by object, field by
field, and names the people whose changes in between touched each field. The entries
have the same shape as a meeting record's, so one template shows both.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _

from ipplan.plans import services
from ipplan.plans.models import Consent, Member, Plan

from . import display
from .history import ORDERED, Row

_EVENT_FIELDS = {
    ("measure", "status"),
    ("goal", "status"),
    ("measure", "responsible"),
    ("measure", "due_date"),
    ("goal", "evaluation_date"),
}


def names_for(plan: Plan, *states: dict[str, Any]) -> display.Names:
    names = display.Names.for_plan(plan, goal_texts={})
    for state in states:
        for goal in state.get("goals", []) + state.get("deleted", {}).get("goal", []):
            names.goals.setdefault(goal["id"], goal.get("text") or "")
    for member in Member.objects.filter(plan=plan).select_related("user"):
        names.members.setdefault(member.pk, display.member_name(member))
    return names


def diff_states(
    plan: Plan, a: dict[str, Any], b: dict[str, Any], rows: list[Row]
) -> list[dict[str, Any]]:
    """Sections of entries describing how state `a` became state `b`.

    `rows` are the changes in between (a.revision, b.revision], used for attribution."""
    from django.contrib.auth import get_user_model

    names = names_for(plan, a, b)
    users = {
        u.pk: u.display_name
        for u in get_user_model().objects.filter(pk__in={r.user_id for r in rows})
    }
    by_field: dict[tuple, set[int]] = defaultdict(set)
    by_object: dict[tuple, set[int]] = defaultdict(set)
    for row in rows:
        by_field[(row.target_type, row.target_id, row.field)].add(row.user_id)
        by_object[(row.target_type, row.target_id)].add(row.user_id)

    def who(ids: set[int]) -> list[str]:
        return sorted(users.get(uid, _("Unknown user")) for uid in ids)

    themes_b = {t["id"]: t for t in b["themes"]}
    themes_a = {t["id"]: t for t in a["themes"]}
    theme_titles: dict[int, str] = {}
    for source in (
        a["deleted"].get("theme", []),
        b["deleted"].get("theme", []),
        a["themes"],
        b["themes"],
    ):
        for theme in source:
            theme_titles[theme["id"]] = theme.get("title") or ""

    sections: dict[str, list[dict]] = defaultdict(list)

    def entry(kind: str, target: str, snap: dict, **extra: Any) -> dict[str, Any]:
        base = {
            "kind": kind,
            "target": target,
            "id": snap["id"],
            "target_label": display.target_label(target, snap.get("level")),
            "label": display.object_label(target, snap, names),
        }
        # A later key wins: callers may name the object themselves.
        base.update(extra)
        return base

    def section_of(target: str, snap: dict) -> str:
        if target == "theme":
            return f"theme:{snap['id']}"
        if target in {"goal", "measure"}:
            return f"theme:{snap.get('theme')}"
        return "members" if target == "member" else target

    # -- plan fields
    for name in services.FIELDS["plan"]:
        before, after = a["plan"].get(name), b["plan"].get(name)
        if not _same(before, after):
            sections["plan"].append(
                {
                    "kind": "field",
                    "target": "plan",
                    "id": plan.pk,
                    "target_label": display.target_label("plan"),
                    "label": "",
                    **_field(plan, "plan", name, before, after, names),
                    "users": who(by_field[("plan", plan.pk, name)]),
                }
            )

    # -- themes, goals, measures, members
    for target in (*ORDERED, "member"):
        key = target + "s"
        old = {s["id"]: s for s in a[key]}
        new = {s["id"]: s for s in b[key]}
        old_deleted = {s["id"] for s in a["deleted"].get(target, [])}
        for pk, snap in new.items():
            if pk not in old:
                kind = "restored" if pk in old_deleted else "created"
                sections[section_of(target, snap)].append(
                    entry(
                        kind,
                        target,
                        snap,
                        values=display.snapshot_values(target, snap, names),
                        users=who(by_object[(target, pk)]),
                    )
                )
                continue
            before_snap = old[pk]
            if target in {"goal", "measure"} and before_snap.get("theme") != snap.get("theme"):
                sections[section_of(target, snap)].append(
                    entry(
                        "moved",
                        target,
                        snap,
                        from_theme=theme_titles.get(before_snap.get("theme"), ""),
                        to_theme=theme_titles.get(snap.get("theme"), ""),
                        users=who(by_object[(target, pk)]),
                    )
                )
            for name in services.FIELDS.get(target, {}):
                before, after = before_snap.get(name), snap.get(name)
                if _same(before, after):
                    continue
                sections[section_of(target, snap)].append(
                    entry(
                        "field",
                        target,
                        snap,
                        **_field(plan, target, name, before, after, names),
                        users=who(by_field[(target, pk, name)]),
                    )
                )
        for pk, snap in old.items():
            if pk not in new:
                sections[section_of(target, snap)].append(
                    entry(
                        "deleted",
                        target,
                        snap,
                        values=display.snapshot_values(target, snap, names),
                        users=who(by_object[(target, pk)]),
                    )
                )

    # -- objects other apps add to plans (e.g. treatment courses)
    for target in sorted(set(a["other"]) | set(b["other"])):
        old = {s["id"]: s for s in a["other"].get(target, [])}
        new = {s["id"]: s for s in b["other"].get(target, [])}
        key = f"other:{target}"
        for pk, snap in new.items():
            if pk not in old:
                sections[key].append(
                    entry(
                        "created",
                        target,
                        snap,
                        label=display.other_label(target, pk),
                        values=display.snapshot_values(target, snap, names),
                        users=who(by_object[(target, pk)]),
                    )
                )
                continue
            for name in services.FIELDS.get(target, {}):
                if not _same(old[pk].get(name), snap.get(name)):
                    sections[key].append(
                        entry(
                            "field",
                            target,
                            snap,
                            label=display.other_label(target, pk),
                            **_field(plan, target, name, old[pk].get(name), snap.get(name), names),
                            users=who(by_field[(target, pk, name)]),
                        )
                    )
        for pk, snap in old.items():
            if pk not in new:
                sections[key].append(
                    entry(
                        "deleted",
                        target,
                        snap,
                        label=display.other_label(target, pk),
                        users=who(by_object[(target, pk)]),
                    )
                )

    # -- consents
    old_consents = {c["id"]: c for c in a["consents"]}
    for consent in b["consents"]:
        label = _consent_label(consent)
        before = old_consents.get(consent["id"])
        users_ = who(by_object[("consent", consent["id"])])
        base = {
            "target": "consent",
            "id": consent["id"],
            "target_label": _("Consent"),
            "label": label,
        }
        if before is None:
            sections["consents"].append({**base, "kind": "created", "values": [], "users": users_})
        elif consent.get("withdrawn_at") and not before.get("withdrawn_at"):
            sections["consents"].append(
                {
                    **base,
                    "kind": "field",
                    "field_label": _("Consent"),
                    "before": _("Valid"),
                    "after": _("Withdrawn"),
                    "diff": None,
                    "event": "withdrawn",
                    "users": users_,
                }
            )

    ordered: list[dict[str, Any]] = []
    if sections.get("plan"):
        ordered.append(
            {"key": "plan", "title": _("The plan in general"), "entries": sections.pop("plan")}
        )
    theme_keys = [f"theme:{pk}" for pk in themes_b] + [
        f"theme:{pk}" for pk in themes_a if pk not in themes_b
    ]
    theme_keys += [k for k in sections if k.startswith("theme:") and k not in theme_keys]
    for key in theme_keys:
        if sections.get(key):
            pk = _int(key[6:])
            ordered.append(
                {
                    "key": key,
                    "title": theme_titles.get(pk, ""),
                    "theme": pk,
                    "entries": sections.pop(key),
                }
            )
    if sections.get("members"):
        ordered.append(
            {
                "key": "members",
                "title": _("The responsible group"),
                "entries": sections.pop("members"),
            }
        )
    for key in sorted(k for k in sections if k.startswith("other:") and sections[k]):
        ordered.append(
            {"key": key, "title": display.target_plural(key[6:]), "entries": sections[key]}
        )
    if sections.get("consents"):
        ordered.append(
            {"key": "consents", "title": _("Consent"), "entries": sections.pop("consents")}
        )
    return ordered


def _field(
    plan: Plan, target: str, name: str, before: Any, after: Any, names: display.Names
) -> dict[str, Any]:
    kind = display.field_kind(target, name)
    event = ""
    if (target, name) in _EVENT_FIELDS:
        event = {"status": "status", "responsible": "reassigned"}.get(name, "redated")
        if target == "measure" and name == "status" and after in {"done", "cancelled"}:
            event = "completed" if after == "done" else "cancelled"
        if target == "goal" and name == "status" and after in {"achieved", "not_achieved"}:
            event = after
    return {
        "field": name,
        "field_label": display.field_label(target, name),
        "is_text": kind == "text",
        "before": display.format_value(target, name, before, names),
        "after": display.format_value(target, name, after, names),
        "diff": display.text_diff(before or "", after or "") if kind == "text" else None,
        "event": event,
    }


def _consent_label(consent: dict[str, Any]) -> str:
    kind = consent.get("kind")
    return str(Consent.Kind(kind).label) if kind in Consent.Kind.values else _("Consent")


def _same(before: Any, after: Any) -> bool:
    return before == after or (before in (None, "") and after in (None, ""))


def _int(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None
