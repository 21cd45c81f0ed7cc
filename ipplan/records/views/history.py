"""Plan history: the change list, the plan at any revision, the difference between
two revisions, each field's values with their authors, and restoring earlier values
or deleted goals and measures (always as new changes)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import CharField, F, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipplan.meetings.models import Meeting
from ipplan.plans import services as plan_services
from ipplan.plans.models import AccessLog, Change, Goal, Measure, Member, Plan, Theme
from ipplan.plans.permissions import PlanAccess

from .. import display, services
from ..diff import diff_states, names_for
from ..history import change_rows, field_timeline, plan_states_at
from ..present import present_state
from ..queries import last_review
from ._common import back, int_or_none, log_read, plan_or_404, report

PAGE_SIZE = 100


def _text(value: Any) -> Value:
    return Value(value, output_field=CharField())


def _page_names(
    plan: Plan, changes: list[Change]
) -> tuple[dict[tuple[str, int], str], display.Names]:
    """Short names of the objects a page of changes touches (deleted ones included), and
    the names its values refer to (members, goals, users): one query whatever the page
    holds, for only the objects on the page."""
    wanted: dict[str, set[int]] = {kind: set() for kind in ("theme", "goal", "measure")}
    wanted.update(member=set(), user=set())
    for change in changes:
        if change.target_type in ("theme", "goal", "measure", "member"):
            wanted[change.target_type].add(change.target_id)
        spec = plan_services.FIELDS.get(change.target_type, {}).get(change.field)
        if (
            spec is not None
            and spec.kind in ("member", "goal", "user")
            and change.kind in {Change.Kind.SET, Change.Kind.TEXT}
            and isinstance(change.after, int)
        ):
            wanted[spec.kind].add(change.after)
    # Names that no model field has: the parts of a union are built with annotate().
    columns = ("n_kind", "pk", "n_text", "n_first", "n_last", "n_username", "n_service")
    blank = {name: _text("") for name in columns[2:]}

    def part(queryset: Any, kind: str, **values: Any) -> Any:
        return (
            queryset.filter(pk__in=wanted[kind])
            .annotate(n_kind=_text(kind), **{**blank, **values})
            .values_list(*columns)
            .order_by()
        )

    user_model = get_user_model()
    parts = [
        part(Theme.objects.filter(plan=plan), "theme", n_text=F("title")),
        part(Goal.objects.filter(plan=plan), "goal", n_text=F("text")),
        part(Measure.objects.filter(plan=plan), "measure", n_text=F("description")),
        part(
            Member.objects.filter(plan=plan),
            "member",
            n_first=F("user__first_name"),
            n_last=F("user__last_name"),
            n_username=F("user__username"),
            n_service=F("service"),
        ),
        # Users named in a value (the plan's coordinator) need not be members.
        part(
            user_model.objects.all(),
            "user",
            n_first=F("first_name"),
            n_last=F("last_name"),
            n_username=F("username"),
        ),
    ]
    labels: dict[tuple[str, int], str] = {}
    names = display.Names()
    for kind, pk, text, first_name, last_name, username, service in parts[0].union(
        *parts[1:], all=True
    ):
        if kind in ("theme", "goal", "measure"):
            labels[(kind, pk)] = text if kind == "theme" else display.shorten(text, 80)
            if kind == "goal":
                names.goals[pk] = text
            continue
        user = user_model(first_name=first_name, last_name=last_name, username=username)
        if kind == "member":
            name = display.member_name(Member(service=service, user=user))
            labels[(kind, pk)] = names.members[pk] = name
        else:
            names.users[pk] = user.display_name
    return labels, names


def _deleted(plan: Plan) -> list[dict[str, Any]]:
    """Deleted main themes, goals and measures (in that order, each in plan order), in
    one query."""
    columns = ("d_kind", "pk", "d_text", "d_level", "position", "deleted_at")

    def part(model: Any, kind: str, text: str, level: Any) -> Any:
        return (
            model.objects.filter(plan=plan, deleted_at__isnull=False)
            .annotate(d_kind=_text(kind), d_text=F(text), d_level=level)
            .values_list(*columns)
            .order_by()
        )

    rows = part(Theme, "theme", "title", _text("")).union(
        part(Goal, "goal", "text", F("level")),
        part(Measure, "measure", "description", _text("")),
        all=True,
    )
    order = {"theme": 0, "goal": 1, "measure": 2}
    levels = dict(Goal.Level.choices)
    items = []
    for kind, pk, text, level, position, deleted_at in rows:
        if kind == "theme":
            label = _("Main theme")
        elif kind == "goal":
            label = levels.get(level, level)
        else:
            label = _("Measure")
        items.append(
            {
                "target": kind,
                "pk": pk,
                "label": text,
                "kind": label,
                "deleted_at": deleted_at,
                # Themes in the order of their model (position, title); goals and
                # measures by position and id.
                "order": (order[kind], position, text if kind == "theme" else "", pk),
            }
        )
    items.sort(key=lambda item: item["order"])
    return items


def _change_row(change: Change, labels: dict, names: display.Names) -> dict[str, Any]:
    target = change.target_type
    value = ""
    if change.kind in {Change.Kind.SET, Change.Kind.TEXT} and target in plan_services.FIELDS:
        value = display.shorten(
            display.format_value(target, change.field, change.after, names), 120
        )
    has_field = bool(change.field) and change.field in plan_services.FIELDS.get(target, {})
    return {
        "change": change,
        "kind": change.get_kind_display(),
        "target_label": display.target_label(target),
        "label": labels.get((target, change.target_id), ""),
        "field_label": display.field_label(target, change.field) if change.field else "",
        "value": value,
        "has_field": has_field,
    }


def _fold_keystrokes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of text changes by one person to one field (keystrokes in the meeting room)
    become one row: the newest value, with the revision range and the count."""
    folded: list[dict[str, Any]] = []
    for row in rows:
        change = row["change"]
        last = folded[-1] if folded else None
        if (
            last is not None
            and change.kind == Change.Kind.TEXT
            and last["change"].kind == Change.Kind.TEXT
            and (
                last["change"].user_id,
                last["change"].target_type,
                last["change"].target_id,
                last["change"].field,
            )
            == (change.user_id, change.target_type, change.target_id, change.field)
        ):
            last["count"] += 1
            last["first_revision"] = change.revision
            continue
        row["count"] = 1
        row["first_revision"] = change.revision
        folded.append(row)
    return folded


