"""The treatment-course form (create and edit on the plan).

Types and required fields are checked here, and the whole course is checked against
the course rules (ipplan.courses.rules, strict) so every problem shows next to its
field at once. Saving goes through ipplan.courses.services, which checks access and
the rules again inside the plan's transaction.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ipplan.plans.forms import EditForm, PlanTextField, date_field

from .models import TreatmentCourse
from .rules import course_problems

FIELDS = (
    "kind",
    "provider",
    "referral_date",
    "start_date",
    "planned_end",
    "status",
    "end_date",
    "break_reason",
    "break_note",
)


class CourseForm(EditForm):
    kind = forms.ChoiceField(
        label=_("Kind of treatment"),
        choices=[("", _("Choose…"))] + list(TreatmentCourse.Kind.choices),
        error_messages={"required": _("Choose the kind of treatment course.")},
    )
    provider = PlanTextField(
        label=_("Provider"),
        textarea=False,
        max_length=200,
        help_text=_("The institution or clinic, e.g. «Fjordvik DPS, TSB poliklinikk»."),
        error_messages={"required": _("Enter where the treatment takes place.")},
    )
    referral_date = date_field(_("Referred on"))
    start_date = date_field(
        _("Started on"),
        help_text=_("For a course that is only referred: the planned start, if known."),
    )
    planned_end = date_field(_("Planned end"))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=TreatmentCourse.Status.choices,
        initial=TreatmentCourse.Status.REFERRED,
    )
    end_date = date_field(_("Ended on"), help_text=_("For a completed or broken-off course only."))
    break_reason = forms.ChoiceField(
        label=_("Reason for the break-off"),
        choices=[("", _("(not broken off)"))] + list(TreatmentCourse.BreakReason.choices),
        required=False,
        help_text=_("Required when the course was broken off."),
    )
    break_note = PlanTextField(
        label=_("About the break-off"),
        required=False,
        rows=3,
        help_text=_("Short and factual: what happened, and what was agreed afterwards."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(name in self.errors for name in FIELDS):
            return data  # the type errors say enough; rules need every value
        course = TreatmentCourse(**{name: data.get(name) for name in FIELDS})
        course.break_reason = course.break_reason or ""
        course.break_note = course.break_note or ""
        seen: set[str] = set()
        for name, message in course_problems(course, strict=True):
            if name not in seen:  # one problem per field at a time is easier to act on
                seen.add(name)
                self.add_error(name, message)
        return data

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in FIELDS}
