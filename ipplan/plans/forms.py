"""Forms for the server-rendered pages.

The forms only check types and required fields; the domain rules (dates inside the
plan period, the responsible person must be an active member, ...) live in
ipplan.plans.services, which every save goes through. A refused operation comes back
as OperationError and `ServiceForm.add_operation_error` puts its message on the field
it names, so the person sees it next to what they typed.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipplan.accounts.models import Organisation

from .models import Consent, Goal, Measure, Member, Person, Plan
from .services import OperationError

# --------------------------------------------------------------------------- fields


class DateInput(forms.DateInput):
    """The browser's date picker; the value travels as ISO (YYYY-MM-DD)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def date_field(label: str, *, required: bool = False, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput(),
        help_text=help_text,
        error_messages={"invalid": _("Enter a valid date (DD.MM.YYYY).")},
    )


class PlanTextField(forms.CharField):
    """Text as the live editor stores it: line breaks as \\n, no silent trimming.

    Browsers send textarea line breaks as \\r\\n; storing them as-is would make every
    form save rewrite every line of the text (and confuse the live editor's offsets).
    Surrounding whitespace is kept so an unchanged field compares equal and writes
    nothing; a required field must still hold more than whitespace.
    """

    def __init__(self, *, textarea: bool = True, rows: int = 3, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        if textarea:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")

    def validate(self, value: str) -> None:
        super().validate(value)
        if self.required and not value.strip():
            raise ValidationError(self.error_messages["required"], code="required")


class LooseChoiceField(forms.ChoiceField):
    """A select whose value the service layer checks (e.g. 'responsible').

    The options list what is valid when the page was drawn; by the time the form is
    sent a member may have left. The service's message ("must be an active member")
    is clearer than a generic "not one of the choices", so only the type is checked
    here.
    """

    def validate(self, value: Any) -> None:
        if value in self.empty_values:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return
        try:
            int(value)
        except (TypeError, ValueError):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            ) from None

    def clean(self, value: Any) -> int | None:
        value = super().clean(value)
        return int(value) if value not in self.empty_values else None


# ---------------------------------------------------------------------------- bases


class ServiceForm(forms.Form):
    """Base for forms that save through ipplan.plans.services."""

    label_suffix = ""

    def add_operation_error(self, error: OperationError) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)


class EditForm(ServiceForm):
    """An edit form that sends only what the user changed, and notices when someone
    else (e.g. in a live meeting) changed the same field after the form was drawn.

    Each field carries its value as drawn in a hidden input (Django's
    show_hidden_initial), so `changed_data` means "changed by this user", not "differs
    from the database now"; `base_revision` is the plan revision when drawn.
    """

    base_revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, tracked: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A create form has nothing to compare with; it sends every field.
        for name, field in self.fields.items():
            if name != "base_revision":
                field.show_hidden_initial = tracked

    def user_changes(self) -> list[str]:
        return [name for name in self.changed_data if name != "base_revision"]


def member_label(member: Member) -> str:
    org = member.organisation.name if member.organisation_id else (member.service or "")
    name = member.user.display_name
    return f"{name} ({org})" if org else name


def active_members(plan: Plan, day: datetime.date | None = None) -> QuerySet[Member]:
    day = day or timezone.localdate()
    return (
        plan.members.filter(Q(active_to__isnull=True) | Q(active_to__gte=day), active_from__lte=day)
        .select_related("user", "organisation")
        .order_by("user__last_name", "user__first_name")
    )


# ----------------------------------------------------------------------------- plan


