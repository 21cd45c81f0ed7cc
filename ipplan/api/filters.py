"""Query filters. Ids are plain integers compared within the plan (never a lookup that
could tell whether an id exists in another plan); invalid values get 400."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema_field

from ipplan.meetings.models import Meeting
from ipplan.plans.models import AccessLog, Change, Consent, Goal, Measure, Member, Plan
from ipplan.records.models import Comment

from .base import MAX_ID


class PresentMeansValue:
    """An absent query parameter means "no filter"; a present one must be a valid value,
    as the schema says (django-filter would silently ignore an empty or junk value)."""

    def clean(self, value: object) -> object:
        if value == "":
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return super().clean(value)


class IdField(PresentMeansValue, forms.IntegerField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


_JUNK = object()


class StrictBooleanWidget(BooleanWidget):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> object:
        raw = data.get(name)
        if raw is not None and str(raw).lower() not in {"true", "false", "1", "0"}:
            return _JUNK
        return super().value_from_datadict(data, files, name)


class StrictBooleanField(forms.NullBooleanField):
    """Only true/false (or 1/0); anything else is a 400, not "no filter"."""

    widget = StrictBooleanWidget

    def clean(self, value: object) -> object:
        if value is _JUNK:
            raise forms.ValidationError(self.error_messages["required"], code="invalid")
        return super().clean(value)


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["widget"] = StrictBooleanWidget
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    field_class = IdField


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_ID})
class RevisionFilter(filters.NumberFilter):
    field_class = type("RevisionField", (PresentMeansValue, forms.IntegerField), {})

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictChoiceField(PresentMeansValue, forms.ChoiceField):
    pass


class StrictChoiceFilter(filters.ChoiceFilter):
    field_class = StrictChoiceField


class PlanFilter(filters.FilterSet):
    status = StrictChoiceFilter(choices=Plan.Status.choices)
    coordinator = IdFilter(field_name="coordinator_id", help_text="Coordinator's user id.")
    mine = StrictBooleanFilter(method="filter_mine", help_text="true: only plans you coordinate.")

    class Meta:
        model = Plan
        fields = ["status", "coordinator", "mine"]

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        mine = Q(coordinator=self.request.user)
        return queryset.filter(mine) if value else queryset.exclude(mine)


def _active_q(day: object) -> Q:
    return Q(active_from__lte=day) & (Q(active_to__isnull=True) | Q(active_to__gte=day))


class MemberFilter(filters.FilterSet):
    role = StrictChoiceFilter(choices=Member.Role.choices)
    access = StrictChoiceFilter(choices=Member.Access.choices)
    active = StrictBooleanFilter(method="filter_active", help_text="Active today.")

    class Meta:
        model = Member
        fields = ["role", "access", "active"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        q = _active_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


class ConsentFilter(filters.FilterSet):
    kind = StrictChoiceFilter(choices=Consent.Kind.choices)
    valid = StrictBooleanFilter(method="filter_valid", help_text="Valid today.")

    class Meta:
        model = Consent
        fields = ["kind", "valid"]

    def filter_valid(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        q = Consent.valid_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


class GoalFilter(filters.FilterSet):
    theme = IdFilter(field_name="theme_id")
    level = StrictChoiceFilter(choices=Goal.Level.choices)
    status = StrictChoiceFilter(choices=Goal.Status.choices)

    class Meta:
        model = Goal
        fields = ["theme", "level", "status"]


class MeasureFilter(filters.FilterSet):
    theme = IdFilter(field_name="theme_id")
    goal = IdFilter(field_name="goal_id")
    responsible = IdFilter(field_name="responsible_id", help_text="Member id.")
    status = StrictChoiceFilter(choices=Measure.Status.choices)

    class Meta:
        model = Measure
        fields = ["theme", "goal", "responsible", "status"]


class ChangeFilter(filters.FilterSet):
    since = RevisionFilter(
        field_name="revision", lookup_expr="gt", help_text="Only revisions after this one."
    )
    meeting = IdFilter(field_name="meeting_id")
    user = IdFilter(field_name="user_id")
    target_type = filters.CharFilter(max_length=20)
    target_id = IdFilter()
    kind = StrictChoiceFilter(choices=Change.Kind.choices)

    class Meta:
        model = Change
        fields = ["since", "meeting", "user", "target_type", "target_id", "kind"]


class AccessLogFilter(filters.FilterSet):
    via = StrictChoiceFilter(choices=AccessLog.Via.choices)
    user = IdFilter(field_name="user_id")

    class Meta:
        model = AccessLog
        fields = ["via", "user"]


class MeetingFilter(filters.FilterSet):
    status = StrictChoiceFilter(choices=Meeting.Status.choices)

    class Meta:
        model = Meeting
        fields = ["status"]


class CommentFilter(filters.FilterSet):
    target_type = StrictChoiceFilter(choices=Comment.Target.choices)
    target_id = IdFilter()
    thread = IdFilter(method="filter_thread", help_text="A thread: its first comment and replies.")
    resolved = StrictBooleanFilter(
        method="filter_resolved", help_text="Threads (first comments) by resolved state."
    )

    class Meta:
        model = Comment
        fields = ["target_type", "target_id", "thread", "resolved"]

    def filter_thread(self, queryset: QuerySet, name: str, value: int | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(Q(pk=value) | Q(parent_id=value))

    def filter_resolved(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(parent__isnull=True, resolved_at__isnull=not value)
