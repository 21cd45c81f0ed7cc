"""Serializers: explicit ones for what the API answers, and write serializers derived
from the service layer's field table (ipplan.plans.services.FIELDS).

Deriving the write side keeps the documented request schema identical to what the
services accept: a field the services learn is documented at once, and a length or
choice limit cannot drift between the two. The services still validate everything
(cross-field rules, plan periods, membership); these only check shapes.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ipplan.courses.models import TreatmentCourse
from ipplan.meetings.models import AgendaItem, Attendee, Meeting
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
    ThemeTemplate,
)
from ipplan.plans.permissions import Level, PlanAccess, covering_consent_exists
from ipplan.plans.services import FIELDS, MAX_TEXT, FieldSpec

from .base import MAX_ID


class StrictCharField(serializers.CharField):
    """Text must be sent as a JSON string: DRF would turn 42 into "42" silently."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """Ids and positions must be JSON integers, not "5", 5.0 or true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def text_field(max_length: int = MAX_TEXT, **kwargs: Any) -> serializers.CharField:
    # Never trim: these are documents edited live, and the text must round-trip exactly.
    return StrictCharField(max_length=max_length, trim_whitespace=False, **kwargs)


# ------------------------------------------------------------------ shared parts


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()
    organisation = serializers.CharField(
        source="organisation.name", read_only=True, allow_null=True
    )

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, user: Any) -> str:
        return user.display_name


class OrganisationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "first_name", "last_name", "birth_date", "phone", "email", "address"]


class PersonNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "first_name", "last_name"]


class PersonCreateSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.EmailField: StrictEmailField,
    }

    class Meta:
        model = Person
        fields = ["first_name", "last_name", "birth_date", "phone", "email", "address"]

    def validate_birth_date(self, value: datetime.date) -> datetime.date:
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The birth date cannot be in the future."))
        return value


# ------------------------------------------------------------------ plans


class PlanAccessSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["read", "comment", "edit", "manage"])
    is_person = serializers.BooleanField()
    is_coordinator = serializers.BooleanField()
    can_comment = serializers.BooleanField()
    can_edit = serializers.BooleanField()
    can_manage = serializers.BooleanField()

    def to_representation(self, access: PlanAccess) -> dict[str, Any]:
        return {
            "level": Level(access.level).name.lower(),
            "is_person": access.is_person,
            "is_coordinator": access.is_coordinator,
            "can_comment": access.can_comment,
            "can_edit": access.can_edit,
            "can_manage": access.can_manage,
        }


class PlanSummarySerializer(serializers.ModelSerializer):
    person = PersonNameSerializer(read_only=True)
    coordinator = UserSummarySerializer(read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "person",
            "coordinator",
            "status",
            "period_start",
            "period_end",
            "next_evaluation",
            "revision",
            "updated_at",
        ]


class PlanSerializer(serializers.ModelSerializer):
    person = PersonSerializer(read_only=True)
    coordinator = UserSummarySerializer(read_only=True)
    access = serializers.SerializerMethodField(help_text="What you may do with this plan.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "person",
            "coordinator",
            "status",
            "period_start",
            "period_end",
            "next_evaluation",
            "what_matters",
            "resources",
            "needs",
            "cooperation",
            "revision",
            "created_at",
            "updated_at",
            "access",
        ]

    @extend_schema_field(PlanAccessSerializer)
    def get_access(self, plan: Plan) -> dict[str, Any]:
        return PlanAccessSerializer(self.context["access"]).data


class PlanCreateSerializer(serializers.Serializer):
    person = PersonCreateSerializer(help_text="The person the plan belongs to (created with it).")
    coordinator = id_field(required=False, help_text="User id; defaults to you.")
    status = serializers.ChoiceField(
        choices=[Plan.Status.DRAFT, Plan.Status.ACTIVE], default=Plan.Status.DRAFT
    )
    period_start = serializers.DateField()
    period_end = serializers.DateField(required=False, allow_null=True)
    next_evaluation = serializers.DateField(required=False, allow_null=True)
    what_matters = text_field(required=False, allow_blank=True)


# ------------------------------------------------------------------ write serializers