class PlanCreateForm(ServiceForm):
    NEW = "new"
    EXISTING = "existing"

    person_choice = forms.ChoiceField(
        label=_("Who is the plan for?"),
        choices=[(NEW, _("A new person")), (EXISTING, _("A person already registered"))],
        initial=NEW,
        widget=forms.RadioSelect,
    )
    existing_person = forms.ModelChoiceField(
        label=_("Registered person"),
        queryset=Person.objects.none(),
        required=False,
        help_text=_("Only people without a plan in use are listed."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    birth_date = date_field(_("Date of birth"))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), max_length=250, required=False)
    account = forms.CharField(
        label=_("The person's user name"),
        max_length=150,
        required=False,
        help_text=_("If the person has a user account, they can then read the plan themselves."),
    )
    period_start = date_field(_("Plan period from"), required=True)
    period_end = date_field(_("Plan period to"))
    next_evaluation = date_field(_("Next evaluation"))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Plan.Status.DRAFT, Plan.Status.DRAFT.label),
            (Plan.Status.ACTIVE, Plan.Status.ACTIVE.label),
        ],
        initial=Plan.Status.DRAFT,
    )
    what_matters = PlanTextField(
        label=Plan._meta.get_field("what_matters").verbose_name, required=False
    )

    def __init__(self, *args: Any, persons: QuerySet[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["existing_person"].queryset = persons
        self.fields["period_start"].initial = timezone.localdate()

    def clean_birth_date(self) -> datetime.date | None:
        day = self.cleaned_data.get("birth_date")
        if day and day > timezone.localdate():
            raise ValidationError(_("The date of birth cannot be in the future."))
        return day

    def clean_account(self) -> Any:
        username = self.cleaned_data.get("account", "").strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ValidationError(_("There is no active user with this user name."))
        if Person.objects.filter(user=user).exists():
            raise ValidationError(_("This user account already belongs to another person."))
        return user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("person_choice") == self.EXISTING:
            if not data.get("existing_person") and "existing_person" not in self.errors:
                self.add_error("existing_person", _("Choose the person."))
        elif data.get("person_choice") == self.NEW:
            required = {
                "first_name": _("Enter the person's first name."),
                "last_name": _("Enter the person's last name."),
                "birth_date": _("Enter the person's date of birth."),
            }
            for name, message in required.items():
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return data


class PlanForm(EditForm):
    """Plan-level fields. Period, status and coordinator are for the coordinator only;
    a closed plan shows only those (to reopen it)."""

    what_matters = PlanTextField(
        label=Plan._meta.get_field("what_matters").verbose_name, required=False, rows=4
    )
    resources = PlanTextField(
        label=Plan._meta.get_field("resources").verbose_name, required=False, rows=4
    )
    needs = PlanTextField(label=Plan._meta.get_field("needs").verbose_name, required=False, rows=4)
    cooperation = PlanTextField(
        label=Plan._meta.get_field("cooperation").verbose_name,
        help_text=Plan._meta.get_field("cooperation").help_text,
        required=False,
        rows=4,
    )
    next_evaluation = date_field(_("Next evaluation"))
    period_start = date_field(_("Plan period from"), required=True)
    period_end = date_field(_("Plan period to"))
    status = forms.ChoiceField(label=_("Status"), choices=Plan.Status.choices)
    coordinator = forms.ModelChoiceField(
        label=_("Coordinator"), queryset=get_user_model().objects.none()
    )

    CONTENT = ("what_matters", "resources", "needs", "cooperation", "next_evaluation")
    MANAGE = ("period_start", "period_end", "status", "coordinator")

    def __init__(self, *args: Any, can_edit: bool, can_manage: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if can_manage:
            # Coordinators are the people allowed to create plans; the current one
            # stays listed even if that permission was taken away since.
            users = get_user_model().objects
            coordinators = users.with_perm("plans.add_plan", include_superusers=False)
            ids = set(coordinators.filter(is_active=True).values_list("pk", flat=True))
            if self.initial.get("coordinator"):
                ids.add(self.initial["coordinator"])
            self.fields["coordinator"].queryset = users.filter(pk__in=ids).order_by(
                "last_name", "first_name"
            )
        else:
            for name in self.MANAGE:
                del self.fields[name]
        if not can_edit:
            for name in self.CONTENT:
                del self.fields[name]


# ------------------------------------------------------------------- themes, goals, …


class ThemeForm(EditForm):
    title = PlanTextField(label=_("Title"), textarea=False, max_length=200)
    current_situation = PlanTextField(
        label=_("Current situation"),
        required=False,
        rows=5,
        help_text=_("How things are now, in the person's own words where possible."),
    )


class GoalForm(EditForm):
    level = forms.ChoiceField(
        label=_("Level"),
        choices=Goal.Level.choices,
        initial=Goal.Level.MAIN,
        widget=forms.RadioSelect,
    )
    text = PlanTextField(
        label=_("Goal"),
        rows=3,
        help_text=_("Concrete and in the person's own words: what do you want to achieve?"),
        error_messages={"required": _("Write the goal.")},
    )
    success_criterion = PlanTextField(
        label=_("Success criterion"),
        rows=2,
        help_text=_("How will we know that the goal is reached?"),
        error_messages={
            "required": _("Write a success criterion: how will we know that the goal is reached?")
        },
    )
    evaluation_date = date_field(_("Evaluation date"), required=True)
    status = forms.ChoiceField(
        label=_("Status"), choices=Goal.Status.choices, initial=Goal.Status.NOT_STARTED
    )
    expressed_by = PlanTextField(
        label=_("Expressed by"),
        textarea=False,
        max_length=200,
        required=False,
        help_text=Goal._meta.get_field("expressed_by").help_text,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["evaluation_date"].error_messages["required"] = _("Choose an evaluation date.")


class MeasureForm(EditForm):
    description = PlanTextField(
        label=_("Measure (what)"), rows=3, error_messages={"required": _("Describe the measure.")}
    )
    how = PlanTextField(label=_("How"), required=False, rows=3)
    goal = LooseChoiceField(label=_("Linked to goal"), required=False)
    responsible = LooseChoiceField(
        label=_("Responsible"),
        required=False,
        help_text=_("Only active members of the responsible group can be responsible."),
    )
    responsible_service = PlanTextField(
        label=_("Responsible service"), textarea=False, max_length=200, required=False
    )
    scope = PlanTextField(
        label=_("Scope / frequency"), textarea=False, max_length=200, required=False
    )
    start_date = date_field(_("Start date"))
    due_date = date_field(_("Due date"))
    status = forms.ChoiceField(
        label=_("Status"), choices=Measure.Status.choices, initial=Measure.Status.PLANNED
    )

    def __init__(self, *args: Any, plan: Plan, theme_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        goals = Goal.objects.alive().filter(plan=plan, theme_id=theme_id).order_by("position", "pk")
        self.fields["goal"].choices = [("", _("(no goal)"))] + [
            (g.pk, f"{g.get_level_display()}: {g.text[:80]}") for g in goals
        ]
        self.fields["responsible"].choices = [("", _("(nobody named yet)"))] + [
            (m.pk, member_label(m)) for m in active_members(plan)
        ]


# -------------------------------------------------------------------------- members


def _user_label(user: Any) -> str:
    title = f", {user.title}" if user.title else ""
    return f"{user.display_name}{title}"


class MemberAddForm(ServiceForm):
    user = forms.ChoiceField(label=_("Person to add"), help_text=_("Grouped by organisation."))
    role = forms.ChoiceField(
        label=_("Role"), choices=Member.Role.choices, initial=Member.Role.SPECIALIST
    )
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.all(),
        required=False,
        help_text=_("Leave empty to use the user's own organisation."),
    )
    service = PlanTextField(label=_("Service"), textarea=False, max_length=200, required=False)
    contribution = PlanTextField(label=_("Contribution to the plan"), required=False)
    access = forms.ChoiceField(
        label=_("Access"), choices=Member.Access.choices, initial=Member.Access.COMMENT
    )
    active_from = date_field(_("Active from"), required=True)
    active_to = date_field(_("Active to"))

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["active_from"].initial = timezone.localdate()
        users = (
            get_user_model()
            .objects.filter(is_active=True, is_unit_leader=False, person__isnull=True)
            .exclude(pk__in=plan.members.values("user_id"))
            .select_related("organisation")
            .order_by("organisation__name", "last_name", "first_name")
        )
        groups: dict[str, list[tuple[int, str]]] = {}
        for user in users:
            org = user.organisation.name if user.organisation_id else str(_("No organisation"))
            groups.setdefault(org, []).append((user.pk, _user_label(user)))
        self.fields["user"].choices = [("", _("Choose a person"))] + list(groups.items())


class MemberEditForm(EditForm):
    role = forms.ChoiceField(label=_("Role"), choices=Member.Role.choices)
    service = PlanTextField(label=_("Service"), textarea=False, max_length=200, required=False)
    contribution = PlanTextField(label=_("Contribution to the plan"), required=False)
    access = forms.ChoiceField(label=_("Access"), choices=Member.Access.choices)
    active_from = date_field(_("Active from"), required=True)
    active_to = date_field(_("Active to"))


# -------------------------------------------------------------------------- consent


class ConsentForm(ServiceForm):
    kind = forms.ChoiceField(
        label=_("Kind of consent"), choices=Consent.Kind.choices, initial=Consent.Kind.SHARING
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Members covered"),
        queryset=Member.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For consent to sharing: the members who may receive information."),
    )
    scope = PlanTextField(
        label=_("Scope"), required=False, help_text=_("What may be shared, and for what purpose.")
    )
    given_on = date_field(_("Given on"), required=True)
    expires_on = date_field(_("Expires on"))

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["given_on"].initial = timezone.localdate()
        members = active_members(plan).exclude(role=Member.Role.PERSON)
        self.fields["members"].queryset = members
        self.fields["members"].label_from_instance = member_label

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("kind") == Consent.Kind.SHARING
            and not data.get("members")
            and "members" not in self.errors
        ):
            self.add_error("members", _("Choose the members the consent to sharing covers."))
        return data


class ConsentWithdrawForm(forms.Form):
    consent = forms.IntegerField(widget=forms.HiddenInput)


class MemberDeactivateForm(ServiceForm):
    active_to = date_field(_("Last day as member"), required=True)
