"""Load the fictitious demo in seeds/demo.json (see `manage.py load_demo`).

Idempotent by natural keys: organisations by name, groups by name, theme templates by
code, users by username, persons by name + birth date. A person who already has a plan
is left alone, so a second run creates nothing and never overwrites what people did
while trying the demo.

Plan content is written through ipplan.plans.services (and ipplan.meetings.services
when that app provides them), so the change log, revisions and permissions are the
real ones. Only the *timestamps* of the demo's history are moved afterwards: the JSON
says what happened on which day (offsets from today), and the log is spread over those
days so that history, records and reminders look like a plan in use, never stale.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from ipplan.accounts.models import Organisation, User
from ipplan.plans import services
from ipplan.plans.models import (
    AccessLog,
    Change,
    Consent,
    Measure,
    Member,
    Person,
    Plan,
    Theme,
    ThemeTemplate,
)

DATE_FIELDS = {
    "goal": {"evaluation_date"},
    "measure": {"start_date", "due_date"},
    "plan": {"next_evaluation", "period_start", "period_end"},
    "member": {"active_from", "active_to"},
}


def seed_path() -> Path:
    return Path(settings.BASE_DIR) / "seeds" / "demo.json"


@dataclass
class Login:
    username: str
    name: str
    role: str


@dataclass
class DemoResult:
    password: str
    logins: list[Login]
    created: dict[str, int] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def load_demo(path: Path | None = None) -> DemoResult:
    """Load the demo; returns the logins and what was created (empty on a re-run)."""
    data = json.loads((path or seed_path()).read_text(encoding="utf-8"))
    result = DemoResult(password=data["password"], logins=[])
    with transaction.atomic():
        orgs = _organisations(data["organisations"], result)
        _groups(data.get("groups", []))
        _theme_templates(data["theme_templates"], result)
        users = _users(data["users"], orgs, data["password"], result)
        demo_plans = {}
        for spec in data["persons"]:
            plan = _person(spec, users, orgs, result)
            if plan is not None:
                demo_plans[spec["first_name"].lower()] = plan
        result.plans = list(demo_plans.values())
        _courses(demo_plans, users[data["courses_user"]], result)
    return result


# ------------------------------------------------------------------ reference data


def _organisations(specs: list[dict], result: DemoResult) -> dict[str, Organisation]:
    orgs = {}
    for spec in specs:
        org, created = Organisation.objects.get_or_create(
            name=spec["name"],
            defaults={"kind": spec.get("kind", ""), "phone": spec.get("phone", "")},
        )
        if created:
            result.count("organisations")
        orgs[spec["key"]] = org
    return orgs


def _groups(specs: list[dict]) -> None:
    for spec in specs:
        group, _created = Group.objects.get_or_create(name=spec["name"])
        for dotted in spec.get("permissions", []):
            app_label, codename = dotted.split(".", 1)
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def _theme_templates(specs: list[dict], result: DemoResult) -> None:
    for position, spec in enumerate(specs):
        _template, created = ThemeTemplate.objects.get_or_create(
            code=spec["code"],
            defaults={
                "title": spec["title"],
                "description": spec.get("description", ""),
                "position": position,
            },
        )
        if created:
            result.count("theme templates")


def _users(
    specs: list[dict], orgs: dict[str, Organisation], password: str, result: DemoResult
) -> dict[str, User]:
    users = {}
    for spec in specs:
        user = User.objects.filter(username=spec["username"]).first()
        if user is None:
            user = User(
                username=spec["username"],
                first_name=spec.get("first_name", ""),
                last_name=spec.get("last_name", ""),
                title=spec.get("title", ""),
                phone=spec.get("phone", ""),
                organisation=orgs.get(spec.get("organisation", "")),
                is_unit_leader=spec.get("is_unit_leader", False),
                is_superuser=spec.get("is_superuser", False),
                is_staff=spec.get("is_superuser", False),
            )
            # Only on creation: a password someone changed while trying the demo stays.
            user.set_password(password)
            user.save()
            result.count("users")
        for name in spec.get("groups", []):
            user.groups.add(Group.objects.get(name=name))
        users[spec["username"]] = user
        result.logins.append(Login(user.username, user.display_name, spec.get("role", "")))
    # Fresh objects: permissions granted through groups above are cached per instance.
    fresh = User.objects.in_bulk([u.pk for u in users.values()])
    return {username: fresh[user.pk] for username, user in users.items()}


# ------------------------------------------------------------------------- plans


def _today() -> datetime.date:
    return timezone.localdate()


def _day(offset: int | None) -> datetime.date | None:
    return None if offset is None else _today() + datetime.timedelta(days=offset)


def _moment(offset: int, clock: str = "09:00") -> datetime.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    naive = datetime.datetime.combine(_day(offset), datetime.time(hour, minute))
    return timezone.make_aware(naive)


class _Timeline:
    """Remembers on which (demo) moment each revision of one plan happened."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.seen = 0
        self.stamps: dict[int, datetime.datetime] = {}

    def mark(self, when: datetime.datetime) -> None:
        """Every revision since the last mark happened at `when` (a minute apart)."""
        revision = Plan.objects.values_list("revision", flat=True).get(pk=self.plan.pk)
        for index, rev in enumerate(range(self.seen + 1, revision + 1)):
            self.stamps[rev] = when + datetime.timedelta(minutes=index)
        self.seen = revision

    def apply(self) -> None:
        """Move the change log's timestamps to the demo's days, keeping them in
        revision order and never in the future."""
        now = timezone.now()
        previous = None
        for rev in sorted(self.stamps):
            at = self.stamps[rev]
            if previous is not None and at <= previous:
                at = previous + datetime.timedelta(seconds=30)
            at = min(at, now)
            Change.objects.filter(plan=self.plan, revision=rev).update(at=at)
            previous = at


