"""The meeting record page, 'I have read this', and the PDFs of a record and a plan."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipplan.meetings.models import AgendaItem, Attendee, Meeting
from ipplan.plans import services as plan_services
from ipplan.plans.models import AccessLog

from .. import services
from ..history import plan_state_live, plan_states_at
from ..models import MeetingRecord, RecordAcknowledgement
from ..pdf import pdf_response
from ..present import present_state
from ._common import back, int_or_none, log_read, plan_or_404, report


def _record_or_404(request: HttpRequest, record_id: int) -> tuple[MeetingRecord, object]:
    record = MeetingRecord.objects.filter(pk=record_id).select_related("meeting").first()
    if record is None:
        raise Http404
    return record, plan_or_404(request, record.plan_id)


def corrections(record: MeetingRecord) -> dict[str, list[str]] | None:
    """What the coordinator corrected in the meeting after it closed (attendees and
    decisions may be corrected): shown beside the frozen record, never merged into it."""
    frozen = record.content
    now = [
        a.user.display_name if a.user_id else a.name
        for a in Attendee.objects.filter(meeting_id=record.meeting_id).select_related("user")
    ]
    before = [a["name"] for a in frozen.get("attendees", [])]
    decisions = {
        item.theme_id: (item.theme.title, item.decision)
        for item in AgendaItem.objects.filter(meeting_id=record.meeting_id).select_related("theme")
    }
    changed = [
        f"{decisions[a['theme']][0]}: {decisions[a['theme']][1] or '—'}"
        for a in frozen.get("agenda", [])
        if a["theme"] in decisions and decisions[a["theme"]][1] != a["decision"]
    ]
    result = {
        "added": [n for n in now if n not in before],
        "removed": [n for n in before if n not in now],
        "decisions": changed,
    }
    return result if any(result.values()) else None


@login_required
@require_GET
def record(request: HttpRequest, record_id: int) -> HttpResponse:
    record, access = _record_or_404(request, record_id)
    log_read(request, access, via=AccessLog.Via.RECORD, detail=f"meeting {record.meeting_id}")
    acks = list(record.acknowledgements.select_related("user"))
    mine = next((a for a in acks if a.user_id == request.user.pk), None)
    context = {
        "plan": access.plan,
        "access": access,
        "record": record,
        "content": record.content,
        "acks": acks,
        "my_ack": mine,
        "asked_to_ack": mine is None and services.record_needs_ack(record, request.user),
        "corrections": corrections(record),
    }
    return render(request, "records/record.html", context)


@login_required
@require_GET
def meeting_record(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The record of a meeting, by the meeting's id (made now if it is missing)."""
    meeting = get_object_or_404(Meeting, pk=meeting_id)
    access = plan_or_404(request, meeting.plan_id)
    made = services.record_for_meeting(meeting=meeting)
    if made is None:
        messages.info(request, _("The record is made when the meeting is closed."))
        return redirect("plans:detail", access.plan.pk)
    return redirect("records:record", made.pk)


@login_required
@require_POST
def acknowledge(request: HttpRequest, record_id: int) -> HttpResponse:
    record, _access = _record_or_404(request, record_id)
    try:
        services.record_acknowledge(record_id=record.pk, user=request.user)
    except plan_services.OperationError as error:
        report(request, error)
    else:
        messages.success(request, _("Thank you. We have noted that you have read the record."))
    return back(request, reverse("records:record", args=[record.pk]))


@login_required
@require_GET
def record_pdf(request: HttpRequest, record_id: int) -> HttpResponse:
    record, access = _record_or_404(request, record_id)
    log_read(request, access, via=AccessLog.Via.PDF, detail=f"meeting {record.meeting_id}")
    acks = RecordAcknowledgement.objects.filter(record=record).select_related("user")
    context = {
        "plan": access.plan,
        "record": record,
        "content": record.content,
        "acks": acks,
        "revision": record.end_revision,
        "printed_at": timezone.now(),
    }
    filename = f"referat-{record.meeting.scheduled_at:%Y-%m-%d}.pdf"
    return pdf_response(request, "records/pdf/record.html", context, filename=filename)


@login_required
@require_GET
def plan_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    access = plan_or_404(request, plan_id)
    plan = access.plan
    revision = int_or_none(request.GET.get("revisjon"))
    if revision is not None and not 1 <= revision <= plan.revision:
        raise Http404
    log_read(request, access, via=AccessLog.Via.PDF, detail=f"r{revision}" if revision else "plan")
    if revision is None or revision == plan.revision:
        state = plan_state_live(plan)
    else:
        (state,) = plan_states_at(plan, [revision])
    context = {
        "plan": plan,
        "state": present_state(plan, state),
        "revision": state["revision"],
        "historic": revision is not None and revision != plan.revision,
        "printed_at": timezone.now(),
    }
    filename = f"individuell-plan-r{state['revision']}.pdf"
    return pdf_response(request, "records/pdf/plan.html", context, filename=filename)