def _field_for(spec: FieldSpec, *, creating: bool) -> serializers.Field:
    """The API shape of one service field. On create, the services require the
    required text and date fields; enums fall back to the model default."""
    required = creating and spec.required and spec.kind in ("text", "date")
    if spec.kind == "text":
        return text_field(spec.max_length, required=required, allow_blank=not spec.required)
    if spec.kind == "date":
        return serializers.DateField(required=required, allow_null=not spec.required)
    if spec.kind == "enum":
        assert spec.choices is not None
        return serializers.ChoiceField(choices=spec.choices.choices, required=False)
    # member / goal / user: ids, which the services look up within the plan.
    return id_field(required=False, allow_null=not spec.required)


def write_serializer(
    name: str, target: str, *, creating: bool, extra: dict[str, serializers.Field] | None = None
) -> type[serializers.Serializer]:
    attrs: dict[str, Any] = {
        field: _field_for(spec, creating=creating) for field, spec in FIELDS[target].items()
    }
    attrs.update(extra or {})
    attrs["__module__"] = __name__
    return type(name, (serializers.Serializer,), attrs)


def _position(**kwargs: Any) -> serializers.IntegerField:
    return StrictIntegerField(min_value=0, max_value=100_000, **kwargs)


PlanUpdateSerializer = write_serializer("PlanUpdate", "plan", creating=False)
MemberCreateSerializer = write_serializer(
    "MemberCreate",
    "member",
    creating=True,
    extra={
        "user": id_field(help_text="The user to add to the responsible group."),
        "role": serializers.ChoiceField(choices=Member.Role.choices),
        "organisation": id_field(required=False, allow_null=True),
        "active_from": serializers.DateField(required=False, help_text="Default: today."),
    },
)
MemberUpdateSerializer = write_serializer("MemberUpdate", "member", creating=False)
ThemeCreateSerializer = write_serializer(
    "ThemeCreate",
    "theme",
    creating=True,
    extra={
        "template": id_field(required=False, allow_null=True),
        "position": _position(required=False),
    },
)
ThemeUpdateSerializer = write_serializer("ThemeUpdate", "theme", creating=False)
GoalCreateSerializer = write_serializer(
    "GoalCreate",
    "goal",
    creating=True,
    extra={"theme": id_field(), "position": _position(required=False)},
)
GoalUpdateSerializer = write_serializer("GoalUpdate", "goal", creating=False)
MeasureCreateSerializer = write_serializer(
    "MeasureCreate",
    "measure",
    creating=True,
    extra={"theme": id_field(), "position": _position(required=False)},
)
MeasureUpdateSerializer = write_serializer("MeasureUpdate", "measure", creating=False)


def _course_fields(*, creating: bool) -> dict[str, serializers.Field]:
    # The kind has no model default, so a new course must name it; a break-off reason
    # can be cleared (null or "") when a broken-off course is corrected.
    return {
        "kind": serializers.ChoiceField(choices=TreatmentCourse.Kind.choices, required=creating),
        "break_reason": serializers.ChoiceField(
            choices=TreatmentCourse.BreakReason.choices,
            required=False,
            allow_blank=True,
            allow_null=True,
        ),
    }


CourseCreateSerializer = write_serializer(
    "CourseCreate", "course", creating=True, extra=_course_fields(creating=True)
)
CourseUpdateSerializer = write_serializer(
    "CourseUpdate", "course", creating=False, extra=_course_fields(creating=False)
)


class MoveSerializer(serializers.Serializer):
    position = _position(help_text="New place among its siblings, from 0.")
    theme = id_field(
        required=False, help_text="Goals and measures: move to this main theme of the plan."
    )


# ------------------------------------------------------------------ plan content


class ThemeTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ThemeTemplate
        fields = ["id", "code", "title"]


class ThemeSerializer(serializers.ModelSerializer):
    template = ThemeTemplateSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Theme
        fields = ["id", "title", "current_situation", "position", "template"]


class GoalSerializer(serializers.ModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "theme",
            "level",
            "text",
            "success_criterion",
            "evaluation_date",
            "status",
            "expressed_by",
            "position",
            "is_overdue",
        ]


