"""REST endpoints for plans and their content under /api/v1/.

Every plan-scoped view resolves the plan through base.resolve_plan (404 for anyone who
may not read it), and every write runs through base.PlanScopedMixin.write, which calls
the same service functions as the pages and the live editor. Open meetings therefore
see API edits at once: the services notify sockets on commit.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipplan.courses.models import TreatmentCourse
from ipplan.courses.services import course_update
from ipplan.plans import services
from ipplan.plans.models import (
    AccessLog,
    Change,
    Consent,
    Goal,
    Measure,
    Member,
    Person,
    Plan,
    Theme,
)
from ipplan.plans.permissions import covering_consents, plan_access
from ipplan.plans.services import OperationError

from . import filters
from . import serializers as s
from .base import PlanScopedMixin, api_error, etag, parse_id, token_of, visible_plans_for
from .fhir import plan_bundle
from .schema import ApiSchema

VIA = "api"


class ApiViewSet(PlanScopedMixin, viewsets.GenericViewSet):
    """Base for every viewset: the schema reads request/response serializers per action
    from `request_serializers` and `response_serializer()`."""

    schema = ApiSchema()
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend]
    request_serializers: dict[str, type[serializers.Serializer]] = {}

    def request_serializer(self) -> type[serializers.Serializer] | None:
        return self.request_serializers.get(self.action)

    def response_serializer(self) -> Any:
        if self.action == "destroy":
            return {204: None}
        return self.serializer_class

    def validated(self, *, partial: bool = False) -> dict[str, Any]:
        serializer_class = self.request_serializer()
        assert serializer_class is not None
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def paginated(self, queryset: QuerySet, **context: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        data = self.serializer_class(page, many=True, context=context).data
        return self.get_paginated_response(data)


# ---------------------------------------------------------------------- plans


@extend_schema_view(
    list=extend_schema(summary="Plans you may read", tags=["plans"]),
    create=extend_schema(
        summary="Create a plan (and its person); you become the coordinator", tags=["plans"]
    ),
    retrieve=extend_schema(summary="A plan", tags=["plans"]),
    partial_update=extend_schema(summary="Change plan fields", tags=["plans"]),
)
class PlanViewSet(ApiViewSet):
    lookup_url_kwarg = "plan_pk"
    filterset_class = filters.PlanFilter
    serializer_class = s.PlanSerializer
    request_serializers = {
        "create": s.PlanCreateSerializer,
        "partial_update": s.PlanUpdateSerializer,
    }
    queryset = Plan.objects.none()

    def get_queryset(self) -> QuerySet[Plan]:
        return visible_plans_for(self.request).select_related("person", "coordinator__organisation")

    def response_serializer(self) -> Any:
        return s.PlanSummarySerializer if self.action == "list" else s.PlanSerializer

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Filters apply to the list only; a plan's detail is resolved by id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _plan_data(self) -> dict[str, Any]:
        plan = Plan.objects.select_related("person", "coordinator__organisation").get(
            pk=self.plan.pk
        )
        access = plan_access(self.request.user, plan)
        return s.PlanSerializer(plan, context={"access": access}).data

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.PlanSummarySerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        if token_of(request) is not None:
            raise exceptions.PermissionDenied(
                _("Plans are created by a coordinator, not by an integration token.")
            )
        data = self.validated()
        try:
            with transaction.atomic():
                if not request.user.has_perm("plans.add_plan"):
                    raise OperationError("forbidden", _("You may not create plans."))
                person = Person.objects.create(**data.pop("person"))
                plan = services.plan_create(
                    person=person, coordinator=request.user, created_by=request.user, **data
                )
        except OperationError as exc:
            raise api_error(exc) from exc
        access = plan_access(request.user, plan)
        body = s.PlanSerializer(plan, context={"access": access}).data
        location = reverse("api:plan-detail", kwargs={"plan_pk": plan.pk})
        return Response(
            body,
            status=status.HTTP_201_CREATED,
            headers={"Location": location, "ETag": etag(plan.revision)},
        )

    def retrieve(self, request: Request, plan_pk: str) -> Response:
        return Response(self._plan_data())

    def partial_update(self, request: Request, plan_pk: str) -> Response:
        values = self.validated(partial=True)

        def run() -> dict[str, Any]:
            if values:
                services.object_update(
                    plan_id=self.plan.pk,
                    user=request.user,
                    target="plan",
                    target_id=self.plan.pk,
                    values=values,
                    via=VIA,
                )
            return self._plan_data()

        return Response(self.write(run))


# ---------------------------------------------------------------------- content


class PlanContentViewSet(ApiViewSet):
    """Objects that belong to one plan, written through the services' `target`."""

    model: type[Model]
    target = ""
    detail_route = ""

    def get_queryset(self) -> QuerySet:
        if self.access is None:  # schema generation
            return self.model.objects.none()
        queryset = self.model.objects.filter(plan=self.plan)
        if hasattr(queryset, "alive"):
            queryset = queryset.alive()
        return queryset

    def get_object(self) -> Any:
        obj = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if obj is None:
            raise exceptions.NotFound()
        return obj

    def read(self, pk: int) -> dict[str, Any]:
        return self.serializer_class(self.get_queryset().get(pk=pk)).data


