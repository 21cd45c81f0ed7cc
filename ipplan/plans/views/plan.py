"""The plan page, and creating and editing a plan."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ipplan.core.templatetags.ipplan_tags import status_badge
from ipplan.plans import services
from ipplan.plans.forms import PlanCreateForm, PlanForm
from ipplan.plans.models import AccessLog, Consent, Goal, Measure, Member, Person, Plan, Theme
from ipplan.plans.permissions import PlanAccess, visible_plans

from ._common import (
    consent_status,
    edit_initial,
    goal_warnings,
    log_read,
    plan_consent_valid,
    plan_or_404,
    save_edit,
)

# ------------------------------------------------------------------------ plan page


def url_maker(name: str, plan_pk: int) -> Callable[[int], str]:
    """`reverse(name, args=[plan_pk, pk])` for many objects at the cost of one reverse:
    the plan page links to each of its hundreds of goals and measures."""
    marker = 2_147_483_647  # never a real id on the page: the largest integer key
    prefix, found, suffix = reverse(name, args=[plan_pk, marker]).rpartition(str(marker))
    assert found, name
    return lambda pk: f"{prefix}{pk}{suffix}"


class _Row:
    """A row the template reads many times. Django's template engine tries `row[name]`
    before `row.name`; answering it here spares an exception per lookup, which counts
    on a page with hundreds of goals and measures."""

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


@dataclass
class MeasureRow(_Row):
    measure: Measure
    can_edit: bool
    # What the page shows, worked out once (see load_themes).
    badge: str = ""
    overdue: bool = False
    responsible: str = ""
    period: str = ""
    short: str = ""  # for screen readers: which measure a link is for
    edit_url: str = ""
    delete_url: str = ""


@dataclass
class GoalRow(_Row):
    goal: Goal
    warnings: list[str]
    measures: list[MeasureRow] = field(default_factory=list)
    first: bool = False
    last: bool = False
    badge: str = ""
    level: str = ""
    overdue: bool = False
    evaluation: str = ""
    short: str = ""
    edit_url: str = ""
    delete_url: str = ""
    move_url: str = ""
    add_measure_url: str = ""


@dataclass
class ThemeRow(_Row):
    theme: Theme
    goals: list[GoalRow] = field(default_factory=list)
    loose_measures: list[MeasureRow] = field(default_factory=list)
    first: bool = False
    last: bool = False
    edit_url: str = ""
    delete_url: str = ""
    move_url: str = ""
    goal_create_url: str = ""
    measure_create_url: str = ""


class _PlanUrls:
    """The edit links of one plan's page, made without a reverse() per link."""

    def __init__(self, plan_pk: int) -> None:
        self.theme_edit = url_maker("plans:theme_edit", plan_pk)
        self.theme_delete = url_maker("plans:theme_delete", plan_pk)
        self.theme_move = url_maker("plans:theme_move", plan_pk)
        self.goal_create = url_maker("plans:goal_create", plan_pk)
        self.measure_create = url_maker("plans:measure_create", plan_pk)
        self.goal_edit = url_maker("plans:goal_edit", plan_pk)
        self.goal_delete = url_maker("plans:goal_delete", plan_pk)
        self.goal_move = url_maker("plans:goal_move", plan_pk)
        self.measure_edit = url_maker("plans:measure_edit", plan_pk)
        self.measure_delete = url_maker("plans:measure_delete", plan_pk)


class _Shown:
    """What the page shows for a value, worked out once per distinct value: a plan's
    items share few dates, statuses and levels (and Django's get_FOO_display()
    translates every choice label at each call)."""

    def __init__(self) -> None:
        self._dates: dict[datetime.date, str] = {}
        self._badges: dict[tuple[type, str], str] = {}
        self._levels: dict[str, str] = {}

    def date(self, day: datetime.date | None, empty: str = "") -> str:
        """`day|date:"SHORT_DATE_FORMAT"`."""
        if day is None:
            return empty
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = formats.date_format(day, "SHORT_DATE_FORMAT")
        return text

    def badge(self, obj: Goal | Measure) -> str:
        """`{% status_badge obj %}`."""
        key = (type(obj), obj.status)
        html = self._badges.get(key)
        if html is None:
            html = self._badges[key] = status_badge(obj)
        return html

    def level(self, goal: Goal) -> str:
        label = self._levels.get(goal.level)
        if label is None:
            label = self._levels[goal.level] = goal.get_level_display()
        return label


