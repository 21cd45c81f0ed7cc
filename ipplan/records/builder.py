"""The meeting record, built from the change log with nothing typed afterwards.

`build_meeting_record(meeting)` reads the changes committed while the meeting was in
progress (start_revision < revision <= end_revision, whoever made them and through
whatever path: the plan as it changed during the meeting is the record) and folds them
into entries people can read:

- set and text changes fold into one entry per (object, field, person): the value
  before that person's first change → the value after their last one. Keystroke-level
  text ops therefore become one readable before → after diff. When two people edit the
  same field in turn, each entry spans that person's first to last change, so it may
  include the other's edits in between; both people are named;
- an object created in the meeting is one "added" entry with its values at the end of
  the meeting; later edits to it name their authors in the entry instead of producing
  entries of their own. Added and deleted again in the same meeting is marked so;
- deletes, restores and moves to another main theme are one entry each per person;
  re-ordering within a theme is left out, as are edits that end where they started.

Entries are grouped by main theme, in agenda order, with the agenda item's decision;
changes to the plan's general fields, the responsible group and consents get their
own sections. All display text (names, labels, dates) is resolved at build time, so
the frozen record keeps them as they were at close.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans.models import Change, Consent, Goal, Measure, Member, Plan, Theme

from . import display
from .history import initial_text, values_before

RECORD_VERSION = 1
_MISSING = object()
_FIELD_KINDS = (Change.Kind.SET, Change.Kind.TEXT)

# Field changes people look for in a record, named so the template can mark them.
_EVENTS: dict[tuple[str, str], dict[Any, str] | str] = {
    ("measure", "status"): {"done": "completed", "cancelled": "cancelled", "*": "status"},
    ("goal", "status"): {"achieved": "achieved", "not_achieved": "not_achieved", "*": "status"},
    ("plan", "status"): "status",
    ("measure", "responsible"): "reassigned",
    ("measure", "responsible_service"): "reassigned",
    ("measure", "due_date"): "redated",
    ("measure", "start_date"): "redated",
    ("goal", "evaluation_date"): "redated",
    ("plan", "next_evaluation"): "redated",
}


@dataclass(slots=True)
class _Light:
    """A change without its values: enough to decide how it folds. The JSON values are
    fetched afterwards for the few revisions that end up in the record."""

    revision: int
    kind: str
    target_type: str
    target_id: int
    field: str
    user_id: int
    meeting_id: int | None


_LIGHT = ("revision", "kind", "target_type", "target_id", "field", "user_id", "meeting_id")


def _light_rows(plan: Plan, since: int, upto: int) -> list[_Light]:
    qs = Change.objects.filter(plan=plan, revision__gt=since, revision__lte=upto)
    return [_Light(*values) for values in qs.order_by("revision").values_list(*_LIGHT)]


@dataclass
class _Entry:
    kind: str
    target: str
    target_id: int
    user_id: int
    first_revision: int
    first_kind: str = ""
    field: str = ""
    prior_revision: int | None = None
    last_revision: int = 0
    at: datetime.datetime | None = None
    before: Any = None
    after: Any = None
    values: dict[str, Any] | None = None
    field_revisions: dict[str, int] = dataclasses.field(default_factory=dict)
    count: int = 1
    outside: bool = False
    removed_again: bool = False
    editors: set[int] = dataclasses.field(default_factory=set)


def build_meeting_record(meeting: Meeting) -> dict[str, Any]:
    """The record of a closed (or closing) meeting as a JSON-ready dict."""
    with translation.override(settings.LANGUAGE_CODE):
        return _Builder(meeting).build()


class _Builder:
    def __init__(self, meeting: Meeting) -> None:
        self.meeting = meeting
        self.plan = Plan.objects.select_related("person", "coordinator").get(pk=meeting.plan_id)
        self.start = meeting.start_revision or 0
        self.end = meeting.end_revision if meeting.end_revision is not None else self.plan.revision

    # ---------------------------------------------------------------- folding

    def build(self) -> dict[str, Any]:
        rows = _light_rows(self.plan, self.start, self.end)
        previous_end = self._previous_end()
        earlier = (
            _light_rows(self.plan, previous_end, self.start)
            if previous_end is not None and previous_end < self.start
            else []
        )
        entries = self._fold(rows, self.start, self.meeting.pk)
        between = self._fold(earlier, previous_end or 0, None)
        self._load_names(
            {r.user_id for r in rows} | {r.user_id for r in earlier},
            [*entries.values(), *between.values()],
        )
        sections = self._sections(entries, agenda=True)
        people = Counter(row.user_id for row in rows)
        return {
            "version": RECORD_VERSION,
            "plan": {
                "id": self.plan.pk,
                "person": self.plan.person.full_name,
                "coordinator": self.plan.coordinator.display_name,
            },
            "meeting": self._meeting_info(),
            "attendees": self._attendees(),
            "agenda": [
                {
                    "theme": item.theme_id,
                    "title": self.theme_titles.get(item.theme_id, ""),
                    "decision": item.decision,
                }
                for item in self.agenda
            ],
            "sections": sections,
            "people": [
                {"name": self.user_names.get(uid, _("Unknown user")), "changes": n}
                for uid, n in people.most_common()
            ],
            "counts": {
                "operations": len(rows),
                "entries": sum(len(s["entries"]) for s in sections),
            },
            "between": {
                "from_revision": previous_end,
                "to_revision": self.start,
                "operations": len(earlier),
                "sections": self._sections(between, agenda=False),
            }
            if earlier
            else None,
            "built_at": timezone.now().isoformat(),
        }

    def _previous_end(self) -> int | None:
        """Where the previous closed meeting of the plan ended, if any."""
        return (
            Meeting.objects.filter(
                plan_id=self.plan.pk,
                status=Meeting.Status.CLOSED,
                end_revision__isnull=False,
                end_revision__lte=self.start,
            )
            .exclude(pk=self.meeting.pk)
            .order_by("-end_revision")
            .values_list("end_revision", flat=True)
            .first()
        )

    def _fold(self, rows: list[_Light], start: int, meeting_id: int | None) -> dict[tuple, _Entry]:
        """Fold the changes after revision `start` into entries; `meeting_id` None: no
        meeting, so nothing is marked as made outside it.

        First pass on the light rows decides the entries and which revisions' values
        each needs (the value before a person's first change to a field is the value
        after the change just before it); the second fetches just those values."""
        entries: dict[tuple, _Entry] = {}
        created: dict[tuple, _Entry] = {}
        last_on_key: dict[tuple, int] = {}
        for row in rows:
            target, pk, uid, rev = row.target_type, row.target_id, row.user_id, row.revision
            obj = (target, pk)
            outside = meeting_id is not None and row.meeting_id != meeting_id
            if row.kind in _FIELD_KINDS:
                key = (target, pk, row.field)
                if obj in created:
                    entry = created[obj]
                    entry.field_revisions[row.field] = rev
                    if uid != entry.user_id:
                        entry.editors.add(uid)
                    last_on_key[key] = rev
                    continue
                ekey = ("field", target, pk, row.field, uid)
                entry = entries.get(ekey)
                if entry is None:
                    entry = entries[ekey] = _Entry(
                        "field",
                        target,
                        pk,
                        uid,
                        rev,
                        row.kind,
                        row.field,
                        prior_revision=last_on_key.get(key),
                    )
                else:
                    entry.count += 1
                entry.last_revision = rev
                entry.outside = entry.outside or outside
                last_on_key[key] = rev
            elif row.kind == Change.Kind.CREATE:
                entry = _Entry("created", target, pk, uid, rev, last_revision=rev, outside=outside)
                entries[("created", target, pk)] = entry
                created[obj] = entry
            elif row.kind in {Change.Kind.DELETE, Change.Kind.RESTORE}:
                if obj in created:
                    created[obj].removed_again = row.kind == Change.Kind.DELETE
                    continue
                kind = "deleted" if row.kind == Change.Kind.DELETE else "restored"
                entries[(kind, target, pk, uid, rev)] = _Entry(
                    kind, target, pk, uid, rev, row.kind, last_revision=rev, outside=outside
                )
            elif row.kind == Change.Kind.MOVE:
                if obj in created:
                    continue
                ekey = ("moved", target, pk, uid)
                entry = entries.get(ekey)
                if entry is None:
                    entry = entries[ekey] = _Entry("moved", target, pk, uid, rev)
                else:
                    entry.count += 1
                entry.last_revision = rev
                entry.outside = entry.outside or outside
        self._fill_values(entries.values(), start)
        return entries

    def _fill_values(self, entries: Iterable[_Entry], start: int) -> None:
        entries = list(entries)
        needed: set[int] = set()
        unknown: set[tuple] = set()
        for e in entries:
            needed.update((e.first_revision, e.last_revision))
            if e.prior_revision is not None:
                needed.add(e.prior_revision)
            elif e.kind == "field" and e.first_kind == Change.Kind.TEXT:
                unknown.add((e.target, e.target_id, e.field))
            needed.update(e.field_revisions.values())
        stored: dict[int, tuple[Any, Any, datetime.datetime]] = {}
        ordered = sorted(needed)
        for chunk in range(0, len(ordered), 2000):
            for rev, before, after, at in Change.objects.filter(
                plan=self.plan, revision__in=ordered[chunk : chunk + 2000]
            ).values_list("revision", "before", "after", "at"):
                stored[rev] = (before, after, at)
        earlier = values_before(self.plan, unknown, start)
        for e in entries:
            first_before, first_after, _at = stored[e.first_revision]
            e.at = stored[e.last_revision][2]
            if e.kind == "field":
                if e.prior_revision is not None:
                    e.before = stored[e.prior_revision][1]
                elif e.first_kind == Change.Kind.SET:
                    e.before = first_before
                else:
                    key = (e.target, e.target_id, e.field)
                    e.before = earlier[key] if key in earlier else initial_text(*key)
                e.after = stored[e.last_revision][1]
            elif e.kind == "created":
                e.values = dict(first_after or {})
                for name, rev in e.field_revisions.items():
                    e.values[name] = stored[rev][1]
            elif e.kind == "deleted":
                e.values = dict(first_before or {})
            elif e.kind == "restored":
                e.values = dict(first_after or {})
            elif e.kind == "moved":
                e.before = first_before or {}
                e.after = stored[e.last_revision][1] or {}

    # ------------------------------------------------------------------ names

    def _load_names(self, user_ids: set[int], entries: list[_Entry]) -> None:
        from django.contrib.auth import get_user_model

        plan = self.plan
        self.agenda = list(
            AgendaItem.objects.filter(meeting=self.meeting).order_by("position", "pk")
        )
        self.themes = {t.pk: t for t in Theme.objects.filter(plan=plan)}
        self.theme_titles = {pk: t.title for pk, t in self.themes.items()}
        self.goals = {
            pk: (theme, text, level)
            for pk, theme, text, level in Goal.objects.filter(plan=plan).values_list(
                "pk", "theme_id", "text", "level"
            )
        }
        self.measures = {
            pk: (theme, text)
            for pk, theme, text in Measure.objects.filter(plan=plan).values_list(
                "pk", "theme_id", "description"
            )
        }
        members = list(Member.objects.filter(plan=plan).select_related("user"))
        self.consents = {c.pk: c for c in Consent.objects.filter(plan=plan)}
        user_ids = set(user_ids) | {plan.coordinator_id}
        for e in entries:
            if e.target == "plan" and e.field == "coordinator":
                user_ids.update(v for v in (e.before, e.after) if isinstance(v, int))
        if self.meeting.closed_by_id:
            user_ids.add(self.meeting.closed_by_id)
        self.user_names = {
            u.pk: u.display_name for u in get_user_model().objects.filter(pk__in=user_ids)
        }
        self.names = display.Names(
            members={m.pk: display.member_name(m) for m in members},
            goals={pk: text for pk, (_theme, text, _level) in self.goals.items()},
            users=self.user_names,
        )

    def _object_label(self, target: str, pk: int, values: dict | None = None) -> str:
        values = values or {}
        if target == "theme":
            return values.get("title") or self.theme_titles.get(pk, "")
        if target == "goal":
            return display.shorten(values.get("text") or self.goals.get(pk, (0, ""))[1], 200)
        if target == "measure":
            text = values.get("description") or self.measures.get(pk, (0, ""))[1]
            return display.shorten(text, 200)
        if target == "member":
            return self.names.members.get(pk, "")
        if target == "consent":
            consent = self.consents.get(pk)
            return str(consent.get_kind_display()) if consent else _("Consent")
        return display.other_label(target, pk)

    def _target_label(self, target: str, pk: int, values: dict | None = None) -> str:
        level = (values or {}).get("level")
        if target == "goal" and level is None:
            level = self.goals.get(pk, (0, "", None))[2]
        return display.target_label(target, level)

    def _theme_of(self, target: str, pk: int, values: dict | None = None) -> int | None:
        if target == "theme":
            return pk
        if target == "goal":
            return self.goals.get(pk, ((values or {}).get("theme"),))[0]
        if target == "measure":
            return self.measures.get(pk, ((values or {}).get("theme"),))[0]
        return None

    # ---------------------------------------------------------------- display

    def _user(self, uid: int) -> str:
        return self.user_names.get(uid, _("Unknown user"))

    def _render(self, entry: _Entry) -> dict[str, Any] | None:
        target, pk = entry.target, entry.target_id
        out: dict[str, Any] = {
            "kind": entry.kind,
            "target": target,
            "id": pk,
            "target_label": self._target_label(target, pk, entry.values),
            "label": self._object_label(target, pk, entry.values),
            "user": self._user(entry.user_id),
            "at": entry.at.isoformat() if entry.at else None,
            "revision": entry.first_revision,
            "count": entry.count,
            "outside_meeting": entry.outside,
        }
        if entry.kind == "field":
            if _same(entry.before, entry.after):
                return None
            if target == "consent":
                out.update(_consent_change(entry.before, entry.after))
            else:
                out.update(self._field_values(target, entry.field, entry.before, entry.after))
            out.setdefault("event", _event(target, entry.field, entry.after))
        elif entry.kind in {"created", "deleted", "restored"}:
            out["values"] = self._values(target, entry.values or {})
            out["removed_again"] = entry.removed_again
            out["editors"] = sorted(self._user(uid) for uid in entry.editors)
            kind = (entry.values or {}).get("kind")
            if target == "consent" and kind in Consent.Kind.values:
                out["label"] = str(Consent.Kind(kind).label)
        elif entry.kind == "moved":
            before_theme = (entry.before or {}).get("theme")
            after_theme = (entry.after or {}).get("theme")
            if target == "theme" or before_theme == after_theme:
                return None  # re-ordering within a theme is not news for the record
            out["from_theme"] = self.theme_titles.get(before_theme, "")
            out["to_theme"] = self.theme_titles.get(after_theme, "")
        return out

    def _field_values(self, target: str, name: str, before: Any, after: Any) -> dict[str, Any]:
        kind = display.field_kind(target, name)
        result: dict[str, Any] = {
            "field": name,
            "field_label": display.field_label(target, name),
            "is_text": kind == "text",
        }
        result["before"] = display.format_value(target, name, before, self.names)
        result["after"] = display.format_value(target, name, after, self.names)
        result["diff"] = display.text_diff(before or "", after or "") if kind == "text" else None
        return result

    def _values(self, target: str, values: dict[str, Any]) -> list[list[str]]:
        if target == "consent":
            return _consent_values(values, self.names)
        return display.snapshot_values(target, values, self.names)

    def _sections(self, entries: dict[tuple, _Entry], *, agenda: bool) -> list[dict]:
        rendered: dict[str, list[dict]] = {}
        for entry in sorted(entries.values(), key=lambda e: e.first_revision):
            out = self._render(entry)
            if out is None:
                continue
            if entry.target == "plan":
                key = "plan"
            elif entry.target == "member":
                key = "members"
            elif entry.target == "consent":
                key = "consents"
            elif entry.target in {"theme", "goal", "measure"}:
                theme = self._theme_of(entry.target, entry.target_id, entry.values)
                key = f"theme:{theme}"
            else:
                key = f"other:{entry.target}"
            rendered.setdefault(key, []).append(out)

        sections: list[dict] = []

        def add(
            key: str,
            title: str,
            *,
            theme: int | None = None,
            decision: str = "",
            on_agenda: bool = False,
        ) -> None:
            sections.append(
                {
                    "key": key,
                    "title": title,
                    "theme": theme,
                    "decision": decision,
                    "on_agenda": on_agenda,
                    "entries": rendered.pop(key, []),
                }
            )

        if "plan" in rendered:
            add("plan", _("The plan in general"))
        for item in self.agenda if agenda else []:
            add(
                f"theme:{item.theme_id}",
                self.theme_titles.get(item.theme_id, ""),
                theme=item.theme_id,
                decision=item.decision,
                on_agenda=True,
            )
        others = sorted(
            (k for k in rendered if k.startswith("theme:")),
            key=lambda k: _theme_order(self.themes.get(_int(k[6:]))),
        )
        for key in others:
            theme_id = _int(key[6:])
            add(key, self.theme_titles.get(theme_id, _("Other")), theme=theme_id)
        if "members" in rendered:
            add("members", _("The responsible group"))
        for key in sorted(k for k in rendered if k.startswith("other:")):
            add(key, display.target_plural(key[6:]))
        if "consents" in rendered:
            add("consents", _("Consent"))
        return sections

    # ------------------------------------------------------------- meeting

    def _meeting_info(self) -> dict[str, Any]:
        m = self.meeting
        next_at = m.next_meeting_at
        next_place = ""
        if next_at is None:
            following = (
                Meeting.objects.filter(
                    plan_id=m.plan_id,
                    status=Meeting.Status.PLANNED,
                    scheduled_at__gt=m.scheduled_at,
                )
                .order_by("scheduled_at")
                .first()
            )
            if following is not None:
                next_at, next_place = following.scheduled_at, following.place
        return {
            "id": m.pk,
            "scheduled_at": _iso(m.scheduled_at),
            "place": m.place,
            "started_at": _iso(m.started_at),
            "closed_at": _iso(m.closed_at),
            "closed_by": self.user_names.get(m.closed_by_id, "") if m.closed_by_id else "",
            "next_meeting_at": _iso(next_at),
            "next_meeting_place": next_place,
            "start_revision": self.start,
            "end_revision": self.end,
        }

    def _attendees(self) -> list[dict[str, str]]:
        result = []
        for a in Attendee.objects.filter(meeting=self.meeting).select_related(
            "user", "user__organisation"
        ):
            if a.user_id:
                organisation = a.user.organisation.name if a.user.organisation_id else ""
                result.append(
                    {"name": a.user.display_name, "role": a.role, "organisation": organisation}
                )
            else:
                result.append({"name": a.name, "role": a.role, "organisation": ""})
        return result


def _event(target: str, name: str, after: Any) -> str:
    rule = _EVENTS.get((target, name))
    if rule is None:
        return ""
    if isinstance(rule, str):
        return rule
    return rule.get(after, rule["*"])


def _consent_values(values: dict[str, Any], names: display.Names) -> list[list[str]]:
    shown = []
    if values.get("given_on"):
        shown.append([_("Given"), display.format_date(values["given_on"])])
    if values.get("expires_on"):
        shown.append([_("Expires"), display.format_date(values["expires_on"])])
    if values.get("members"):
        shown.append([_("Covers"), ", ".join(names.members.get(m, "?") for m in values["members"])])
    if values.get("scope"):
        shown.append([_("Scope"), values["scope"]])
    return shown


def _consent_change(before: Any, after: Any) -> dict[str, Any]:
    was = (before or {}).get("withdrawn_at") if isinstance(before, dict) else None
    now = (after or {}).get("withdrawn_at") if isinstance(after, dict) else None
    result = {"field": "", "field_label": _("Consent"), "is_text": False, "diff": None}
    if now and not was:
        result.update(before=_("Valid"), after=_("Withdrawn"), event="withdrawn")
    else:
        result.update(before=display.EMPTY, after=_("Changed"))
    return result


def _same(before: Any, after: Any) -> bool:
    return before == after or (before in (None, "") and after in (None, ""))


def _theme_order(theme: Theme | None) -> tuple[int, int]:
    return (theme.position, theme.pk) if theme is not None else (1 << 30, 0)


def _int(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