class ListMixin:
    def list(self, request: Request, plan_pk: str) -> Response:
        return self.paginated(self.get_queryset())


class RetrieveMixin:
    def retrieve(self, request: Request, plan_pk: str, pk: str) -> Response:
        return Response(self.serializer_class(self.get_object()).data)


class CreateMixin:
    def create(self, request: Request, plan_pk: str) -> Response:
        values = self.validated()

        def run() -> dict[str, Any]:
            result = services.object_create(
                plan_id=self.plan.pk, user=request.user, target=self.target, values=values, via=VIA
            )
            return self.read(result.result["id"])

        body = self.write(run)
        location = reverse(
            f"api:{self.detail_route}", kwargs={"plan_pk": self.plan.pk, "pk": body["id"]}
        )
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class UpdateMixin:
    def partial_update(self, request: Request, plan_pk: str, pk: str) -> Response:
        obj = self.get_object()
        values = self.validated(partial=True)

        def run() -> dict[str, Any]:
            if values:
                services.object_update(
                    plan_id=self.plan.pk,
                    user=request.user,
                    target=self.target,
                    target_id=obj.pk,
                    values=values,
                    via=VIA,
                )
            return self.read(obj.pk)

        return Response(self.write(run))


class SoftDeleteMixin:
    """Soft delete and restore, for themes, goals, measures and treatment courses."""

    def destroy(self, request: Request, plan_pk: str, pk: str) -> Response:
        obj = self.get_object()
        self.write(
            lambda: services.object_delete(
                plan_id=self.plan.pk,
                user=request.user,
                target=self.target,
                target_id=obj.pk,
                via=VIA,
            )
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def restore(self, request: Request, plan_pk: str, pk: str) -> Response:
        # The object is deleted, so it is not in get_queryset(); the service looks it
        # up within this plan and answers not_found for anything else.
        target_id = parse_id(pk)
        op = {"type": "restore", "target": self.target, "id": target_id}

        def run() -> dict[str, Any]:
            services.apply_operation(plan_id=self.plan.pk, user=request.user, op=op, via=VIA)
            return self.read(target_id)

        return Response(self.write(run))


class OrderedMixin(SoftDeleteMixin):
    """Soft delete, restore and move, for themes, goals and measures."""

    @action(detail=True, methods=["post"])
    def move(self, request: Request, plan_pk: str, pk: str) -> Response:
        obj = self.get_object()
        values = self.validated()
        op = {"type": "move", "target": self.target, "id": obj.pk, **values}

        def run() -> dict[str, Any]:
            services.apply_operation(plan_id=self.plan.pk, user=request.user, op=op, via=VIA)
            return self.read(obj.pk)

        return Response(self.write(run))


def _content_docs(
    noun: str, tag: str, *, ordered: bool = True, writable: bool = True, movable: bool = True
) -> Any:
    docs = {
        "list": extend_schema(summary=f"List {noun}s of the plan", tags=[tag]),
        "retrieve": extend_schema(summary=f"One {noun}", tags=[tag]),
    }
    if writable:
        docs["create"] = extend_schema(summary=f"Add a {noun}", tags=[tag])
        docs["partial_update"] = extend_schema(summary=f"Change a {noun}", tags=[tag])
    if ordered:
        docs["destroy"] = extend_schema(summary=f"Delete a {noun} (it can be restored)", tags=[tag])
        if movable:
            docs["move"] = extend_schema(summary=f"Move a {noun}", tags=[tag])
        docs["restore"] = extend_schema(summary=f"Restore a deleted {noun}", tags=[tag])
    return extend_schema_view(**docs)


@_content_docs("main theme", "themes")
class ThemeViewSet(
    ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, OrderedMixin, PlanContentViewSet
):
    model = Theme
    target = "theme"
    detail_route = "theme-detail"
    serializer_class = s.ThemeSerializer
    request_serializers = {
        "create": s.ThemeCreateSerializer,
        "partial_update": s.ThemeUpdateSerializer,
        "move": s.MoveSerializer,
    }

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("template")


@_content_docs("goal", "goals")
class GoalViewSet(
    ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, OrderedMixin, PlanContentViewSet
):
    model = Goal
    target = "goal"
    detail_route = "goal-detail"
    serializer_class = s.GoalSerializer
    filterset_class = filters.GoalFilter
    request_serializers = {
        "create": s.GoalCreateSerializer,
        "partial_update": s.GoalUpdateSerializer,
        "move": s.MoveSerializer,
    }


@_content_docs("measure", "measures")
class MeasureViewSet(
    ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, OrderedMixin, PlanContentViewSet
):
    model = Measure
    target = "measure"
    detail_route = "measure-detail"
    serializer_class = s.MeasureSerializer
    filterset_class = filters.MeasureFilter
    request_serializers = {
        "create": s.MeasureCreateSerializer,
        "partial_update": s.MeasureUpdateSerializer,
        "move": s.MoveSerializer,
    }


@_content_docs("treatment course", "courses", movable=False)
class CourseViewSet(
    ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, SoftDeleteMixin, PlanContentViewSet
):
    """Treatment courses (behandlingsløp), as counted in the unit's yearly statistics."""

    model = TreatmentCourse
    target = "course"
    detail_route = "course-detail"
    serializer_class = s.CourseSerializer
    request_serializers = {
        "create": s.CourseCreateSerializer,
        "partial_update": s.CourseUpdateSerializer,
    }

    def partial_update(self, request: Request, plan_pk: str, pk: str) -> Response:
        # Each field is one operation and each must leave a consistent course, so the
        # courses' own update sends them in a workable order ("ongoing -> completed on
        # 3 March" sets the end date before the status).
        course = self.get_object()
        values = self.validated(partial=True)

        def run() -> dict[str, Any]:
            if values:
                course_update(
                    plan_id=self.plan.pk,
                    user=request.user,
                    course_id=course.pk,
                    values=values,
                    via=VIA,
                )
            return self.read(course.pk)

        return Response(self.write(run))


@_content_docs("member", "members", ordered=False)
class MemberViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, PlanContentViewSet):
    """The responsible group. Members are never deleted: set active_to to end one."""

    model = Member
    target = "member"
    detail_route = "member-detail"
    serializer_class = s.MemberSerializer
    filterset_class = filters.MemberFilter
    request_serializers = {
        "create": s.MemberCreateSerializer,
        "partial_update": s.MemberUpdateSerializer,
    }

    def get_queryset(self) -> QuerySet:
        # Whether a valid sharing consent covers each member, in the same query.
        covered = Exists(covering_consents(timezone.localdate(), OuterRef("pk")))
        return (
            super()
            .get_queryset()
            .select_related("user__organisation", "organisation")
            .annotate(sharing_consent_covers=covered)
        )