@dataclass
class _PlanContext:
    plan: Plan
    coordinator: User
    users: dict[str, User]
    timeline: _Timeline
    members: dict[str, Member] = field(default_factory=dict)
    themes: dict[str, Theme] = field(default_factory=dict)
    goals: dict[str, int] = field(default_factory=dict)
    measures: dict[str, int] = field(default_factory=dict)

    def user(self, username: str | None) -> User:
        return self.users[username] if username else self.coordinator


def _person(
    spec: dict, users: dict[str, User], orgs: dict[str, Organisation], result: DemoResult
) -> Plan | None:
    """The person's plan in use: created with its content the first time, found after."""
    birth_date = datetime.date.fromisoformat(spec["birth_date"])
    person = Person.objects.filter(
        first_name=spec["first_name"], last_name=spec["last_name"], birth_date=birth_date
    ).first()
    if person is None:
        person = Person.objects.create(
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            birth_date=birth_date,
            phone=spec.get("phone", ""),
            address=spec.get("address", ""),
            user=users.get(spec.get("user", "")),
        )
        result.count("persons")
    if person.plans.exists():
        # Someone may have closed it while trying the demo: then it stays closed.
        return person.plans.exclude(status=Plan.Status.CLOSED).first()
    result.count("plans")
    return _plan(person, spec["plan"], users, orgs)


def _plan(
    person: Person, spec: dict, users: dict[str, User], orgs: dict[str, Organisation]
) -> Plan:
    coordinator = users[spec["coordinator"]]
    plan = services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=_day(spec["period_start"]),
        period_end=_day(spec.get("period_end")),
        next_evaluation=_day(spec.get("next_evaluation")),
        status=spec.get("status", Plan.Status.ACTIVE),
    )
    ctx = _PlanContext(plan, coordinator, users, _Timeline(plan))
    start = spec["period_start"]
    ctx.timeline.mark(_moment(start, "09:00"))
    Plan.objects.filter(pk=plan.pk).update(created_at=_moment(start, "09:00"))
    Person.objects.filter(pk=person.pk).update(created_at=_moment(start, "08:55"))
    plan.refresh_from_db()

    _plan_texts(ctx, spec, start)
    _members(ctx, spec.get("members", []), orgs, start)
    _consents(ctx, spec.get("consents", []))
    for theme_spec in spec.get("themes", []):
        _theme(ctx, theme_spec)

    # What happened after the plan was first written, in day order.
    events: list[tuple[int, str, Callable[[], None]]] = []
    for theme_spec in spec.get("themes", []):
        for measure in _theme_measures(theme_spec):
            if "done_on" in measure:
                events.append((measure["done_on"], "10:00", _completion(ctx, measure)))
    for meeting in spec.get("meetings", []):
        events.append((meeting["day"], meeting.get("time", "10:00"), _meeting(ctx, meeting)))
    for edit in spec.get("after", []):
        events.append((edit["day"], edit.get("time", "14:00"), _after(ctx, edit)))
    for day, clock, run in sorted(events, key=lambda event: (event[0], event[1])):
        run()
        ctx.timeline.mark(_moment(day, clock))

    ctx.timeline.apply()
    _reads(ctx, spec.get("reads", []))
    return Plan.objects.get(pk=plan.pk)


