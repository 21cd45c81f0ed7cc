"""Small template helpers shared by the server-rendered pages.

{% form_field form.x %}    label, help text, errors and the widget, wired for screen
                           readers (aria-describedby / aria-invalid come from Django).
{% error_summary form %}   the list of problems at the top of a form, linking to fields.
{% status_badge obj %}     the status as text in a badge (never colour alone).
{% overdue_marker %}       "overdue" with an icon and text.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField, Form
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.inclusion_tag("plans/_field.html")
def form_field(field: BoundField, **options: Any) -> dict[str, Any]:
    return {"field": field, "hide_label": options.get("hide_label", False)}


@register.inclusion_tag("plans/_error_summary.html")
def error_summary(form: Form) -> dict[str, Any]:
    items = [(None, e) for e in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name == "__all__" or name not in form.fields:
            continue
        bound = form[name]
        target = bound.auto_id
        if bound.field.widget.use_fieldset:
            # Radio buttons and checkboxes: link to the first option.
            target = f"{bound.auto_id}_0"
        items.extend((target, f"{bound.label}: {e}") for e in errors)
    return {"items": items}


@register.simple_tag
def status_badge(obj: Any, field: str = "status") -> SafeString:
    value = getattr(obj, field)
    label = getattr(obj, f"get_{field}_display")()
    return format_html('<span class="badge badge--{}">{}</span>', value, label)


@register.simple_tag
def overdue_marker(label: str = "") -> SafeString:
    return format_html(
        '<span class="overdue"><span class="overdue__icon" aria-hidden="true">!</span> {}</span>',
        label or _("Overdue"),
    )


@register.filter
def is_overdue_on(day: Any, today: Any) -> bool:
    """`date|is_overdue_on:today` – for plan-level dates without a model property."""
    return day is not None and today is not None and day < today
