"""Meeting records (referat) and comment threads over the API, through
ipplan.records.services. Records are frozen when a meeting closes; the API reads them
and lets readers acknowledge them. Comments do not take a plan revision."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ipplan.records import services as record_services
from ipplan.records.models import Comment, MeetingRecord

from . import filters
from .serializers import UserSummarySerializer, id_field, text_field
from .views import ListMixin, PlanContentViewSet, RetrieveMixin

# ------------------------------------------------------------------ serializers


class AcknowledgementSerializer(serializers.Serializer):
    user = UserSummarySerializer(read_only=True)
    at = serializers.DateTimeField(read_only=True)


class MeetingRecordSerializer(serializers.ModelSerializer):
    content = serializers.JSONField(read_only=True, help_text="The frozen record.")
    acknowledgements = AcknowledgementSerializer(many=True, read_only=True)

    class Meta:
        model = MeetingRecord
        fields = [
            "id",
            "meeting",
            "start_revision",
            "end_revision",
            "content",
            "digest",
            "created_at",
            "acknowledgements",
        ]


class CommentSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)
    resolved_by = UserSummarySerializer(read_only=True, allow_null=True)
    is_resolved = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id",
            "target_type",
            "target_id",
            "parent",
            "author",
            "body",
            "created_at",
            "is_resolved",
            "resolved_at",
            "resolved_by",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_is_resolved(self, comment: Comment) -> bool:
        return comment.is_resolved


class CommentCreateSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=Comment.Target.choices)
    target_id = id_field()
    body = text_field(record_services.MAX_COMMENT)


class CommentReplySerializer(serializers.Serializer):
    body = text_field(record_services.MAX_COMMENT)


# ------------------------------------------------------------------ views


@extend_schema_view(
    list=extend_schema(summary="Meeting records of the plan", tags=["records"]),
    retrieve=extend_schema(summary="One meeting record", tags=["records"]),
    acknowledge=extend_schema(summary="“I have read this record”", tags=["records"]),
)
class MeetingRecordViewSet(ListMixin, RetrieveMixin, PlanContentViewSet):
    model = MeetingRecord
    serializer_class = MeetingRecordSerializer

    def get_queryset(self) -> QuerySet:
        return (
            super()
            .get_queryset()
            .prefetch_related("acknowledgements__user__organisation")
            .order_by("-created_at", "-pk")
        )

    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, plan_pk: str, pk: str) -> Response:
        record = self.get_object()

        def run() -> dict[str, Any]:
            record_services.record_acknowledge(record_id=record.pk, user=request.user)
            return self.read(record.pk)

        return Response(self.write(run))


@extend_schema_view(
    list=extend_schema(
        summary="Comments on the plan's themes, goals and measures", tags=["comments"]
    ),
    retrieve=extend_schema(summary="One comment", tags=["comments"]),
    create=extend_schema(summary="Start a comment thread", tags=["comments"]),
    reply=extend_schema(summary="Reply in a thread (reopens it)", tags=["comments"]),
    resolve=extend_schema(summary="Mark a thread resolved", tags=["comments"]),
    reopen=extend_schema(summary="Reopen a resolved thread", tags=["comments"]),
)
class CommentViewSet(ListMixin, RetrieveMixin, PlanContentViewSet):
    model = Comment
    serializer_class = CommentSerializer
    filterset_class = filters.CommentFilter
    request_serializers = {"create": CommentCreateSerializer, "reply": CommentReplySerializer}

    def get_queryset(self) -> QuerySet:
        return (
            super()
            .get_queryset()
            .select_related("author__organisation", "resolved_by__organisation")
        )

    def response_serializer(self) -> Any:
        if self.action in ("create", "reply"):
            return {201: CommentSerializer}
        return super().response_serializer()

    def _created(self, comment_id: int, body: dict[str, Any]) -> Response:
        location = reverse("api:comment-detail", kwargs={"plan_pk": self.plan.pk, "pk": comment_id})
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def create(self, request: Request, plan_pk: str) -> Response:
        values = self.validated()

        def run() -> dict[str, Any]:
            comment = record_services.comment_create(
                plan_id=self.plan.pk, user=request.user, **values
            )
            return self.read(comment.pk)

        body = self.write(run)
        return self._created(body["id"], body)

    @action(detail=True, methods=["post"])
    def reply(self, request: Request, plan_pk: str, pk: str) -> Response:
        thread = self.get_object()
        values = self.validated()

        def run() -> dict[str, Any]:
            reply = record_services.comment_reply(
                comment_id=thread.pk, user=request.user, body=values["body"]
            )
            return self.read(reply.pk)

        body = self.write(run)
        return self._created(body["id"], body)

    def _thread_action(self, service: Any) -> Response:
        comment = self.get_object()

        def run() -> dict[str, Any]:
            root = service(comment_id=comment.pk, user=self.request.user)
            return self.read(root.pk)

        return Response(self.write(run))

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, plan_pk: str, pk: str) -> Response:
        return self._thread_action(record_services.comment_resolve)

    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, plan_pk: str, pk: str) -> Response:
        return self._thread_action(record_services.comment_reopen)