def _reads(ctx: _PlanContext, specs: list[dict]) -> None:
    """Earlier reads, so the access log (innsynslogg) the person sees is not empty.

    services.record_access logs a read as it happens; the demo's reads happened on
    earlier days, so they are inserted with their own time (inserts only: the log is
    append-only)."""
    for spec in specs:
        AccessLog.objects.create(
            plan=ctx.plan,
            user=ctx.users[spec["user"]],
            via=spec.get("via", AccessLog.Via.PAGE),
            at=min(_moment(spec["day"], spec.get("time", "12:00")), timezone.now()),
        )


def _plan_texts(ctx: _PlanContext, spec: dict, start: int) -> None:
    values = {
        name: spec[name]
        for name in ("what_matters", "resources", "needs", "cooperation")
        if spec.get(name)
    }
    if values:
        services.object_update(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            target="plan",
            target_id=ctx.plan.pk,
            values=values,
        )
        ctx.timeline.mark(_moment(start, "09:05"))


def _members(
    ctx: _PlanContext, specs: list[dict], orgs: dict[str, Organisation], start: int
) -> None:
    for member in Member.objects.filter(plan=ctx.plan).select_related("user"):
        ctx.members[member.user.username] = member
    person_user = ctx.plan.person.user
    if person_user is not None:
        # plan_create adds the person from today; in the demo they were there from the start.
        services.object_update(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            target="member",
            target_id=ctx.members[person_user.username].pk,
            values={"active_from": _day(start)},
        )
        ctx.timeline.mark(_moment(start, "09:10"))
    for spec in specs:
        user = ctx.users[spec["user"]]
        created = services.object_create(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            target="member",
            values={
                "user": user.pk,
                "role": spec["role"],
                "organisation": orgs[spec["organisation"]].pk if spec.get("organisation") else None,
                "service": spec.get("service", ""),
                "contribution": spec.get("contribution", ""),
                "access": spec["access"],
                "active_from": _day(spec["active_from"]),
            },
        )
        ctx.members[user.username] = Member.objects.get(pk=created.result["id"])
        ctx.timeline.mark(_moment(spec["active_from"], "09:30"))
    for member in Member.objects.filter(plan=ctx.plan):
        offset = (member.active_from - _today()).days
        added = max(_moment(offset, "09:30"), ctx.plan.created_at)
        Member.objects.filter(pk=member.pk).update(added_at=added)


def _consents(ctx: _PlanContext, specs: list[dict]) -> None:
    for spec in specs:
        consent = services.consent_record(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            kind=spec["kind"],
            given_on=_day(spec["given_on"]),
            expires_on=_day(spec.get("expires_on")),
            members=[ctx.members[name] for name in spec.get("members", [])],
            scope=spec.get("scope", ""),
        )
        when = _moment(spec["given_on"], "10:00")
        Consent.objects.filter(pk=consent.pk).update(recorded_at=when)
        ctx.timeline.mark(when)


def _theme_measures(theme_spec: dict) -> list[dict]:
    measures = list(theme_spec.get("measures", []))
    for goal in theme_spec.get("goals", []):
        measures.extend(goal.get("measures", []))
    return measures


