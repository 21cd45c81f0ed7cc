"""Treatment courses on a plan, and the unit leader's statistics.

Course pages follow the plan pages' rules: 404 for anyone who may not read the plan
(the unit leader included, unless they are a member), 403 for a member who may not
edit, one access-log entry per page that shows plan data.

The statistics pages are for unit leaders only. Anyone else who is logged in gets 403:
the page's existence is no secret (it shows no plan data), and a plain refusal is
clearer than a 404 for a coordinator who follows an old link.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ipplan.plans import services
from ipplan.plans.models import AccessLog, Change, Plan
from ipplan.plans.permissions import Level, PlanAccess, get_plan_or_404

from . import statistics
from .chart import bar_chart
from .forms import FIELDS, CourseForm
from .models import TreatmentCourse
from .services import TARGET, course_create, course_delete, course_update

# ------------------------------------------------------------------- plan courses


def _back(plan: Plan, course_id: int | None = None) -> HttpResponseRedirect:
    anchor = f"#course-{course_id}" if course_id else "#courses"
    return HttpResponseRedirect(plan.get_absolute_url() + anchor)


def _render(
    request: HttpRequest, access: PlanAccess, template: str, context: dict[str, Any]
) -> HttpResponse:
    services.record_access(
        user=request.user, plan=access.plan, via=AccessLog.Via.EDIT, detail="course"
    )
    return render(request, template, {"plan": access.plan, "access": access, **context})


def _course(access: PlanAccess, course_pk: int) -> TreatmentCourse:
    return get_object_or_404(TreatmentCourse.objects.alive().filter(plan=access.plan), pk=course_pk)


@login_required
@require_http_methods(["GET", "POST"])
def course_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_plan_or_404(request.user, pk, need=Level.EDIT)
    form = CourseForm(request.POST or None, tracked=False)
    if request.method == "POST" and form.is_valid():
        try:
            course = course_create(plan_id=access.plan.pk, user=request.user, values=form.values())
        except services.OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(request, _("The treatment course was saved."))
            return _back(access.plan, course.pk)
    return _render(request, access, "courses/course_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def course_edit_view(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    access = get_plan_or_404(request.user, pk, need=Level.EDIT)
    course = _course(access, course_pk)
    initial = {name: services.field_value(course, name) for name in FIELDS}
    initial["base_revision"] = access.plan.revision
    form = CourseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save(request, access, form, course):
        messages.success(request, _("The treatment course was saved."))
        return _back(access.plan, course.pk)
    return _render(request, access, "courses/course_form.html", {"form": form, "course": course})


def _save(
    request: HttpRequest, access: PlanAccess, form: CourseForm, course: TreatmentCourse
) -> bool:
    """Send only what this user changed. If someone else (e.g. live in a meeting)
    changed one of those fields after the form was drawn, keep their value, show it,
    and let the user save again deliberately."""
    changed = [name for name in form.user_changes() if name in FIELDS]
    if not changed:
        return True
    base = form.cleaned_data.get("base_revision")
    if base is not None:
        clashes = sorted(
            set(
                Change.objects.filter(
                    plan_id=access.plan.pk,
                    revision__gt=base,
                    target_type=TARGET,
                    target_id=course.pk,
                    field__in=changed,
                ).values_list("field", flat=True)
            )
        )
        if clashes:
            _show_clashes(form, course, clashes)
            return False
    values = {name: form.cleaned_data[name] for name in changed}
    try:
        course_update(plan_id=access.plan.pk, user=request.user, course_id=course.pk, values=values)
    except services.OperationError as error:
        form.add_operation_error(error)
        return False
    return True


def _show_clashes(form: CourseForm, course: TreatmentCourse, names: list[str]) -> None:
    data = form.data.copy()
    for name in names:
        current = services.field_value(course, name)
        data[form[name].html_initial_name] = "" if current is None else str(current)
        shown = getattr(course, f"get_{name}_display", None)
        value = shown() if shown and current else (current or _("(empty)"))
        form.add_error(
            name,
            _(
                "Someone else changed this field while you were editing. Their version: "
                "%(value)s. Save again to replace it with yours."
            )
            % {"value": value},
        )
    data["base_revision"] = str(
        Plan.objects.values_list("revision", flat=True).get(pk=course.plan_id)
    )
    form.data = data


@login_required
@require_http_methods(["GET", "POST"])
def course_delete_view(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the course (kept in the history)."""
    access = get_plan_or_404(request.user, pk, need=Level.EDIT)
    course = _course(access, course_pk)
    error = None
    if request.method == "POST":
        try:
            course_delete(plan_id=access.plan.pk, user=request.user, course_id=course.pk)
        except services.OperationError as exc:
            error = exc.message
        else:
            messages.success(request, _("The treatment course was deleted."))
            return _back(access.plan)
    return _render(
        request, access, "courses/course_confirm_delete.html", {"course": course, "error": error}
    )


# --------------------------------------------------------------------- statistics


def _leader_only(request: HttpRequest) -> None:
    if not getattr(request.user, "is_unit_leader", False):
        raise PermissionDenied


def _chosen_year(request: HttpRequest, stats: statistics.Statistics) -> int | None:
    years = [y.year for y in stats.years]
    if not years:
        return None
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return years[-1]
    return year if year in years else years[-1]


@login_required
@require_GET
def statistics_view(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    stats = statistics.course_statistics()
    year = _chosen_year(request, stats)
    context = {
        "stats": stats,
        "chart": bar_chart(stats),
        "metrics": [(m, statistics.METRIC_LABELS[m]) for m in statistics.METRICS],
        "selected": stats.year(year) if year else None,
        "min_cell": statistics.MIN_CELL,
    }
    return render(request, "courses/statistics.html", context)


@login_required
@require_GET
def statistics_csv_view(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    today: datetime.date = timezone.localdate()
    stats = statistics.course_statistics(today=today)
    # The byte order mark makes spreadsheet programs read the file as UTF-8 (æøå).
    response = HttpResponse(
        "\ufeff" + statistics.to_csv(stats), content_type="text/csv; charset=utf-8"
    )
    filename = f"behandlingslop-statistikk-{today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
