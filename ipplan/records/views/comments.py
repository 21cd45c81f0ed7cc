"""Comment threads on a plan's themes, goals and measures: read, start, reply,
resolve and reopen. Everyone who may read the plan reads them; members with comment
access (and the person) write; read-only members do not."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ipplan.plans import services as plan_services
from ipplan.plans.models import AccessLog, Goal, Measure, Plan, Theme
from ipplan.plans.permissions import PlanAccess

from .. import display, services
from ..models import Comment
from ._common import back, log_read, plan_or_404, report


def comment_targets(plan: Plan) -> list[dict[str, Any]]:
    """What one can comment on, in plan order: each theme, then its goals and measures."""
    themes = list(Theme.objects.alive().filter(plan=plan).order_by("position", "pk"))
    goals = list(Goal.objects.alive().filter(plan=plan).order_by("position", "pk"))
    measures = list(Measure.objects.alive().filter(plan=plan).order_by("position", "pk"))
    options = []
    for theme in themes:
        options.append({"key": f"theme:{theme.pk}", "label": theme.title, "group": theme.title})
        for goal in goals:
            if goal.theme_id == theme.pk:
                options.append(
                    {
                        "key": f"goal:{goal.pk}",
                        "label": f"{goal.get_level_display()}: {display.shorten(goal.text, 70)}",
                        "group": theme.title,
                    }
                )
        for measure in measures:
            if measure.theme_id == theme.pk:
                options.append(
                    {
                        "key": f"measure:{measure.pk}",
                        "label": f"{_('Measure')}: {display.shorten(measure.description, 70)}",
                        "group": theme.title,
                    }
                )
    return options


def threads_for(plan: Plan, *, key: str | None = None) -> list[dict[str, Any]]:
    roots = Comment.objects.filter(plan=plan, parent__isnull=True).select_related(
        "author", "resolved_by"
    )
    if key:
        target, _sep, raw = key.partition(":")
        roots = roots.filter(target_type=target, target_id=int(raw) if raw.isdigit() else -1)
    roots = list(roots.order_by("resolved_at", "-created_at"))
    replies: dict[int, list[Comment]] = {}
    for reply in (
        Comment.objects.filter(parent__in=roots).select_related("author").order_by("created_at")
    ):
        replies.setdefault(reply.parent_id, []).append(reply)
    labels = {o["key"]: o["label"] for o in comment_targets(plan)}
    return [
        {
            "root": root,
            "replies": replies.get(root.pk, []),
            "about": labels.get(f"{root.target_type}:{root.target_id}", _("(deleted)")),
            "key": f"{root.target_type}:{root.target_id}",
        }
        for root in roots
    ]


def _can_resolve(access: PlanAccess, root: Comment, user: Any) -> bool:
    return access.can_comment and (access.can_edit or root.author_id == user.pk)


@login_required
@require_http_methods(["GET", "POST"])
def comments(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    url = reverse("records:comments", args=[plan.pk])
    if request.method == "POST":
        target, _sep, raw = request.POST.get("about", "").partition(":")
        try:
            comment = services.comment_create(
                plan_id=plan.pk,
                user=request.user,
                target_type=target,
                target_id=raw,
                body=request.POST.get("body", ""),
            )
        except plan_services.OperationError as error:
            report(request, error)
            return back(request, url)
        messages.success(request, _("Your comment is saved."))
        return back(request, f"{url}#comment-{comment.pk}")
    key = request.GET.get("gjelder") or None
    log_read(request, access, via=AccessLog.Via.PAGE, detail="comments")
    threads = threads_for(plan, key=key)
    for thread in threads:
        thread["can_resolve"] = _can_resolve(access, thread["root"], request.user)
    can_write = access.can_comment and plan.status != Plan.Status.CLOSED
    context = {
        "plan": plan,
        "access": access,
        "threads": threads,
        "targets": comment_targets(plan) if can_write else [],
        "selected": key,
        "can_write": can_write,
        "max_length": services.MAX_COMMENT,
    }
    return render(request, "records/comments.html", context)


def _comment_action(request: HttpRequest, comment_id: int, action: str) -> HttpResponse:
    plan_id = Comment.objects.filter(pk=comment_id).values_list("plan_id", flat=True).first()
    if plan_id is None:
        raise Http404
    access = plan_or_404(request, plan_id)
    url = reverse("records:comments", args=[access.plan.pk])
    try:
        if action == "reply":
            comment = services.comment_reply(
                comment_id=comment_id, user=request.user, body=request.POST.get("body", "")
            )
            messages.success(request, _("Your reply is saved."))
        elif action == "resolve":
            comment = services.comment_resolve(comment_id=comment_id, user=request.user)
            messages.success(request, _("The thread is marked as resolved."))
        else:
            comment = services.comment_reopen(comment_id=comment_id, user=request.user)
            messages.success(request, _("The thread is open again."))
    except plan_services.OperationError as error:
        report(request, error)
        return back(request, url)
    return back(request, f"{url}#comment-{comment.parent_id or comment.pk}")


@login_required
@require_POST
def comment_reply(request: HttpRequest, comment_id: int) -> HttpResponse:
    return _comment_action(request, comment_id, "reply")


@login_required
@require_POST
def comment_resolve(request: HttpRequest, comment_id: int) -> HttpResponse:
    return _comment_action(request, comment_id, "resolve")


@login_required
@require_POST
def comment_reopen(request: HttpRequest, comment_id: int) -> HttpResponse:
    return _comment_action(request, comment_id, "reopen")