@extend_schema_view(
    list=extend_schema(summary="Consents of the plan", tags=["consent"]),
    retrieve=extend_schema(summary="One consent", tags=["consent"]),
    create=extend_schema(summary="Record a consent (coordinator)", tags=["consent"]),
    withdraw=extend_schema(
        summary="Withdraw a consent (coordinator or the person); takes effect at once",
        tags=["consent"],
    ),
)
class ConsentViewSet(ListMixin, RetrieveMixin, PlanContentViewSet):
    model = Consent
    detail_route = "consent-detail"
    serializer_class = s.ConsentSerializer
    filterset_class = filters.ConsentFilter
    request_serializers = {"create": s.ConsentCreateSerializer}

    def get_queryset(self) -> QuerySet:
        return (
            super()
            .get_queryset()
            .select_related("recorded_by__organisation")
            .prefetch_related("members")
        )

    def create(self, request: Request, plan_pk: str) -> Response:
        values = self.validated()
        member_ids = set(values.pop("members", []))
        members = list(Member.objects.filter(plan=self.plan, pk__in=member_ids))
        if len(members) != len(member_ids):
            raise exceptions.ValidationError(
                {"members": [_("Every member must belong to this plan.")]}
            )

        def run() -> dict[str, Any]:
            consent = services.consent_record(
                plan_id=self.plan.pk, user=request.user, members=members, **values
            )
            return self.read(consent.pk)

        body = self.write(run)
        location = reverse("api:consent-detail", kwargs={"plan_pk": self.plan.pk, "pk": body["id"]})
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, plan_pk: str, pk: str) -> Response:
        consent = self.get_object()

        def run() -> dict[str, Any]:
            services.consent_withdraw(
                plan_id=self.plan.pk, user=request.user, consent_id=consent.pk
            )
            return self.read(consent.pk)

        return Response(self.write(run))


