"""Forms for main themes, goals and measures: create, edit, delete, move.

Everything is saved through ipplan.plans.services, which checks the user's access
again and validates the domain rules inside one transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from ipplan.plans import services
from ipplan.plans.forms import EditForm, GoalForm, MeasureForm, ThemeForm
from ipplan.plans.models import AccessLog, Goal, Measure, Plan, Theme
from ipplan.plans.permissions import Level, PlanAccess

from ._common import edit_initial, goal_warnings, log_read, plan_or_404, save_edit

NOUNS = {
    "theme": gettext_lazy("main theme"),
    "goal": gettext_lazy("goal"),
    "measure": gettext_lazy("measure"),
}
SAVED = {
    "theme": gettext_lazy("The main theme was saved."),
    "goal": gettext_lazy("The goal was saved."),
    "measure": gettext_lazy("The measure was saved."),
}
DELETED = {
    "theme": gettext_lazy("The main theme was deleted."),
    "goal": gettext_lazy("The goal was deleted."),
    "measure": gettext_lazy("The measure was deleted."),
}
MODELS = {"theme": Theme, "goal": Goal, "measure": Measure}


def back_to(plan: Plan, target: str, obj_id: int | None = None) -> HttpResponseRedirect:
    anchor = f"#{target}-{obj_id}" if obj_id else ""
    return HttpResponseRedirect(plan.get_absolute_url() + anchor)


def _load(access: PlanAccess, target: str, obj_pk: int) -> Any:
    qs = MODELS[target].objects.alive().filter(plan=access.plan)
    if target != "theme":
        qs = qs.filter(theme__deleted_at__isnull=True).select_related("theme")
    if target == "measure":
        qs = qs.select_related("responsible")
    return get_object_or_404(qs, pk=obj_pk)


def _render(
    request: HttpRequest, access: PlanAccess, template: str, context: dict[str, Any], *, detail: str
) -> HttpResponse:
    log_read(request, access, via=AccessLog.Via.EDIT, detail=detail)
    return render(request, template, {"plan": access.plan, "access": access, **context})


def _values(form: EditForm) -> dict[str, Any]:
    return {k: v for k, v in form.cleaned_data.items() if k != "base_revision"}


def _create(
    request: HttpRequest, access: PlanAccess, form: EditForm, target: str, values: dict[str, Any]
) -> HttpResponse | None:
    try:
        result = services.object_create(
            plan_id=access.plan.pk, user=request.user, target=target, values=values
        )
    except services.OperationError as error:
        form.add_operation_error(error)
        return None
    messages.success(request, str(SAVED[target]))
    return back_to(access.plan, target, result.result.get("id"))


# -------------------------------------------------------------------------- themes


@login_required
@require_http_methods(["GET", "POST"])
def theme_create(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.EDIT)
    form = ThemeForm(request.POST or None, tracked=False)
    if request.method == "POST" and form.is_valid():
        response = _create(request, access, form, "theme", _values(form))
        if response:
            return response
    return _render(request, access, "plans/theme_form.html", {"form": form}, detail="theme")


@login_required
@require_http_methods(["GET", "POST"])
def theme_edit(request: HttpRequest, pk: int, theme_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.EDIT)
    theme = _load(access, "theme", theme_pk)
    form = ThemeForm(request.POST or None, initial=edit_initial(theme, "theme", access.plan))
    if (
        request.method == "POST"
        and form.is_valid()
        and save_edit(request, access=access, form=form, target="theme", obj=theme)
    ):
        messages.success(request, str(SAVED["theme"]))
        return back_to(access.plan, "theme", theme.pk)
    context = {"form": form, "theme": theme}
    return _render(request, access, "plans/theme_form.html", context, detail="theme")


# --------------------------------------------------------------------------- goals


@login_required
@require_http_methods(["GET", "POST"])
def goal_create(request: HttpRequest, pk: int, theme_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.EDIT)
    theme = _load(access, "theme", theme_pk)
    form = GoalForm(request.POST or None, tracked=False)
    if request.method == "POST" and form.is_valid():
        response = _create(request, access, form, "goal", {**_values(form), "theme": theme.pk})
        if response:
            return response
    context = {"form": form, "theme": theme, "warnings": _submitted_warnings(form)}
    return _render(request, access, "plans/goal_form.html", context, detail="goal")


@login_required
@require_http_methods(["GET", "POST"])
def goal_edit(request: HttpRequest, pk: int, goal_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.EDIT)
    goal = _load(access, "goal", goal_pk)
    form = GoalForm(request.POST or None, initial=edit_initial(goal, "goal", access.plan))
    if (
        request.method == "POST"
        and form.is_valid()
        and save_edit(request, access=access, form=form, target="goal", obj=goal)
    ):
        messages.success(request, str(SAVED["goal"]))
        return back_to(access.plan, "goal", goal.pk)
    if form.is_bound:
        warnings = _submitted_warnings(form)
    else:
        warnings = goal_warnings(text=goal.text, success_criterion=goal.success_criterion)
    context = {"form": form, "theme": goal.theme, "goal": goal, "warnings": warnings}
    return _render(request, access, "plans/goal_form.html", context, detail="goal")


def _submitted_warnings(form: GoalForm) -> list[str]:
    if not form.is_bound:
        return []
    return goal_warnings(
        text=form.data.get("text", ""), success_criterion=form.data.get("success_criterion", "")
    )


# ------------------------------------------------------------------------ measures


@login_required
@require_http_methods(["GET", "POST"])
def measure_create(request: HttpRequest, pk: int, theme_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.EDIT)
    theme = _load(access, "theme", theme_pk)
    initial = {}
    if request.GET.get("goal", "").isdigit():
        initial["goal"] = request.GET["goal"]
    form = MeasureForm(
        request.POST or None, initial=initial, plan=access.plan, theme_id=theme.pk, tracked=False
    )
    if request.method == "POST" and form.is_valid():
        response = _create(request, access, form, "measure", {**_values(form), "theme": theme.pk})
        if response:
            return response
    context = {"form": form, "theme": theme}
    return _render(request, access, "plans/measure_form.html", context, detail="measure")


@login_required
@require_http_methods(["GET", "POST"])
def measure_edit(request: HttpRequest, pk: int, measure_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk)
    measure = _load(access, "measure", measure_pk)
    # Members with comment access may update the measures they are responsible for.
    if not access.can_edit_measure(measure.responsible.user_id if measure.responsible_id else None):
        raise PermissionDenied
    form = MeasureForm(
        request.POST or None,
        initial=edit_initial(measure, "measure", access.plan),
        plan=access.plan,
        theme_id=measure.theme_id,
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and save_edit(request, access=access, form=form, target="measure", obj=measure)
    ):
        messages.success(request, str(SAVED["measure"]))
        return back_to(access.plan, "measure", measure.pk)
    context = {"form": form, "theme": measure.theme, "measure": measure}
    return _render(request, access, "plans/measure_form.html", context, detail="measure")


# ------------------------------------------------------------------ delete and move


@login_required
@require_http_methods(["GET", "POST"])
def content_delete(request: HttpRequest, pk: int, obj_pk: int, target: str) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST deletes. Deleted
    items are kept (soft delete) and show in the plan's history."""
    access = plan_or_404(request, pk, need=Level.EDIT)
    obj = _load(access, target, obj_pk)
    error = None
    if request.method == "POST":
        try:
            services.object_delete(
                plan_id=access.plan.pk, user=request.user, target=target, target_id=obj.pk
            )
        except services.OperationError as exc:
            error = exc.message
        else:
            messages.success(request, str(DELETED[target]))
            anchor_target, anchor_id = ("theme", obj.theme_id) if target != "theme" else ("", None)
            return back_to(access.plan, anchor_target, anchor_id)
    context = {"target": target, "noun": NOUNS[target], "obj": obj, "error": error}
    return _render(request, access, "plans/confirm_delete.html", context, detail=target)


@login_required
@require_POST
def content_move(request: HttpRequest, pk: int, obj_pk: int, target: str) -> HttpResponse:
    """One step up or down among its siblings (the live editor drags; this is the
    no-JavaScript way)."""
    access = plan_or_404(request, pk, need=Level.EDIT)
    obj = _load(access, target, obj_pk)
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        raise Http404
    siblings = MODELS[target].objects.alive().filter(plan=access.plan)
    if target != "theme":
        siblings = siblings.filter(theme_id=obj.theme_id)
    order = list(siblings.order_by("position", "pk").values_list("pk", flat=True))
    index = order.index(obj.pk)
    new_index = index - 1 if direction == "up" else index + 1
    if 0 <= new_index < len(order):
        try:
            services.apply_operation(
                plan_id=access.plan.pk,
                user=request.user,
                op={"type": "move", "target": target, "id": obj.pk, "position": new_index},
            )
        except services.OperationError as error:
            messages.error(request, error.message)
    return back_to(access.plan, target, obj.pk)