class MeasureSerializer(serializers.ModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Measure
        fields = [
            "id",
            "theme",
            "goal",
            "description",
            "how",
            "responsible",
            "responsible_service",
            "scope",
            "start_date",
            "due_date",
            "status",
            "position",
            "is_overdue",
        ]


class CourseSerializer(serializers.ModelSerializer):
    is_closed = serializers.BooleanField(read_only=True)

    class Meta:
        model = TreatmentCourse
        fields = [
            "id",
            "kind",
            "provider",
            "referral_date",
            "start_date",
            "planned_end",
            "status",
            "end_date",
            "break_reason",
            "break_note",
            "is_closed",
        ]


class MemberSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    organisation = OrganisationSummarySerializer(read_only=True, allow_null=True)
    is_active = serializers.SerializerMethodField()
    covered_by_consent = serializers.SerializerMethodField(
        help_text="Whether a valid sharing consent covers this member today."
    )

    class Meta:
        model = Member
        fields = [
            "id",
            "user",
            "role",
            "organisation",
            "service",
            "contribution",
            "access",
            "active_from",
            "active_to",
            "is_active",
            "covered_by_consent",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_active(self, member: Member) -> bool:
        return member.is_active_on(timezone.localdate())

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_covered_by_consent(self, member: Member) -> bool:
        # Annotated by the member endpoints' queryset (one query for the whole list).
        covered = getattr(member, "sharing_consent_covers", None)
        return covering_consent_exists(member) if covered is None else covered


class ConsentSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    recorded_by = UserSummarySerializer(read_only=True)
    is_valid = serializers.SerializerMethodField(help_text="Given, not expired, not withdrawn.")

    class Meta:
        model = Consent
        fields = [
            "id",
            "kind",
            "members",
            "scope",
            "given_on",
            "expires_on",
            "withdrawn_at",
            "is_valid",
            "recorded_by",
            "recorded_at",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_valid(self, consent: Consent) -> bool:
        return consent.is_valid_on(timezone.localdate())


class ConsentCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Consent.Kind.choices)
    given_on = serializers.DateField()
    expires_on = serializers.DateField(required=False, allow_null=True)
    members = serializers.ListField(
        child=id_field(),
        required=False,
        max_length=500,
        help_text="Sharing consent: the members (ids) it covers.",
    )
    scope = text_field(required=False, allow_blank=True)


class ChangeSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    before = serializers.JSONField(read_only=True, allow_null=True)
    after = serializers.JSONField(read_only=True, allow_null=True)
    payload = serializers.JSONField(read_only=True)

    class Meta:
        model = Change
        fields = [
            "id",
            "revision",
            "op_id",
            "user",
            "at",
            "meeting",
            "via",
            "kind",
            "target_type",
            "target_id",
            "field",
            "before",
            "after",
            "payload",
            "base_revision",
        ]


class AccessLogSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = AccessLog
        fields = ["id", "user", "at", "via", "detail"]


# ------------------------------------------------------------------ meetings


class AgendaItemSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="theme.title", read_only=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "theme", "title", "position", "decision"]


class AttendeeSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Attendee
        fields = ["id", "user", "name", "role", "joined_at"]


class MeetingSerializer(serializers.ModelSerializer):
    items = AgendaItemSerializer(many=True, read_only=True)
    attendees = AttendeeSerializer(many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "scheduled_at",
            "place",
            "status",
            "items",
            "current_item",
            "attendees",
            "started_at",
            "start_revision",
            "closed_at",
            "end_revision",
            "next_meeting_at",
            "created_at",
        ]


class MeetingWriteSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()
    place = StrictCharField(max_length=300, required=False, allow_blank=True)
    agenda = serializers.ListField(
        child=id_field(),
        required=False,
        max_length=200,
        help_text="Theme ids in agenda order; default: all the plan's themes.",
    )


class MeetingCloseSerializer(serializers.Serializer):
    next_meeting_at = serializers.DateTimeField(required=False, allow_null=True)


class MeetingGotoSerializer(serializers.Serializer):
    item = id_field(allow_null=True, help_text="Agenda item id; null for between items.")


class DecisionSerializer(serializers.Serializer):
    item = id_field(help_text="Agenda item id of this meeting.")
    text = StrictCharField(max_length=500, allow_blank=True)


class AttendeeCreateSerializer(serializers.Serializer):
    user = id_field(required=False, allow_null=True, help_text="A member with an account, or…")
    name = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="…someone without one."
    )
    role = StrictCharField(max_length=200, required=False, allow_blank=True)