def _theme(ctx: _PlanContext, spec: dict) -> None:
    theme = Theme.objects.get(plan=ctx.plan, template__code=spec["template"])
    ctx.themes[spec["template"]] = theme
    day = spec["day"]
    if spec.get("current_situation"):
        services.object_update(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            target="theme",
            target_id=theme.pk,
            values={"current_situation": spec["current_situation"]},
        )
        ctx.timeline.mark(_moment(day, "10:00"))
    for goal in spec.get("goals", []):
        values = {
            key: goal[key]
            for key in ("level", "text", "success_criterion", "status", "expressed_by")
            if key in goal
        }
        values["theme"] = theme.pk
        values["evaluation_date"] = _day(goal["evaluation_date"])
        created = services.object_create(
            plan_id=ctx.plan.pk, user=ctx.user(goal.get("by")), target="goal", values=values
        )
        if goal.get("key"):
            ctx.goals[goal["key"]] = created.result["id"]
        ctx.timeline.mark(_moment(day, "10:10"))
    for measure in _theme_measures(spec):
        _create_measure(ctx, theme, measure)
        ctx.timeline.mark(_moment(day, "10:30"))


def _measure_values(ctx: _PlanContext, theme: Theme, spec: dict) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: spec[key]
        for key in ("description", "how", "responsible_service", "scope", "status")
        if key in spec
    }
    values["theme"] = theme.pk
    if spec.get("goal"):
        values["goal"] = ctx.goals[spec["goal"]]
    if spec.get("responsible"):
        values["responsible"] = ctx.members[spec["responsible"]].pk
    for name in ("start_date", "due_date"):
        if name in spec:
            values[name] = _day(spec[name])
    if "done_on" in spec:
        values["status"] = "ongoing"  # completed later, by its own event
    return values


def _create_measure(ctx: _PlanContext, theme: Theme, spec: dict) -> int:
    created = services.object_create(
        plan_id=ctx.plan.pk,
        user=ctx.user(spec.get("by")),
        target="measure",
        values=_measure_values(ctx, theme, spec),
    )
    pk = created.result["id"]
    if spec.get("key"):
        ctx.measures[spec["key"]] = pk
    return pk


def _completion(ctx: _PlanContext, spec: dict) -> Callable[[], None]:
    def run() -> None:
        measure_id = ctx.measures.get(spec.get("key", "")) or _find_measure(ctx, spec)
        responsible = spec.get("responsible")
        # The one responsible marks it done when they may; otherwise the coordinator.
        user = ctx.user(responsible) if responsible else ctx.coordinator
        services.object_update(
            plan_id=ctx.plan.pk,
            user=user,
            target="measure",
            target_id=measure_id,
            values={"status": "done"},
        )

    return run


def _find_measure(ctx: _PlanContext, spec: dict) -> int:
    return Measure.objects.get(plan=ctx.plan, description=spec["description"]).pk


def _edit_op(ctx: _PlanContext, spec: dict) -> dict[str, Any]:
    target = spec["target"]
    if spec.get("create"):
        theme = ctx.themes[spec["theme"]]
        values = {
            k: services.serialize_value(v) for k, v in _measure_values(ctx, theme, spec).items()
        }
        return {"type": "create", "target": target, "values": values}
    if target == "theme":
        target_id = ctx.themes[spec["template"]].pk
    elif target == "plan":
        target_id = ctx.plan.pk
    else:
        target_id = (ctx.goals if target == "goal" else ctx.measures)[spec["key"]]
    value = spec["value"]
    if spec["field"] in DATE_FIELDS.get(target, set()) and isinstance(value, int):
        value = _day(value).isoformat()
    return {
        "type": "set",
        "target": target,
        "id": target_id,
        "field": spec["field"],
        "value": value,
    }


def _apply_edit(ctx: _PlanContext, spec: dict, *, meeting_id: int | None = None) -> None:
    result = services.apply_operation(
        plan_id=ctx.plan.pk,
        user=ctx.user(spec.get("by")),
        op=_edit_op(ctx, spec),
        meeting_id=meeting_id,
        via="live" if meeting_id else "form",
    )
    if spec.get("create") and spec.get("key"):
        ctx.measures[spec["key"]] = result.result["id"]


