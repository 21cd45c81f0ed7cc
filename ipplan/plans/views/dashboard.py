"""The start page per role, and the list of plans the user may see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ipplan.plans.models import Measure, Plan
from ipplan.plans.permissions import visible_plans

OPEN_MEASURE = [Measure.Status.PLANNED, Measure.Status.ONGOING]
LIST_LIMIT = 50


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Coordinator: plans I coordinate and what is overdue in them. Member: plans I
    take part in and measures I am responsible for. The person: my plan. A unit
    leader sees a link to the statistics, never plans.

    Goals due for evaluation are listed once, by the courses app's slot
    (courses/_dashboard.html), for every open plan the user may read, not only the
    ones she coordinates."""
    user = request.user
    if user.is_unit_leader:
        return render(request, "plans/dashboard.html", {"leader": True})
    today = timezone.localdate()
    visible = visible_plans(user)
    open_plans = visible.exclude(status=Plan.Status.CLOSED)
    coordinated = list(
        open_plans.filter(coordinator=user).order_by(F("next_evaluation").asc(nulls_last=True))
    )
    coordinated_ids = [p.pk for p in coordinated]
    alive = Q(deleted_at__isnull=True, theme__deleted_at__isnull=True)
    overdue_measures = (
        Measure.objects.filter(
            alive, plan_id__in=coordinated_ids, status__in=OPEN_MEASURE, due_date__lt=today
        )
        .select_related("plan__person", "responsible__user")
        .order_by("due_date", "pk")[:LIST_LIMIT]
    )
    member_plans = list(
        open_plans.exclude(coordinator=user)
        .exclude(person__user=user)
        .order_by("person__last_name", "person__first_name")
    )
    my_measures = (
        Measure.objects.filter(
            alive,
            plan__in=open_plans.values("pk"),
            responsible__user=user,
            status__in=OPEN_MEASURE,
        )
        .select_related("plan__person")
        .order_by(F("due_date").asc(nulls_last=True), "pk")[:LIST_LIMIT]
    )
    my_plans = list(visible.filter(person__user=user).order_by("-period_start"))
    context = {
        "today": today,
        "can_create": user.has_perm("plans.add_plan"),
        "coordinated": coordinated,
        "overdue_measures": list(overdue_measures),
        "overdue_plans": [
            p for p in coordinated if p.next_evaluation and p.next_evaluation < today
        ],
        "member_plans": member_plans,
        "my_measures": list(my_measures),
        "my_plans": my_plans,
    }
    return render(request, "plans/dashboard.html", context)


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_unit_leader:
        raise PermissionDenied
    plans = visible_plans(user).order_by("person__last_name", "person__first_name", "-period_start")
    status = request.GET.get("status", "open")
    if status == "open":
        plans = plans.exclude(status=Plan.Status.CLOSED)
    elif status in Plan.Status.values:
        plans = plans.filter(status=status)
    else:
        status = "all"
    query = request.GET.get("q", "").strip()[:100]
    for word in query.split():
        plans = plans.filter(
            Q(person__first_name__icontains=word) | Q(person__last_name__icontains=word)
        )
    page = Paginator(plans, 25).get_page(request.GET.get("side"))
    context = {
        "page": page,
        "status": status,
        "query": query,
        "statuses": [("open", _("In use")), *Plan.Status.choices, ("all", _("All"))],
        "today": timezone.localdate(),
        "can_create": user.has_perm("plans.add_plan"),
    }
    return render(request, "plans/plan_list.html", context)