@login_required
@require_GET
def history(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    log_read(request, access, via=AccessLog.Via.HISTORY)
    changes = (
        Change.objects.filter(plan=plan)
        .defer("payload", "before")
        .select_related("user")
        .order_by("-revision")
    )
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("side"))
    page_changes = list(page.object_list)
    labels, names = _page_names(plan, page_changes)
    meetings = Meeting.objects.filter(plan=plan, status=Meeting.Status.CLOSED).order_by(
        "-scheduled_at"
    )
    deleted = _deleted(plan)
    review = last_review(plan, request.user)
    context = {
        "plan": plan,
        "access": access,
        "page": page,
        "rows": _fold_keystrokes([_change_row(c, labels, names) for c in page_changes]),
        "meetings": meetings,
        "deleted": deleted,
        "can_restore": access.can_edit,
        "review": review,
    }
    return render(request, "records/history.html", context)


def _revision_or_404(plan: Plan, revision: Any) -> int:
    value = int_or_none(revision)
    if value is None or not 1 <= value <= plan.revision:
        raise Http404
    return value


@login_required
@require_GET
def at_revision(request: HttpRequest, plan_id: int, revision: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    revision = _revision_or_404(plan, revision)
    log_read(request, access, via=AccessLog.Via.HISTORY, detail=f"r{revision}")
    (state,) = plan_states_at(plan, [revision])
    at = Change.objects.filter(plan=plan, revision=revision).select_related("user").first()
    meeting = Meeting.objects.filter(plan=plan, end_revision=revision).first()
    context = {
        "plan": plan,
        "access": access,
        "state": present_state(plan, state),
        "change": at,
        "meeting": meeting,
        "previous": revision - 1 if revision > 1 else None,
        "next": revision + 1 if revision < plan.revision else None,
    }
    return render(request, "records/at_revision.html", context)


@login_required
@require_GET
def diff(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    review = last_review(plan, request.user)
    to = int_or_none(request.GET.get("til"))
    frm = int_or_none(request.GET.get("fra"))
    if to is None or not 1 <= to <= plan.revision:
        to = plan.revision
    if frm is None or not 1 <= frm <= plan.revision:
        frm = review.revision if review and review.revision < to else max(to - 1, 1)
    if frm > to:
        frm, to = to, frm
    log_read(request, access, via=AccessLog.Via.HISTORY, detail=f"r{frm}-r{to}")
    before, after = plan_states_at(plan, [frm, to])
    rows = change_rows(plan, since=frm, upto=to, values=False)
    people = sorted({r.user_id for r in rows})
    users = get_user_model().objects.filter(pk__in=people)
    context = {
        "plan": plan,
        "access": access,
        "frm": frm,
        "to": to,
        "sections": diff_states(plan, before, after, rows),
        "count": len(rows),
        "people": [u.display_name for u in users],
        "review": review,
        "reviewed_now": review is not None and review.revision >= to,
    }
    return render(request, "records/diff.html", context)


def _can_restore(access: PlanAccess, target: str, obj: Any, field: str) -> bool:
    spec = plan_services.FIELDS[target][field]
    if target == "member" or spec.manage_only:
        return access.can_manage and access.plan.status != Plan.Status.CLOSED
    if target == "measure":
        return access.can_edit_measure(obj.responsible.user_id if obj.responsible_id else None)
    return access.can_edit


@login_required
@require_GET
def field_history(
    request: HttpRequest, plan_id: int, target: str, target_id: int, field: str
) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    if target not in plan_services.FIELDS or field not in plan_services.FIELDS[target]:
        raise Http404
    model = plan_services.MODELS[target]
    obj = plan if target == "plan" else model.objects.filter(plan=plan, pk=target_id).first()
    if obj is None or (target == "plan" and target_id != plan.pk):
        raise Http404
    log_read(request, access, via=AccessLog.Via.HISTORY, detail=f"{target}.{field}")
    timeline = field_timeline(plan, target, obj.pk, field)
    names = names_for(plan)
    users = {
        u.pk: u.display_name
        for u in get_user_model().objects.filter(
            pk__in={e["user_id"] for e in timeline if e["user_id"]}
        )
    }
    current = plan_services.field_value(obj, field)
    deleted = getattr(obj, "deleted_at", None) is not None
    # Keystrokes: a run of text changes by one person is one step, its last value.
    steps: list[dict[str, Any]] = []
    for entry in timeline:
        last = steps[-1] if steps else None
        if (
            last is not None
            and entry["kind"] == Change.Kind.TEXT
            and last["kind"] == Change.Kind.TEXT
            and last["user_id"] == entry["user_id"]
        ):
            last.update(entry, count=last["count"] + 1, first_revision=last["first_revision"])
            continue
        steps.append({**entry, "count": 1, "first_revision": entry["revision"]})
    is_text = display.field_kind(target, field) == "text"
    entries = []
    previous = None
    for step in steps:
        entries.append(
            {
                **step,
                "user": users.get(step["user_id"], ""),
                "display": display.format_value(target, field, step["value"], names),
                "is_current": step["value"] == current
                or (step["value"] in (None, "") and current in (None, "")),
                "diff": (
                    display.text_diff(previous["value"] or "", step["value"] or "")
                    if is_text and previous is not None
                    else None
                ),
            }
        )
        previous = step
    entries.reverse()
    context = {
        "plan": plan,
        "access": access,
        "target": target,
        "target_id": obj.pk,
        "field": field,
        "target_label": display.target_label(target, getattr(obj, "level", None)),
        "label": display.object_label(target, {"id": obj.pk, **plan_services.snapshot(obj)}, names)
        if target != "plan"
        else "",
        "field_label": display.field_label(target, field),
        "entries": entries,
        "deleted": deleted,
        "can_restore": not deleted and _can_restore(access, target, obj, field),
    }
    return render(request, "records/field_history.html", context)


@login_required
@require_POST
def restore_value(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    target = request.POST.get("target", "")
    target_id = int_or_none(request.POST.get("id"))
    field = request.POST.get("field", "")
    raw = request.POST.get("revision", "")
    revision = None if raw == "initial" else int_or_none(raw)
    fallback = reverse("records:history", args=[access.plan.pk])
    if target_id is None or (revision is None and raw != "initial"):
        messages.error(request, _("That earlier value was not found."))
        return back(request, fallback)
    try:
        services.value_restore(
            plan_id=access.plan.pk,
            user=request.user,
            target=target,
            target_id=target_id,
            field=field,
            revision=revision,
        )
    except plan_services.OperationError as error:
        report(request, error)
    else:
        messages.success(
            request, _("The earlier value is back. The change is logged in your name.")
        )
    return back(request, fallback)


@login_required
@require_POST
def restore_object(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    target = request.POST.get("target", "")
    target_id = int_or_none(request.POST.get("id"))
    fallback = reverse("records:history", args=[access.plan.pk])
    if target not in {"theme", "goal", "measure"} or target_id is None:
        messages.error(request, _("Could not find the item."))
        return back(request, fallback)
    try:
        services.object_restore(
            plan_id=access.plan.pk, user=request.user, target=target, target_id=target_id
        )
    except plan_services.OperationError as error:
        report(request, error)
    else:
        messages.success(request, _("It is back in the plan. The change is logged in your name."))
    return back(request, fallback)


@login_required
@require_POST
def review(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    fallback = reverse("records:diff", args=[access.plan.pk])
    try:
        done = services.review_record(
            plan_id=access.plan.pk, user=request.user, revision=request.POST.get("revision")
        )
    except plan_services.OperationError as error:
        report(request, error)
    else:
        messages.success(
            request, _("Marked as reviewed up to revision %(n)s.") % {"n": done.revision}
        )
    return back(request, fallback)
