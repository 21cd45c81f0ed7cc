"""Shared helpers for the records pages: access, the access log, redirects back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from ipplan.plans import services
from ipplan.plans.permissions import Level, PlanAccess, get_plan_or_404


def plan_or_404(request: HttpRequest, plan_id: int, *, need: Level = Level.READ) -> PlanAccess:
    """404 for anyone who may not read the plan, 403 for a member below `need`."""
    return get_plan_or_404(request.user, plan_id, need=need)


def log_read(request: HttpRequest, access: PlanAccess, *, via: str, detail: str = "") -> None:
    """Exactly one access-log entry per request that shows plan data."""
    services.record_access(user=request.user, plan=access.plan, via=via, detail=detail)


def back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Redirect to the form's `next` if it is one of ours, else to `fallback`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def report(request: HttpRequest, error: services.OperationError) -> None:
    messages.error(request, error.message)


def int_or_none(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
