"""What makes a treatment course consistent, in one place for the service and the form.

The service (ipplan.plans.services, via CHECKS["course"]) applies the *lenient* rules to
the course as it would be saved after each single operation. A form or a live client
changes one field per operation, so a rule there must be satisfiable one field at a
time: "completed needs an end date" works (set the end date, then the status), but
"only a closed course has an end date" on top would make ongoing -> completed
impossible in any order. That second kind of rule is *strict*: the course form checks
it on the whole submitted course, and the statistics ignore an end date or a break-off
reason on a course whose status does not call for one.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ipplan.plans.services import OperationError

from .models import TreatmentCourse

Problem = tuple[str, str]  # (field, message for people)

STARTED = {TreatmentCourse.Status.ONGOING, TreatmentCourse.Status.COMPLETED}
CLOSED = {TreatmentCourse.Status.COMPLETED, TreatmentCourse.Status.BROKEN_OFF}


def course_problems(
    course: TreatmentCourse, *, strict: bool = False, today: datetime.date | None = None
) -> list[Problem]:
    """Every rule the course breaks, in field order (empty when it is consistent)."""
    today = today or timezone.localdate()
    c = course
    problems: list[Problem] = []
    if c.kind not in TreatmentCourse.Kind.values:
        problems.append(("kind", _("Choose the kind of treatment course.")))
    if c.referral_date and c.referral_date > today:
        problems.append(("referral_date", _("The referral date cannot be in the future.")))
    if c.status in STARTED and not c.start_date:
        problems.append(("start_date", _("Enter the date the course started.")))
    if c.start_date and c.referral_date and c.start_date < c.referral_date:
        problems.append(("start_date", _("The course cannot start before it was referred.")))
    if c.start_date and c.start_date > today and c.status != TreatmentCourse.Status.REFERRED:
        problems.append(
            ("start_date", _("A course that has started cannot have a start date in the future."))
        )
    if c.planned_end and c.start_date and c.planned_end < c.start_date:
        problems.append(("planned_end", _("The planned end cannot be before the start.")))
    if c.status in CLOSED and not c.end_date:
        problems.append(("end_date", _("Enter the date the course ended.")))
    if c.end_date and c.end_date > today:
        problems.append(("end_date", _("The end date cannot be in the future.")))
    if c.end_date and c.start_date and c.end_date < c.start_date:
        problems.append(("end_date", _("The course cannot end before it started.")))
    elif c.end_date and c.referral_date and c.end_date < c.referral_date:
        problems.append(("end_date", _("The course cannot end before it was referred.")))
    if c.status == TreatmentCourse.Status.BROKEN_OFF and not c.break_reason:
        problems.append(("break_reason", _("Choose why the course was broken off.")))
    if c.break_reason and c.break_reason not in TreatmentCourse.BreakReason.values:
        problems.append(("break_reason", _("Choose a reason from the list.")))
    if strict:
        if c.end_date and c.status not in CLOSED:
            problems.append(
                (
                    "end_date",
                    _(
                        "Only a completed or broken-off course has an end date. "
                        "Clear the date or change the status."
                    ),
                )
            )
        if c.status != TreatmentCourse.Status.BROKEN_OFF:
            message = _(
                "Only a broken-off course has a reason for the break-off. "
                "Clear it or change the status to broken off."
            )
            if c.break_reason:
                problems.append(("break_reason", message))
            if (c.break_note or "").strip():
                problems.append(("break_note", message))
    return problems


def check_course(plan: object, course: TreatmentCourse) -> None:
    """services.CHECKS["course"]: refuse the operation on the first broken rule."""
    if course.break_reason is None:
        # A cleared choice arrives from the service as None; the column stores "".
        course.break_reason = ""
    problems = course_problems(course)
    if problems:
        field, message = problems[0]
        raise OperationError("invalid", message, field=field)