def _measure_row(
    measure: Measure, access: PlanAccess, urls: _PlanUrls, shown: _Shown
) -> MeasureRow:
    responsible = measure.responsible
    row = MeasureRow(
        measure,
        access.can_edit_measure(responsible.user_id if responsible else None),
        badge=shown.badge(measure),
        overdue=measure.is_overdue,
    )
    if responsible is not None:
        organisation = responsible.organisation
        row.responsible = responsible.user.display_name + (
            f", {organisation.name}" if organisation else ""
        )
    if measure.start_date or measure.due_date:
        row.period = f"{shown.date(measure.start_date, '…')} – {shown.date(measure.due_date, '…')}"
    if row.can_edit or access.can_edit:
        row.short = truncatechars(measure.description, 40)
    if row.can_edit:
        row.edit_url = urls.measure_edit(measure.pk)
    if access.can_edit:
        row.delete_url = urls.measure_delete(measure.pk)
    return row


def load_themes(plan: Plan, access: PlanAccess) -> list[ThemeRow]:
    """Themes in order with their goals and measures, in three queries whatever the
    plan's size. Measures tied to a goal sit under it; the rest follow the goals.
    What the page shows of each item (badges, dates, links, advice) is worked out
    here once, so the template draws hundreds of items without further lookups."""
    themes = list(
        Theme.objects.alive()
        .filter(plan=plan)
        .order_by("position", "pk")
        .prefetch_related(
            Prefetch("goals", queryset=Goal.objects.alive().order_by("position", "pk")),
            Prefetch(
                "measures",
                queryset=Measure.objects.alive()
                .select_related("responsible__user", "responsible__organisation")
                .order_by("position", "pk"),
            ),
        )
    )
    can_edit = access.can_edit
    urls = _PlanUrls(plan.pk)
    shown = _Shown()
    rows = []
    for index, theme in enumerate(themes):
        goals = list(theme.goals.all())
        goal_rows = {}
        for position, g in enumerate(goals):
            goal_row = GoalRow(
                g,
                [],
                first=position == 0,
                last=position == len(goals) - 1,
                badge=shown.badge(g),
                level=shown.level(g),
                overdue=g.is_overdue,
                evaluation=shown.date(g.evaluation_date),
            )
            if can_edit:
                # The advice is shown to those who may change the goal only.
                goal_row.warnings = goal_warnings(
                    text=g.text, success_criterion=g.success_criterion
                )
                goal_row.short = truncatechars(g.text, 40)
                goal_row.edit_url = urls.goal_edit(g.pk)
                goal_row.delete_url = urls.goal_delete(g.pk)
                goal_row.move_url = urls.goal_move(g.pk)
                goal_row.add_measure_url = f"{urls.measure_create(theme.pk)}?goal={g.pk}"
            goal_rows[g.pk] = goal_row
        row = ThemeRow(
            theme, list(goal_rows.values()), first=index == 0, last=index == len(themes) - 1
        )
        if can_edit:
            row.edit_url = urls.theme_edit(theme.pk)
            row.delete_url = urls.theme_delete(theme.pk)
            row.move_url = urls.theme_move(theme.pk)
            row.goal_create_url = urls.goal_create(theme.pk)
            row.measure_create_url = urls.measure_create(theme.pk)
        for measure in theme.measures.all():
            measure_row = _measure_row(measure, access, urls, shown)
            if measure.goal_id in goal_rows:
                goal_rows[measure.goal_id].measures.append(measure_row)
            else:
                row.loose_measures.append(measure_row)
        rows.append(row)
    return rows


def load_members(plan: Plan) -> list[Member]:
    return list(
        plan.members.select_related("user", "organisation").order_by(
            "role", "user__last_name", "user__first_name"
        )
    )