# ---------------------------------------------------------------------- history


@extend_schema_view(
    list=extend_schema(
        summary="The change history (one entry per revision)",
        description="Use `since` to fetch what changed after a revision you hold.",
        tags=["history"],
    ),
    retrieve=extend_schema(summary="One change", tags=["history"]),
)
class ChangeViewSet(ListMixin, RetrieveMixin, PlanContentViewSet):
    model = Change
    serializer_class = s.ChangeSerializer
    filterset_class = filters.ChangeFilter

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("user__organisation").order_by("revision")


@extend_schema_view(
    list=extend_schema(
        summary="Who has read the plan (innsynslogg)",
        description="For the person the plan belongs to, and the coordinator.",
        tags=["access log"],
    ),
)
class AccessLogViewSet(PlanContentViewSet):
    model = AccessLog
    serializer_class = s.AccessLogSerializer
    filterset_class = filters.AccessLogFilter
    access_detail = "access-log"

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("user__organisation")

    def list(self, request: Request, plan_pk: str) -> Response:
        assert self.access is not None
        if not (self.access.is_person or self.access.can_manage):
            raise exceptions.PermissionDenied(
                _("Only the person and the coordinator can see who has read the plan.")
            )
        return self.paginated(self.get_queryset())


# ---------------------------------------------------------------------- FHIR


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


BUNDLE_SCHEMA = {
    "type": "object",
    "description": "A FHIR R5 Bundle of type collection; see docs/api.md for the mapping.",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "id": {"type": "string"},
        "type": {"type": "string", "enum": ["collection"]},
        "timestamp": {"type": "string", "format": "date-time"},
        "identifier": {"type": "object"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fullUrl", "resource"],
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": {
                        "type": "object",
                        "required": ["resourceType"],
                        "properties": {"resourceType": {"type": "string"}},
                    },
                },
            },
        },
    },
}


class AcceptHeaderNegotiation(DefaultContentNegotiation):
    """The representation is chosen by the Accept header only (no ?format=)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class PlanFhirView(PlanScopedMixin, APIView):
    """GET /api/v1/plans/{plan_pk}/fhir: the plan as a FHIR R5 Bundle. Each read is
    recorded in the access log (via FHIR)."""

    schema = ApiSchema()
    renderer_classes = [FhirJsonRenderer, JSONRenderer]
    content_negotiation_class = AcceptHeaderNegotiation
    access_via = AccessLog.Via.FHIR
    access_detail = "fhir"

    @extend_schema(
        summary="The plan as a FHIR R5 Bundle",
        tags=["fhir"],
        responses={200: BUNDLE_SCHEMA},
        parameters=[OpenApiParameter("format", exclude=True)],
    )
    def get(self, request: Request, plan_pk: str) -> Response:
        plan = Plan.objects.select_related("person", "coordinator__organisation").get(
            pk=self.plan.pk
        )
        return Response(plan_bundle(plan))
