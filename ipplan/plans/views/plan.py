"""The plan page, and creating and editing a plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

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


@dataclass
class MeasureRow:
    measure: Measure
    can_edit: bool


@dataclass
class GoalRow:
    goal: Goal
    warnings: list[str]
    measures: list[MeasureRow] = field(default_factory=list)


@dataclass
class ThemeRow:
    theme: Theme
    goals: list[GoalRow] = field(default_factory=list)
    loose_measures: list[MeasureRow] = field(default_factory=list)
    first: bool = False
    last: bool = False


def load_themes(plan: Plan, access: PlanAccess) -> list[ThemeRow]:
    """Themes in order with their goals and measures, in three queries whatever the
    plan's size. Measures tied to a goal sit under it; the rest follow the goals."""
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
    rows = []
    for index, theme in enumerate(themes):
        goal_rows = {
            g.pk: GoalRow(g, goal_warnings(text=g.text, success_criterion=g.success_criterion))
            for g in theme.goals.all()
        }
        row = ThemeRow(
            theme, list(goal_rows.values()), first=index == 0, last=index == len(themes) - 1
        )
        for measure in theme.measures.all():
            responsible_user = measure.responsible.user_id if measure.responsible_id else None
            measure_row = MeasureRow(measure, access.can_edit_measure(responsible_user))
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
    return list(
        plan.consents.prefetch_related(Prefetch("members", queryset=Member.objects.only("pk")))
    )


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