def load_consents(plan: Plan) -> list[Consent]:
    """The plan's consents, newest first, each with `member_ids`: the members it covers
    (one query: a row per consent and member, folded here)."""
    consents: dict[int, Consent] = {}
    for consent in plan.consents.annotate(covered_member=F("members")).order_by(
        "-given_on", "-pk", "covered_member"
    ):
        kept = consents.get(consent.pk)
        if kept is None:
            kept = consents[consent.pk] = consent
            kept.member_ids = []
        if consent.covered_member is not None:
            kept.member_ids.append(consent.covered_member)
    return list(consents.values())


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk)
    plan = access.plan
    log_read(request, access, via=AccessLog.Via.PAGE)
    today = timezone.localdate()
    members = load_members(plan)
    consents = load_consents(plan)
    member_rows = consent_status(plan, members, consents, today)
    coordinator_member = next((m for m in members if m.user_id == plan.coordinator_id), None)
    context = {
        "plan": plan,
        "access": access,
        "today": today,
        "themes": load_themes(plan, access),
        "member_rows": member_rows,
        "consent_warnings": [row for row in member_rows if row.warn],
        "plan_consent": plan_consent_valid(consents, today),
        "coordinator_member": coordinator_member,
        "evaluation_overdue": plan.next_evaluation is not None
        and plan.next_evaluation < today
        and plan.status != Plan.Status.CLOSED,
        "can_edit_plan": access.can_edit or access.can_manage,
        "can_see_access_log": access.is_person or access.can_manage,
    }
    return render(request, "plans/plan_detail.html", context)


# --------------------------------------------------------------------- create plan


def selectable_persons(user: Any) -> QuerySet[Person]:
    """People a coordinator may start a new plan for: no plan in use, and either no
    plan at all or an earlier plan this user may see. Nobody else's clients are
    listed, so the list reveals no one's history."""
    return (
        Person.objects.exclude(plans__status__in=[Plan.Status.DRAFT, Plan.Status.ACTIVE])
        .filter(Q(plans__isnull=True) | Q(plans__in=visible_plans(user).values("pk")))
        .distinct()
        .order_by("last_name", "first_name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("plans.add_plan"):
        raise PermissionDenied
    form = PlanCreateForm(request.POST or None, persons=selectable_persons(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        existing = data["person_choice"] == PlanCreateForm.EXISTING
        try:
            # The new person and the plan are saved together or not at all.
            with transaction.atomic():
                if existing:
                    person = data["existing_person"]
                else:
                    person = Person.objects.create(
                        first_name=data["first_name"].strip(),
                        last_name=data["last_name"].strip(),
                        birth_date=data["birth_date"],
                        phone=data["phone"],
                        email=data["email"],
                        address=data["address"],
                        user=data["account"],
                    )
                plan = services.plan_create(
                    person=person,
                    coordinator=request.user,
                    created_by=request.user,
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    next_evaluation=data["next_evaluation"],
                    what_matters=data["what_matters"],
                    status=data["status"],
                )
        except services.OperationError as error:
            if error.field == "person":
                form.add_error("existing_person" if existing else None, error.message)
            else:
                form.add_operation_error(error)
        except IntegrityError:
            # Someone else started a plan for the same person a moment ago.
            form.add_error(None, _("The person already has an individual plan in use."))
        else:
            messages.success(request, _("The plan was created."))
            return redirect(plan)
    return render(request, "plans/plan_create.html", {"form": form})


# ----------------------------------------------------------------------- edit plan


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk)
    # Members with edit access change the content; the coordinator also the period,
    # status and coordinator (and only those on a closed plan, to reopen it).
    if not (access.can_edit or access.can_manage):
        raise PermissionDenied
    plan = access.plan
    form = PlanForm(
        request.POST or None,
        initial=edit_initial(plan, "plan", plan),
        can_edit=access.can_edit,
        can_manage=access.can_manage,
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and save_edit(request, access=access, form=form, target="plan", obj=plan)
    ):
        messages.success(request, _("The plan was saved."))
        return redirect(plan)
    log_read(request, access, via=AccessLog.Via.EDIT, detail="plan")
    return render(request, "plans/plan_form.html", {"plan": plan, "access": access, "form": form})
