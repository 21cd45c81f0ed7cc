"""Meeting pages: schedule, detail (agenda, attendees), the live meeting room, and the
coordinator's start / move / close controls.

Every view resolves the meeting's plan through `get_plan_or_404` first, so an outsider
gets the same 404 for a meeting that exists and one that does not. Every write goes
through ipplan.meetings.services; a refusal (OperationError) is shown to the person,
never swallowed.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from ipplan.plans import services as plan_services
from ipplan.plans.forms import active_members, member_label
from ipplan.plans.models import AccessLog, Goal, Measure, Plan, Theme
from ipplan.plans.permissions import Level, PlanAccess, get_plan_or_404
from ipplan.plans.services import OperationError

from . import services
from .forms import AttendeeForm, CloseForm, DecisionForm, MeetingForm
from .models import AgendaItem, Attendee, Meeting


def _meeting_and_access(
    request: HttpRequest, pk: int, *, need: Level = Level.READ
) -> tuple[Meeting, PlanAccess]:
    """The meeting and the user's access to its plan; 404 for outsiders and unknown ids."""
    plan_id = Meeting.objects.filter(pk=pk).values_list("plan_id", flat=True).first()
    if plan_id is None:
        raise Http404
    access = get_plan_or_404(request.user, plan_id, need=need)
    meeting = Meeting.objects.select_related("current_item__theme", "plan__person").get(pk=pk)
    return meeting, access


def _alive_themes(plan: Plan) -> list[Theme]:
    return list(Theme.objects.alive().filter(plan=plan).order_by("position", "pk"))


def _agenda(meeting: Meeting) -> list[AgendaItem]:
    return list(meeting.items.select_related("theme").order_by("position", "pk"))


def _fail(request: HttpRequest, error: OperationError) -> None:
    messages.error(request, error.message)


