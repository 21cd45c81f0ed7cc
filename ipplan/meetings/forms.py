"""Forms for the meeting pages.

As with the plan forms, these only check types and required fields; the rules
(coordinator only, one meeting in progress per plan, agenda themes belong to the
plan, ...) live in ipplan.meetings.services, and a refused call comes back as
OperationError, which `add_operation_error` puts next to the field it names.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipplan.plans.models import Theme
from ipplan.plans.services import OperationError

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker (value as YYYY-MM-DDTHH:MM, local time)."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def datetime_field(
    label: str, *, required: bool = True, help_text: str = ""
) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=DateTimeLocalInput(),
        # The picker sends ISO; people typing by hand in older browsers write Norwegian.
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y kl. %H:%M"],
        error_messages={"invalid": _("Enter a valid date and time (DD.MM.YYYY HH:MM).")},
    )


class ServiceErrorsMixin:
    """Show a service's refusal next to the field it concerns (or on top of the form)."""

    def add_operation_error(self, error: OperationError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, error.message)  # type: ignore[attr-defined]


class MeetingForm(ServiceErrorsMixin, forms.Form):
    """Schedule (or reschedule) a meeting: when, where, and the agenda.

    The agenda is an ordered subset of the plan's themes. Each theme gets a checkbox
    ("on the agenda") and a number ("order"), so the order can be set with a keyboard
    and without scripts; ties keep the plan's order.
    """

    scheduled_at = datetime_field(_("Date and time"))
    place = forms.CharField(
        label=_("Place or video link"),
        max_length=300,
        required=False,
        help_text=_("For example a meeting room, an address or a link to a video meeting."),
    )

    def __init__(
        self,
        *args: Any,
        themes: Sequence[Theme],
        agenda: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.themes = list(themes)
        chosen = list(agenda) if agenda is not None else [t.pk for t in self.themes]
        rest = [t.pk for t in self.themes if t.pk not in chosen]
        order = {pk: index + 1 for index, pk in enumerate(chosen + rest)}
        for theme in self.themes:
            self.fields[f"theme_{theme.pk}"] = forms.BooleanField(
                label=theme.title, required=False, initial=theme.pk in chosen
            )
            self.fields[f"order_{theme.pk}"] = forms.IntegerField(
                label=_("Order for %(theme)s") % {"theme": theme.title},
                min_value=1,
                max_value=999,
                initial=order[theme.pk],
                required=False,
                widget=forms.NumberInput(attrs={"class": "order-input", "inputmode": "numeric"}),
            )

    def theme_rows(self) -> list[dict[str, Any]]:
        """One row per theme for the template: the checkbox and its order field."""
        return [
            {
                "theme": theme,
                "include": self[f"theme_{theme.pk}"],
                "order": self[f"order_{theme.pk}"],
            }
            for theme in self.themes
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        picked = []
        for index, theme in enumerate(self.themes):
            if data.get(f"theme_{theme.pk}"):
                order = data.get(f"order_{theme.pk}") or (len(self.themes) + index + 1)
                picked.append((order, index, theme.pk))
        if not picked:
            raise forms.ValidationError(_("Choose at least one theme for the agenda."))
        data["agenda"] = [pk for _order, _index, pk in sorted(picked)]
        return data


class AttendeeForm(ServiceErrorsMixin, forms.Form):
    """Someone present without an account (e.g. next of kin, an interpreter)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    role = forms.CharField(
        label=_("Role"),
        max_length=200,
        required=False,
        help_text=_("For example next of kin, interpreter or the service they represent."),
    )


class DecisionForm(ServiceErrorsMixin, forms.Form):
    decision = forms.CharField(
        label=_("Decision"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CloseForm(ServiceErrorsMixin, forms.Form):
    next_meeting_at = datetime_field(
        _("Next meeting"),
        required=False,
        help_text=_("Optional. You can schedule the next meeting afterwards."),
    )

    def clean_next_meeting_at(self) -> datetime.datetime | None:
        value = self.cleaned_data.get("next_meeting_at")
        if value is not None and value < timezone.now():
            raise forms.ValidationError(_("The next meeting must be in the future."))
        return value
