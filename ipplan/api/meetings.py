"""Meetings (ansvarsgruppemøter) over the API: read, and the meeting services.

Meeting state takes no plan revision; the ETag still names the plan revision, and
If-Match still guards writes, so a client acting on a stale view of the plan is told.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import AgendaItem, Attendee, Meeting

from . import filters
from . import serializers as s
from .base import parse_id
from .views import ListMixin, PlanContentViewSet, RetrieveMixin


@extend_schema_view(
    list=extend_schema(summary="Meetings of the plan", tags=["meetings"]),
    retrieve=extend_schema(summary="One meeting, with agenda and attendees", tags=["meetings"]),
    create=extend_schema(summary="Schedule a meeting (coordinator)", tags=["meetings"]),
    partial_update=extend_schema(
        summary="Reschedule, move or re-order the agenda (coordinator)", tags=["meetings"]
    ),
    start=extend_schema(summary="Start the meeting (coordinator)", tags=["meetings"]),
    close=extend_schema(summary="Close the meeting (coordinator)", tags=["meetings"]),
    goto=extend_schema(summary="Move to an agenda item (coordinator)", tags=["meetings"]),
    decision=extend_schema(summary="Write the decision on an agenda item", tags=["meetings"]),
    attendees=extend_schema(summary="Record someone present (coordinator)", tags=["meetings"]),
    attendee_remove=extend_schema(
        summary="Remove an entry from the attendee list (coordinator)", tags=["meetings"]
    ),
)
class MeetingViewSet(ListMixin, RetrieveMixin, PlanContentViewSet):
    model = Meeting
    serializer_class = s.MeetingSerializer
    filterset_class = filters.MeetingFilter
    request_serializers = {
        "create": s.MeetingWriteSerializer,
        "partial_update": s.MeetingWriteSerializer,
        "close": s.MeetingCloseSerializer,
        "goto": s.MeetingGotoSerializer,
        "decision": s.DecisionSerializer,
        "attendees": s.AttendeeCreateSerializer,
    }

    def get_queryset(self) -> QuerySet:
        return (
            super().get_queryset().prefetch_related("items__theme", "attendees__user__organisation")
        )

    def response_serializer(self) -> Any:
        if self.action == "attendee_remove":
            return {204: None}
        if self.action == "attendees":
            return {201: s.AttendeeSerializer}
        return super().response_serializer()

    def _run(self, call: Any, meeting_id: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            call()
            return self.read(meeting_id)

        return self.write(run)

    def create(self, request: Request, plan_pk: str) -> Response:
        values = self.validated()

        def run() -> dict[str, Any]:
            meeting = meeting_services.meeting_schedule(
                plan_id=self.plan.pk,
                user=request.user,
                scheduled_at=values["scheduled_at"],
                place=values.get("place", ""),
                agenda_theme_ids=values.get("agenda"),
            )
            return self.read(meeting.pk)

        body = self.write(run)
        location = reverse("api:meeting-detail", kwargs={"plan_pk": self.plan.pk, "pk": body["id"]})
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def partial_update(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        values = self.validated(partial=True)
        return Response(
            self._run(
                lambda: meeting_services.meeting_update(
                    meeting_id=meeting.pk,
                    user=request.user,
                    scheduled_at=values.get("scheduled_at"),
                    place=values.get("place"),
                    agenda_theme_ids=values.get("agenda"),
                ),
                meeting.pk,
            )
        )

    @action(detail=True, methods=["post"])
    def start(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        return Response(
            self._run(
                lambda: meeting_services.meeting_start(meeting_id=meeting.pk, user=request.user),
                meeting.pk,
            )
        )

    @action(detail=True, methods=["post"])
    def close(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        values = self.validated()
        return Response(
            self._run(
                lambda: meeting_services.meeting_close(
                    meeting_id=meeting.pk,
                    user=request.user,
                    next_meeting_at=values.get("next_meeting_at"),
                ),
                meeting.pk,
            )
        )

    @action(detail=True, methods=["post"])
    def goto(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        item = self.validated()["item"]
        return Response(
            self._run(
                lambda: meeting_services.meeting_goto(
                    meeting_id=meeting.pk, user=request.user, item_id=item
                ),
                meeting.pk,
            )
        )

    @action(detail=True, methods=["post"])
    def decision(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        values = self.validated()
        # The service finds the item by id alone: make sure it is this meeting's.
        if not AgendaItem.objects.filter(meeting=meeting, pk=values["item"]).exists():
            raise exceptions.ValidationError({"item": [_("Not an agenda item of this meeting.")]})
        return Response(
            self._run(
                lambda: meeting_services.agenda_decision_set(
                    item_id=values["item"], user=request.user, text=values["text"]
                ),
                meeting.pk,
            )
        )

    @action(detail=True, methods=["post"])
    def attendees(self, request: Request, plan_pk: str, pk: str) -> Response:
        meeting = self.get_object()
        values = self.validated()

        def run() -> dict[str, Any]:
            attendee = meeting_services.attendee_add(
                meeting_id=meeting.pk,
                user=request.user,
                attendee_user_id=values.get("user"),
                name=values.get("name", ""),
                role=values.get("role", ""),
            )
            return s.AttendeeSerializer(
                Attendee.objects.select_related("user__organisation").get(pk=attendee.pk)
            ).data

        return Response(self.write(run), status=status.HTTP_201_CREATED)

    @action(
        detail=True,
        methods=["delete"],
        url_path=r"attendees/(?P<attendee_pk>[^/]+)",
        url_name="attendee-remove",
    )
    def attendee_remove(
        self, request: Request, plan_pk: str, pk: str, attendee_pk: str
    ) -> Response:
        meeting = self.get_object()
        attendee = Attendee.objects.filter(meeting=meeting, pk=parse_id(attendee_pk)).first()
        if attendee is None:
            raise exceptions.NotFound()
        self.write(
            lambda: meeting_services.attendee_remove(attendee_id=attendee.pk, user=request.user)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