# --------------------------------------------------------------------- schedule / edit


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, plan_pk: int) -> HttpResponse:
    access = get_plan_or_404(request.user, plan_pk, need=Level.MANAGE)
    plan = access.plan
    themes = _alive_themes(plan)
    form = MeetingForm(request.POST or None, themes=themes)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_schedule(
                plan_id=plan.pk,
                user=request.user,
                scheduled_at=form.cleaned_data["scheduled_at"],
                place=form.cleaned_data["place"],
                agenda_theme_ids=form.cleaned_data["agenda"],
            )
        except OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(request, _("The meeting is scheduled."))
            return redirect("meetings:detail", meeting.pk)
    plan_services.record_access(
        user=request.user, plan=plan, via=AccessLog.Via.EDIT, detail="meeting:new"
    )
    return render(
        request,
        "meetings/meeting_form.html",
        {"plan": plan, "access": access, "form": form, "meeting": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting_and_access(request, pk, need=Level.MANAGE)
    if meeting.status == Meeting.Status.CLOSED:
        messages.error(request, _("The meeting is closed."))
        return redirect("meetings:detail", meeting.pk)
    themes = _alive_themes(meeting.plan)
    agenda = [item.theme_id for item in _agenda(meeting)]
    initial = {"scheduled_at": meeting.scheduled_at, "place": meeting.place}
    form = MeetingForm(request.POST or None, themes=themes, agenda=agenda, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(
                meeting_id=meeting.pk,
                user=request.user,
                scheduled_at=form.cleaned_data["scheduled_at"],
                place=form.cleaned_data["place"],
                agenda_theme_ids=form.cleaned_data["agenda"],
            )
        except OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(request, _("The meeting is updated."))
            return redirect("meetings:detail", meeting.pk)
    plan_services.record_access(
        user=request.user, plan=meeting.plan, via=AccessLog.Via.EDIT, detail=f"meeting:{meeting.pk}"
    )
    return render(
        request,
        "meetings/meeting_form.html",
        {"plan": meeting.plan, "access": access, "form": form, "meeting": meeting},
    )


# ----------------------------------------------------------------------------- detail


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting_and_access(request, pk)
    plan_services.record_access(
        user=request.user, plan=meeting.plan, via=AccessLog.Via.PAGE, detail=f"meeting:{meeting.pk}"
    )
    attendees = list(meeting.attendees.select_related("user__organisation"))
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "plan": meeting.plan,
            "access": access,
            "items": _agenda(meeting),
            "attendees": attendees,
            "attendee_form": AttendeeForm(),
            "close_form": CloseForm(),
            "other_in_progress": services.meeting_in_progress(plan_id=meeting.plan_id)
            if meeting.status == Meeting.Status.PLANNED
            else None,
        },
    )


# ------------------------------------------------------------------------------- room


def room_strings() -> dict[str, str]:
    """Texts the room's script shows, translated here so the catalogue stays in one place.

    Placeholders use Python's %(name)s form; static/js/meeting/i18n.js fills them in.
    """
    # Counted texts in both forms (literal ngettext calls, so makemessages finds them);
    # i18n.js uses "<key>_one" when n == 1, the plural rule of Norwegian and English.
    plural_forms: dict[str, str] = {}
    for n, suffix in ((1, "_one"), (2, "")):
        plural_forms[f"reconnecting_pending{suffix}"] = ngettext(
            "Reconnecting… %(n)s change waiting", "Reconnecting… %(n)s changes waiting", n
        )
        plural_forms[f"offline_pending{suffix}"] = ngettext(
            "Offline – %(n)s change waiting, it is sent when the connection is back",
            "Offline – %(n)s changes waiting, they are sent when the connection is back",
            n,
        )
        plural_forms[f"pending{suffix}"] = ngettext(
            "%(n)s change being saved", "%(n)s changes being saved", n
        )
        plural_forms[f"restored_pending{suffix}"] = ngettext(
            "%(n)s unsent change from before the page was reloaded is being sent.",
            "%(n)s unsent changes from before the page was reloaded are being sent.",
            n,
        )
    return plural_forms | {
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "offline": _("Offline"),
        "ended": _(
            "Your session has ended. Log in again to "
            "continue; your unsent changes are kept in this tab."
        ),
        "forbidden": _("You no longer have access to this plan."),
        "back_live": _("Connection restored. All changes are saved."),
        "changed_by": _("%(name)s changed %(field)s"),
        "typing_in": _("%(name)s is writing in %(field)s"),
        "added_by": _("%(name)s added %(what)s"),
        "removed_by": _("%(name)s removed %(what)s"),
        "moved_by": _("%(name)s moved %(what)s"),
        "editing": _("%(names)s is editing"),
        "meeting_moved": _("The meeting moved to the theme %(theme)s"),
        "meeting_moved_not_following": _(
            "The meeting moved to %(theme)s. You are not following the meeting."
        ),
        "meeting_started": _("The meeting has started."),
        "meeting_closed": _("The meeting is closed. Changes are no longer part of this meeting."),
        "following": _("Follow the meeting"),
        "not_following": _("You are looking at another theme than the meeting."),
        "you": _("you"),
        "nobody": _("Nobody else is connected."),
        "goal": _("goal"),
        "measure": _("measure"),
        "theme": _("theme"),
        "undo_nothing": _("Nothing to undo."),
        "redo_nothing": _("Nothing to redo."),
        "undone": _("Undone: %(what)s"),
        "redone": _("Redone: %(what)s"),
        "not_saved_title": _("This text could not be saved"),
        "not_saved_help": _(
            "Someone changed the field in a way your text could "
            "not be merged with. Copy your text and add it again."
        ),
        "deleted_while_editing": _(
            "%(what)s was removed while you were editing it. Your "
            "text is shown below so it is not lost."
        ),
        "confirm_delete_goal": _("Remove this goal? It can be restored from the plan's history."),
        "confirm_delete_measure": _(
            "Remove this measure? It can be restored from the plan's history."
        ),
        "waiting_to_close": _("Waiting until all changes are saved …"),
        "unsaved_on_close": _(
            "Some changes are not saved yet. Wait until "
            "the connection is back before you close the meeting."
        ),
        "no_current": _("The meeting is between themes."),
        "saved": _("Saved"),
        "error_generic": _("The change could not be saved."),
        "on_agenda_current": _("current theme"),
        "not_on_agenda": _("Not on the agenda"),
        "new_goal_added": _("Goal added."),
        "new_measure_added": _("Measure added."),
        "new_theme_added": _("Theme added."),
        "none_option": _("– none –"),
        "goal_n": _("Goal %(n)s"),
        "measure_n": _("Measure %(n)s"),
        "changed_label": _("Changed by %(name)s"),
        "status_planned": str(Meeting.Status.PLANNED.label),
        "status_in_progress": str(Meeting.Status.IN_PROGRESS.label),
        "status_closed": str(Meeting.Status.CLOSED.label),
        "shown": _("(shown)"),
        "now": _("now"),
        "new_theme": _("New theme"),
        "required": _("Fill in this field."),
        "not_connected": _("Not connected. Try again when the connection is back."),
        "copied": _("The text is copied."),
        "lost_label": _("Your text"),
        "editing_in": _("%(name)s is in %(field)s"),
    }


@login_required
def meeting_room(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting_and_access(request, pk)
    plan = meeting.plan
    if meeting.status == Meeting.Status.CLOSED:
        messages.info(request, _("The meeting is closed. Here is what was decided."))
        return redirect("meetings:detail", meeting.pk)
    plan_services.record_access(
        user=request.user, plan=plan, via=AccessLog.Via.PAGE, detail=f"meeting-room:{meeting.pk}"
    )
    items = _agenda(meeting)
    themes = _alive_themes(plan)
    on_agenda = {item.theme_id for item in items}
    by_id = {t.pk: t for t in themes}
    meeting_theme = meeting.current_item.theme if meeting.current_item_id else None
    if meeting_theme is not None and meeting_theme.deleted_at is not None:
        meeting_theme = None
    current_theme = meeting_theme or next(
        (by_id[i.theme_id] for i in items if i.theme_id in by_id), themes[0] if themes else None
    )
    # ?tema=<id> shows another theme (a link from the agenda; works without scripts).
    asked = request.GET.get("tema", "")
    if asked.isdigit() and int(asked) in by_id:
        current_theme = by_id[int(asked)]
    following = current_theme is None or meeting_theme is None or current_theme == meeting_theme
    goals: list[Goal] = []
    measures: list[Measure] = []
    if current_theme is not None:
        goals = list(Goal.objects.alive().filter(theme=current_theme).order_by("position", "pk"))
        measures = list(
            Measure.objects.alive()
            .filter(theme=current_theme)
            .select_related("responsible__user")
            .order_by("position", "pk")
        )
    members = [(m.pk, member_label(m)) for m in active_members(plan)]
    goal_choices = [(g.pk, Truncator(g.text).chars(60)) for g in goals]
    config: dict[str, Any] = {
        "plan": plan.pk,
        "meeting": meeting.pk,
        "status": meeting.status,
        "socket": f"/ws/plans/{plan.pk}/?meeting={meeting.pk}",
        "user": {"id": request.user.pk, "name": request.user.display_name},
        "canManage": access.can_manage,
        "canEdit": access.can_edit,
        "detailUrl": reverse("meetings:detail", args=[meeting.pk]),
        "planUrl": plan.get_absolute_url(),
        "shownTheme": current_theme.pk if current_theme else None,
        "following": following,
    }
    default_evaluation = plan.next_evaluation or min(
        timezone.localdate() + datetime.timedelta(days=90),
        plan.period_end or datetime.date.max,
    )
    return render(
        request,
        "meetings/meeting_room.html",
        {
            "meeting": meeting,
            "plan": plan,
            "access": access,
            "items": items,
            "themes": themes,
            "other_themes": [t for t in themes if t.pk not in on_agenda],
            "current_theme": current_theme,
            "goals": goals,
            "measures": measures,
            "members": members,
            "goal_choices": goal_choices,
            "default_evaluation": default_evaluation,
            "goal_levels": Goal.Level.choices,
            "goal_statuses": Goal.Status.choices,
            "measure_statuses": Measure.Status.choices,
            "room_config": config,
            "room_strings": room_strings(),
            "close_form": CloseForm(),
        },
    )


# ------------------------------------------------------------- coordinator's controls


@login_required
@require_POST
def meeting_start(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _access = _meeting_and_access(request, pk, need=Level.MANAGE)
    try:
        services.meeting_start(meeting_id=meeting.pk, user=request.user)
    except OperationError as error:
        _fail(request, error)
        return redirect("meetings:detail", meeting.pk)
    return redirect("meetings:room", meeting.pk)


@login_required
@require_POST
def meeting_goto(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the current theme without scripts: an item id, or 'next' / 'previous'."""
    meeting, _access = _meeting_and_access(request, pk, need=Level.MANAGE)
    items = _agenda(meeting)
    ids = [item.pk for item in items]
    direction = request.POST.get("direction")
    target: int | None
    if direction in {"next", "previous"}:
        index = ids.index(meeting.current_item_id) if meeting.current_item_id in ids else -1
        index = index + 1 if direction == "next" else index - 1
        if not 0 <= index < len(ids):
            return redirect("meetings:room", meeting.pk)
        target = ids[index]
    else:
        try:
            target = int(request.POST.get("item", ""))
        except ValueError:
            messages.error(request, _("Choose a theme on the agenda."))
            return redirect("meetings:room", meeting.pk)
    try:
        services.meeting_goto(meeting_id=meeting.pk, user=request.user, item_id=target)
    except OperationError as error:
        _fail(request, error)
    return redirect("meetings:room", meeting.pk)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_close(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, access = _meeting_and_access(request, pk, need=Level.MANAGE)
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_close(
                meeting_id=meeting.pk,
                user=request.user,
                next_meeting_at=form.cleaned_data.get("next_meeting_at"),
            )
        except OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(request, _("The meeting is closed."))
            return redirect("meetings:detail", meeting.pk)
    plan_services.record_access(
        user=request.user, plan=meeting.plan, via=AccessLog.Via.PAGE, detail=f"meeting:{meeting.pk}"
    )
    return render(
        request,
        "meetings/meeting_close.html",
        {"meeting": meeting, "plan": meeting.plan, "access": access, "form": form},
    )


@login_required
@require_POST
def attendee_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _access = _meeting_and_access(request, pk, need=Level.MANAGE)
    form = AttendeeForm(request.POST)
    if form.is_valid():
        try:
            services.attendee_add(
                meeting_id=meeting.pk,
                user=request.user,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
            )
        except OperationError as error:
            _fail(request, error)
        else:
            messages.success(
                request,
                _("%(name)s is added to the attendees.") % {"name": form.cleaned_data["name"]},
            )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#attendees")


@login_required
@require_POST
def attendee_remove(request: HttpRequest, pk: int, attendee_pk: int) -> HttpResponse:
    meeting, _access = _meeting_and_access(request, pk, need=Level.MANAGE)
    attendee = get_object_or_404(Attendee, pk=attendee_pk, meeting=meeting)
    try:
        services.attendee_remove(attendee_id=attendee.pk, user=request.user)
    except OperationError as error:
        _fail(request, error)
    else:
        messages.success(request, _("%(name)s is removed from the attendees.") % {"name": attendee})
    return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#attendees")


@login_required
@require_POST
def decision_set(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting, access = _meeting_and_access(request, pk, need=Level.READ)
    if not (access.can_manage or access.can_edit):
        raise PermissionDenied
    item = get_object_or_404(AgendaItem, pk=item_pk, meeting=meeting)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.agenda_decision_set(
                item_id=item.pk, user=request.user, text=form.cleaned_data["decision"]
            )
        except OperationError as error:
            _fail(request, error)
        else:
            messages.success(request, _("The decision is saved."))
    return redirect(reverse("meetings:detail", args=[meeting.pk]) + f"#item-{item.pk}")
