"""The plan as it was at any revision, rebuilt from the change log.

How: **forward replay**. The state starts as the plan was before its first logged
change and every Change up to the wanted revision is applied in revision order, with
the same side effects the writer path (ipplan.plans.services) has:

- create inserts the snapshot; delete/restore flip the object's life and renumber or
  append exactly as services._move_close_gap / _op_restore do;
- move renumbers siblings like services._move; a goal moved to another theme takes its
  measures along, and a measure moved away from its goal's theme loses the goal;
- set/text replace the field value (a text change stores the full value after it).

Objects that predate the log (plan_create makes the default themes and the first
members without Change rows) start from the earliest value the log reveals for each
field: the `before` of the first set change, or the field as stored in the first
delete/restore snapshot, or the row's current value when the log never touched the
field. Only a text field whose first logged change is a text op has no recorded
starting value; for those we use what plan_create wrote (the template title for a
theme's title, empty otherwise).

Positions are given as the rank among the live siblings, ordered like the database
orders them ((position, pk)), so the state compares equal to the live plan even when
the stored position numbers have gaps.

A state is a plain dict (JSON-serialisable):
    {"revision": N, "plan": {...}, "themes": [...], "goals": [...], "measures": [...],
     "members": [...], "consents": [...], "deleted": {"theme": [...], ...},
     "other": {target: [...]}}
Object entries are services.snapshot() dicts (plus the resolved state of consents).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from ipplan.plans import services
from ipplan.plans.models import Change, Consent, Plan, Theme

ORDERED = ("theme", "goal", "measure")
SNAPSHOT_KINDS = (Change.Kind.CREATE, Change.Kind.RESTORE, Change.Kind.DELETE)
_COLUMNS = (
    "revision",
    "kind",
    "target_type",
    "target_id",
    "field",
    "before",
    "after",
    "user_id",
    "at",
    "meeting_id",
)


@dataclass(slots=True)
class Row:
    """One Change row without its payload (replay never needs the text op itself)."""

    revision: int
    kind: str
    target_type: str
    target_id: int
    field: str
    before: Any
    after: Any
    user_id: int
    at: Any
    meeting_id: int | None


_LIGHT = ("revision", "kind", "target_type", "target_id", "field", "user_id", "meeting_id")
_FIELD_KINDS = (Change.Kind.SET, Change.Kind.TEXT)


def change_rows(
    plan: Plan, *, upto: int | None = None, since: int | None = None, values: bool = True
) -> list[Row]:
    """The plan's changes in revision order; `values=False` leaves out before, after and
    at (for attribution, which needs only who changed what)."""
    qs = Change.objects.filter(plan=plan)
    if upto is not None:
        qs = qs.filter(revision__lte=upto)
    if since is not None:
        qs = qs.filter(revision__gt=since)
    qs = qs.order_by("revision")
    if values:
        return [Row(*v) for v in qs.values_list(*_COLUMNS)]
    return [
        Row(r, k, t, i, f, None, None, u, None, m)
        for r, k, t, i, f, u, m in qs.values_list(*_LIGHT)
    ]


def replay_rows(plan: Plan, revisions: Sequence[int]) -> list[Row]:
    """The log as replay needs it to stop at `revisions`, with values loaded only where
    they can matter: every structural change, the first change of each field (its
    `before` starts objects that predate the log), and the last change of each field
    before each stopping point. Keystroke-level text changes in between are superseded
    by a later full value, so their (possibly long) texts are never read."""
    rows = change_rows(plan, values=False)
    points = sorted(set(revisions))
    needed: set[int] = set()
    last: dict[tuple, int] = {}
    point = 0
    for row in rows:
        while point < len(points) and row.revision > points[point]:
            needed.update(last.values())
            point += 1
        if row.kind in _FIELD_KINDS:
            key = (row.target_type, row.target_id, row.field)
            if key not in last:
                needed.add(row.revision)
            last[key] = row.revision
        else:
            needed.add(row.revision)
    needed.update(last.values())
    loaded: dict[int, tuple[Any, Any, Any]] = {}
    ordered = sorted(needed)
    for start in range(0, len(ordered), 2000):
        for rev, before, after, at in Change.objects.filter(
            plan=plan, revision__in=ordered[start : start + 2000]
        ).values_list("revision", "before", "after", "at"):
            loaded[rev] = (before, after, at)
    for row in rows:
        if row.revision in loaded:
            row.before, row.after, row.at = loaded[row.revision]
    return rows


# ------------------------------------------------------------------ live state


def _consent_snapshot(consent: Consent) -> dict[str, Any]:
    # The same shape the writer path logs for consents (services._consent_snapshot).
    return services._consent_snapshot(consent)


def plan_state_live(plan: Plan) -> dict[str, Any]:
    """The plan as it is in the database now, in the same shape as plan_state_at."""
    plan = Plan.objects.get(pk=plan.pk)
    objects: dict[str, dict[int, dict]] = {}
    alive: dict[str, set[int]] = {}
    for target, model in services.MODELS.items():
        if target == "plan" or not _has_plan_fk(model):
            continue
        rows = list(model.objects.filter(plan=plan))
        objects[target] = {obj.pk: services.snapshot(obj) for obj in rows}
        alive[target] = {obj.pk for obj in rows if getattr(obj, "deleted_at", None) is None}
    consents = {
        c.pk: _consent_snapshot(c)
        for c in Consent.objects.filter(plan=plan).prefetch_related("members")
    }
    return _assemble(
        plan.revision,
        {name: services.field_value(plan, name) for name in services.FIELDS["plan"]},
        objects,
        alive,
        consents,
    )


def _has_plan_fk(model: type) -> bool:
    return any(f.name == "plan" for f in model._meta.get_fields())


def _assemble(
    revision: int,
    plan_values: dict[str, Any],
    objects: dict[str, dict[int, dict]],
    alive: dict[str, set[int]],
    consents: dict[int, dict],
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "revision": revision,
        "plan": dict(plan_values),
        "deleted": {},
        "other": {},
    }
    for target in ORDERED:
        snaps = objects.get(target, {})
        live = [dict(s) for pk, s in snaps.items() if pk in alive.get(target, set())]
        # Rank among live siblings, in the database's order (position, pk).
        groups: dict[Any, list[dict]] = defaultdict(list)
        for snap in live:
            groups[snap.get("theme")].append(snap)
        for siblings in groups.values():
            siblings.sort(key=lambda s: (s["position"], s["id"]))
            for rank, snap in enumerate(siblings):
                snap["position"] = rank
        live.sort(key=lambda s: (s.get("theme") or 0, s["position"], s["id"]))
        state[target + "s"] = live
        gone = [
            {k: v for k, v in s.items() if k != "position"}
            for pk, s in sorted(snaps.items())
            if pk not in alive.get(target, set())
        ]
        state["deleted"][target] = gone
    state["members"] = [
        dict(s) for pk, s in sorted(objects.get("member", {}).items()) if pk in alive["member"]
    ]
    state["consents"] = [dict(s) for _pk, s in sorted(consents.items())]
    for target, snaps in objects.items():
        if target in ORDERED or target == "member":
            continue
        state["other"][target] = [
            dict(s) for pk, s in sorted(snaps.items()) if pk in alive.get(target, set())
        ]
    return state


# ---------------------------------------------------------------------- replay


class Replay:
    """Walks the change log forward; `state()` gives the plan at the current point."""

    def __init__(self, plan: Plan, rows: Sequence[Row]) -> None:
        self.plan = plan
        self.rows = rows
        self.index = 0
        self.revision = 0
        self.plan_values: dict[str, Any] = {}
        self.objects: dict[str, dict[int, dict]] = defaultdict(dict)
        self.alive: dict[str, set[int]] = defaultdict(set)
        self.consents: dict[int, dict] = {}
        self._start()

    # -- the starting point -------------------------------------------------

    def _start(self) -> None:
        created = {(r.target_type, r.target_id) for r in self.rows if r.kind == Change.Kind.CREATE}
        by_object: dict[tuple[str, int], list[Row]] = defaultdict(list)
        for row in self.rows:
            by_object[(row.target_type, row.target_id)].append(row)

        # The plan's own create change (revision 1) overrides these when replayed.
        self.plan_values = self._initial_values(
            "plan", self.plan, by_object.get(("plan", self.plan.pk), []), services.FIELDS["plan"]
        )

        for target, model in services.MODELS.items():
            if target == "plan" or not _has_plan_fk(model):
                continue
            self.objects.setdefault(target, {})
            self.alive.setdefault(target, set())
            prelog = [
                obj
                for obj in model.objects.filter(plan=self.plan).order_by("pk")
                if (target, obj.pk) not in created
            ]
            ranks: dict[Any, int] = defaultdict(int)
            for obj in prelog:
                snap = services.snapshot(obj)
                rows = by_object.get((target, obj.pk), [])
                snap.update(self._initial_values(target, obj, rows, services.FIELDS[target]))
                if target in {"goal", "measure"}:
                    first_move = next((r for r in rows if r.kind == Change.Kind.MOVE), None)
                    if first_move is not None and "theme" in (first_move.before or {}):
                        snap["theme"] = first_move.before["theme"]
                if target in ORDERED:
                    group = snap.get("theme")
                    snap["position"] = ranks[group]
                    ranks[group] += 1
                self.objects[target][obj.pk] = snap
                self.alive[target].add(obj.pk)

    def _initial_values(
        self, target: str, obj: Any, rows: list[Row], fields: Iterable[str]
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in fields:
            value = services.field_value(obj, name)
            for row in rows:
                if row.kind in {Change.Kind.SET, Change.Kind.TEXT} and row.field == name:
                    if row.kind == Change.Kind.SET:
                        value = row.before
                    else:
                        value = _unlogged_text_start(target, obj, name)
                    break
                if row.kind in SNAPSHOT_KINDS:
                    snap = row.before if row.kind == Change.Kind.DELETE else row.after
                    if isinstance(snap, dict) and name in snap:
                        value = snap[name]
                        break
            values[name] = value
        return values

    # -- walking ------------------------------------------------------------

    def advance(self, revision: int) -> None:
        while self.index < len(self.rows) and self.rows[self.index].revision <= revision:
            self._apply(self.rows[self.index])
            self.index += 1
        self.revision = max(self.revision, min(revision, self.plan.revision))

    def state(self) -> dict[str, Any]:
        return _assemble(
            self.revision,
            self.plan_values,
            copy.deepcopy(dict(self.objects)),
            {k: set(v) for k, v in self.alive.items()},
            copy.deepcopy(self.consents),
        )

    def _apply(self, row: Row) -> None:
        target, pk = row.target_type, row.target_id
        if target == "plan":
            if row.kind == Change.Kind.CREATE:
                self.plan_values.update(row.after or {})
            elif row.field:
                self.plan_values[row.field] = row.after
            return
        if target == "consent":
            if isinstance(row.after, dict):
                self.consents[pk] = dict(row.after)
            return
        objects = self.objects[target]
        if row.kind == Change.Kind.CREATE:
            snap = dict(row.after or {})
            objects[pk] = snap
            if target in ORDERED:
                siblings = self._siblings(target, snap)
                if snap.get("position", len(siblings)) >= len(siblings):
                    snap["position"] = len(siblings)
                else:
                    self._move(target, snap, snap["position"])
            self.alive[target].add(pk)
        elif row.kind in {Change.Kind.SET, Change.Kind.TEXT}:
            if pk in objects:
                objects[pk][row.field] = row.after
        elif row.kind == Change.Kind.DELETE:
            self.alive[target].discard(pk)
            if target in ORDERED and pk in objects:
                for index, item in enumerate(self._siblings(target, objects[pk])):
                    item["position"] = index
        elif row.kind == Change.Kind.RESTORE:
            if pk in objects:
                snap = objects[pk]
                if target in ORDERED:
                    snap["position"] = len(self._siblings(target, snap))
                self.alive[target].add(pk)
        elif row.kind == Change.Kind.MOVE:
            self._apply_move(target, objects.get(pk), row.after or {})

    def _apply_move(self, target: str, snap: dict | None, after: dict) -> None:
        """services._op_move: a goal or measure moved to another theme leaves its old
        group renumbered; a goal takes its measures along (appended to the new theme);
        a measure moved away from its goal's theme loses the goal. The change names
        what moved along (after["goal"], after["measures"]), which we follow."""
        if snap is None or target not in ORDERED:
            return
        new_theme = after.get("theme")
        if target in {"goal", "measure"} and new_theme not in (None, snap.get("theme")):
            old_theme = snap.get("theme")
            snap["theme"] = new_theme
            if target == "measure":
                if "goal" in after:
                    snap["goal"] = after["goal"]
                elif snap.get("goal"):
                    goal = self.objects["goal"].get(snap["goal"])
                    if goal is not None and goal.get("theme") != new_theme:
                        snap["goal"] = None
            self._renumber(target, old_theme)
            if target == "goal":
                self._follow_goal(snap, old_theme, after.get("measures"))
        self._move(target, snap, after.get("position", snap.get("position", 0)))

    def _group(self, target: str, theme: Any) -> list[dict]:
        alive = self.alive[target]
        items = [
            s
            for pk, s in self.objects[target].items()
            if pk in alive and (target == "theme" or s.get("theme") == theme)
        ]
        items.sort(key=lambda s: (s["position"], s["id"]))
        return items

    def _renumber(self, target: str, theme: Any) -> None:
        for index, item in enumerate(self._group(target, theme)):
            item["position"] = index

    def _follow_goal(self, goal: dict, old_theme: Any, followers: list[int] | None) -> None:
        measures = self.objects["measure"]
        alive = self.alive["measure"]
        if followers is None:
            tied = [m for pk, m in measures.items() if pk in alive and m.get("goal") == goal["id"]]
            followers = [m["id"] for m in sorted(tied, key=lambda m: (m["position"], m["id"]))]
        start = len(self._group("measure", goal["theme"]))
        for measure in measures.values():
            if measure.get("goal") == goal["id"]:
                measure["theme"] = goal["theme"]
        for offset, pk in enumerate(followers):
            if pk in measures:
                measures[pk]["position"] = start + offset
        self._renumber("measure", old_theme)

    def _siblings(self, target: str, snap: dict) -> list[dict]:
        alive = self.alive[target]
        theme = snap.get("theme")
        items = [
            s
            for pk, s in self.objects[target].items()
            if pk in alive and pk != snap["id"] and (target == "theme" or s.get("theme") == theme)
        ]
        items.sort(key=lambda s: (s["position"], s["id"]))
        return items

    def _move(self, target: str, snap: dict, position: int) -> None:
        siblings = self._siblings(target, snap)
        siblings.insert(min(max(position, 0), len(siblings)), snap)
        for index, item in enumerate(siblings):
            item["position"] = index


def _unlogged_text_start(target: str, obj: Any, name: str) -> str:
    """What plan_create wrote into a text field it did not log (see module docstring)."""
    if target == "theme" and name == "title" and isinstance(obj, Theme) and obj.template_id:
        return obj.template.title
    return ""


def plan_states_at(plan: Plan, revisions: Sequence[int]) -> list[dict[str, Any]]:
    """The plan at each of `revisions` (any order), from one pass over the log."""
    rows = replay_rows(plan, revisions)
    replay = Replay(plan, rows)
    result: dict[int, dict[str, Any]] = {}
    for revision in sorted(set(revisions)):
        replay.advance(revision)
        result[revision] = replay.state()
        result[revision]["revision"] = revision
    return [result[r] for r in revisions]


def plan_state_at(plan: Plan, revision: int) -> dict[str, Any]:
    """The plan as it was right after `revision` was committed (forward replay)."""
    return plan_states_at(plan, [revision])[0]


# ------------------------------------------------------------- field timelines


def field_timeline(plan: Plan, target: str, target_id: int, field: str) -> list[dict[str, Any]]:
    """Every value a field has had, oldest first: revision, at, user_id, kind, value.

    The first entry may have revision None: the value the field started with before
    the log recorded anything about it (objects made by plan_create)."""
    rows = [
        Row(*values)
        for values in Change.objects.filter(plan=plan, target_type=target, target_id=target_id)
        .filter(Q(field=field) | Q(kind__in=[Change.Kind.CREATE]))
        .order_by("revision")
        .values_list(*_COLUMNS)
    ]
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == Change.Kind.CREATE:
            if not isinstance(row.after, dict) or field not in row.after:
                continue
            value = row.after[field]
        elif row.kind == Change.Kind.SET:
            if not entries:
                entries.append(_initial_entry(row.before))
            value = row.after
        else:
            if not entries:
                entries.append(_initial_entry(initial_text(target, target_id, field)))
            value = row.after
        entries.append(
            {
                "revision": row.revision,
                "at": row.at,
                "user_id": row.user_id,
                "kind": row.kind,
                "value": value,
                "meeting_id": row.meeting_id,
            }
        )
    return entries


def _initial_entry(value: Any) -> dict[str, Any]:
    return {
        "revision": None,
        "at": None,
        "user_id": None,
        "kind": "initial",
        "value": value,
        "meeting_id": None,
    }


def values_before(
    plan: Plan, keys: Iterable[tuple[str, int, str]], revision: int
) -> dict[tuple[str, int, str], Any]:
    """The value of each (target, id, field) right after `revision`, for the fields a
    meeting touched. Reads the log backwards from `revision` and stops as soon as every
    key is known, so a long history costs little. Keys the log never reveals before
    `revision` are missing from the result (the caller falls back)."""
    wanted = set(keys)
    found: dict[tuple[str, int, str], Any] = {}
    if not wanted:
        return found
    targets = {k[0] for k in wanted}
    ids = {k[1] for k in wanted}
    fields = {k[2] for k in wanted}
    by_object: dict[tuple[str, int], set[str]] = defaultdict(set)
    for target, pk, name in wanted:
        by_object[(target, pk)].add(name)
    qs = (
        Change.objects.filter(
            plan=plan, revision__lte=revision, target_type__in=targets, target_id__in=ids
        )
        .filter(Q(field__in=fields) | Q(kind__in=SNAPSHOT_KINDS))
        .order_by("-revision")
        .values_list("kind", "target_type", "target_id", "field", "before", "after")
    )
    for kind, target, pk, name, before, after in qs.iterator(chunk_size=500):
        names = by_object.get((target, pk))
        if not names:
            continue
        if kind in {Change.Kind.SET, Change.Kind.TEXT}:
            if name in names and (target, pk, name) not in found:
                found[(target, pk, name)] = after
        elif kind in SNAPSHOT_KINDS:
            snap = before if kind == Change.Kind.DELETE else after
            if isinstance(snap, dict):
                for n in names:
                    if n in snap and (target, pk, n) not in found:
                        found[(target, pk, n)] = snap[n]
        if len(found) == len(wanted):
            break
    return found


def initial_text(target: str, target_id: int, field: str) -> str:
    """Fallback for a text field whose earlier value the log does not hold."""
    model = services.MODELS.get(target)
    if model is None:
        return ""
    obj = model.objects.filter(pk=target_id).first()
    return _unlogged_text_start(target, obj, field) if obj is not None else ""