def _after(ctx: _PlanContext, spec: dict) -> Callable[[], None]:
    return lambda: _apply_edit(ctx, spec)


# ---------------------------------------------------------------- optional apps


def _meeting_services() -> Any | None:
    try:
        from ipplan.meetings import services as meeting_services
    except ImportError:
        return None
    needed = ("meeting_schedule", "meeting_start", "meeting_close", "attendee_add")
    return meeting_services if all(hasattr(meeting_services, n) for n in needed) else None


@contextlib.contextmanager
def _clock(moment: datetime.datetime) -> Iterator[None]:
    """Let the services see `moment` as now (the demo replays a plan's past; used only
    here, for closing a past meeting, whose record is frozen with the time it closed)."""
    with mock.patch.object(timezone, "now", return_value=moment.astimezone(datetime.UTC)):
        yield


def _meeting(ctx: _PlanContext, spec: dict) -> Callable[[], None]:
    def run() -> None:
        ms = _meeting_services()
        if ms is None:
            return
        from ipplan.meetings.models import AgendaItem, Attendee, Meeting

        scheduled = _moment(spec["day"], spec.get("time", "10:00"))
        agenda = spec.get("agenda")
        meeting = ms.meeting_schedule(
            plan_id=ctx.plan.pk,
            user=ctx.coordinator,
            scheduled_at=scheduled,
            place=spec.get("place", ""),
            agenda_theme_ids=[ctx.themes[code].pk for code in agenda] if agenda else None,
        )
        created_at = max(scheduled - datetime.timedelta(days=14), ctx.plan.created_at)
        if created_at > timezone.now():
            created_at = timezone.now()
        Meeting.objects.filter(pk=meeting.pk).update(created_at=created_at)
        if spec.get("status") != "closed":
            return
        ms.meeting_start(meeting_id=meeting.pk, user=ctx.coordinator)
        for username in spec.get("attendees", []):
            member = Member.objects.get(plan=ctx.plan, user=ctx.users[username])
            ms.attendee_add(
                meeting_id=meeting.pk,
                user=ctx.coordinator,
                attendee_user_id=member.user_id,
                role=member.service or str(member.get_role_display()),
            )
        for guest in spec.get("guests", []):
            ms.attendee_add(
                meeting_id=meeting.pk, user=ctx.coordinator, name=guest["name"], role=guest["role"]
            )
        for edit in spec.get("edits", []):
            _apply_edit(ctx, edit, meeting_id=meeting.pk)
        decide = getattr(ms, "agenda_decision_set", None)
        for item in AgendaItem.objects.filter(meeting=meeting).select_related("theme__template"):
            text = spec.get("decisions", {}).get(getattr(item.theme.template, "code", ""))
            if text and decide is not None:
                decide(item_id=item.pk, user=ctx.coordinator, text=text)
        next_day = spec.get("next_meeting_day")
        # Closing freezes the meeting's record (referat) with the times it reads then,
        # so the meeting's start, its attendees and the edits made in it are moved to
        # the day it was held first, and the close itself happens "at" that day's end.
        started = scheduled + datetime.timedelta(minutes=2)
        closed = scheduled + datetime.timedelta(minutes=75)
        ctx.timeline.mark(started + datetime.timedelta(minutes=1))
        ctx.timeline.apply()
        Meeting.objects.filter(pk=meeting.pk).update(started_at=started)
        Attendee.objects.filter(meeting=meeting).update(joined_at=started)
        with _clock(min(closed, timezone.now())):
            ms.meeting_close(
                meeting_id=meeting.pk,
                user=ctx.coordinator,
                next_meeting_at=_moment(next_day, spec.get("time", "10:00"))
                if next_day is not None
                else None,
            )

    return run


def _courses(plans: dict[str, Plan], user: User, result: DemoResult) -> None:
    """Treatment courses (behandlingsløp) come from the courses app's own seed module,
    which is idempotent too, so it runs every time."""
    try:
        from ipplan.courses.seed import load_demo_courses
    except ImportError:
        return
    created = load_demo_courses(plans=plans, user=user)
    if created:
        result.count("treatment courses", created)
