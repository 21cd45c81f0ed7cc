"""Yearly treatment-course statistics for the unit leader, with small cells suppressed.

Pure functions over `CourseFact`s (plus one loader from the database), shared by the
statistics page, its CSV download and `manage.py course_statistics`, so all three show
the same figures. The definitions (docs/course-statistics.md):

- *started in Y*: start date in Y (a course still only referred has not started);
- *completed in Y*: status completed, end date in Y;
- *broken off in Y*: status broken off, end date in Y, before the planned end (or no
  planned end was set);
- *ongoing at the end of Y*: started on or before 31 December of Y (today, for the
  current year), not referred, and either still ongoing or ended after that day;
- *completion rate*: completed / (completed + broken off) in Y.

Every cell counts *people*, not courses: a person with two courses in the same cell
counts once. A person's age group is their age on the course's start date (the end or
referral date for a course broken off before it started).

Suppression, so that no one can be singled out:
- a cell of 1-4 people shows "<5" (0 is shown: it identifies no one);
- secondary: in a breakdown (by kind, by age group) the column total is shown in the
  yearly table. If exactly one cell of a column is hidden, the smallest other non-zero
  cell of that column is hidden too ("x"), so the hidden one cannot be found by
  subtracting the others from the total;
- a rate is hidden when either of its counts is hidden.
No figure here carries a name, a plan or a person id; `CourseFact.person` is used only
to count distinct people and never leaves this module.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import TreatmentCourse

MIN_CELL = 5  # cells with fewer people than this (and more than none) are hidden
METRICS = ("started", "completed", "broken_off", "ongoing")
METRIC_LABELS: dict[str, Promise] = {
    "started": _("Started"),
    "completed": _("Completed"),
    "broken_off": _("Broken off before planned end"),
    "ongoing": _("Ongoing at year end"),
}
AGE_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("under_16", 0, 15),
    ("16_24", 16, 24),
    ("25_34", 25, 34),
    ("35_49", 35, 49),
    ("50_plus", 50, None),
)
AGE_LABELS: dict[str, Promise | str] = {
    "under_16": _("Under 16"),
    "16_24": "16–24",
    "25_34": "25–34",
    "35_49": "35–49",
    "50_plus": "50+",
}
SMALL = "small"  # hidden: 1-4 people
SECONDARY = "secondary"  # hidden so that a small cell cannot be worked out
NOT_APPLICABLE = "n/a"  # a rate with nothing to divide by

Status = TreatmentCourse.Status


@dataclass(frozen=True)
class CourseFact:
    """One course as the statistics need it. `person` only tells people apart."""

    person: int
    birth_date: datetime.date
    kind: str
    status: str
    referral_date: datetime.date | None = None
    start_date: datetime.date | None = None
    planned_end: datetime.date | None = None
    end_date: datetime.date | None = None


@dataclass(frozen=True)
class Cell:
    """A count as shown: `value` is None whenever the count is hidden."""

    value: int | None
    hidden: str = ""

    def __str__(self) -> str:
        if self.hidden == SMALL:
            return f"<{MIN_CELL}"
        if self.hidden == SECONDARY:
            return "x"
        return str(self.value)


@dataclass(frozen=True)
class Rate:
    """A percentage as shown: `percent` is None when hidden or not applicable."""

    percent: int | None
    hidden: str = ""

    def __str__(self) -> str:
        if self.hidden == NOT_APPLICABLE:
            return "–"
        if self.hidden:
            return "x"
        return f"{self.percent} %"


@dataclass
class Row:
    key: str
    label: Promise | str
    cells: dict[str, Cell]
    rate: Rate = field(default_factory=lambda: Rate(None, NOT_APPLICABLE))

    @property
    def ordered(self) -> list[Cell]:
        """The cells in METRICS order (for tables)."""
        return [self.cells[m] for m in METRICS]


@dataclass
class YearStats:
    year: int
    cutoff: datetime.date  # the day "ongoing" is measured on: 31 Dec, or today this year
    total: Row
    by_kind: list[Row]
    by_age: list[Row]

    @property
    def is_current(self) -> bool:
        return self.cutoff.year == self.year and self.cutoff != datetime.date(self.year, 12, 31)


@dataclass
class Statistics:
    today: datetime.date
    years: list[YearStats]

    def year(self, year: int) -> YearStats | None:
        return next((y for y in self.years if y.year == year), None)


# ------------------------------------------------------------------- classification


def age_on(birth: datetime.date, day: datetime.date) -> int:
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def age_group(birth: datetime.date, day: datetime.date) -> str:
    age = age_on(birth, day)
    for key, low, high in AGE_GROUPS:
        if age >= low and (high is None or age <= high):
            return key
    return AGE_GROUPS[0][0]  # a date before birth is bad data; keep it countable


def _age_day(fact: CourseFact) -> datetime.date | None:
    return fact.start_date or fact.end_date or fact.referral_date


def _closed(fact: CourseFact) -> bool:
    return fact.status in {Status.COMPLETED, Status.BROKEN_OFF} and fact.end_date is not None


def counts_in(fact: CourseFact, metric: str, year: int, cutoff: datetime.date) -> bool:
    """Whether the course belongs to the metric's cell for the year."""
    if metric == "started":
        return (
            fact.status != Status.REFERRED
            and fact.start_date is not None
            and fact.start_date.year == year
        )
    if metric == "completed":
        return fact.status == Status.COMPLETED and _closed(fact) and fact.end_date.year == year
    if metric == "broken_off":
        return (
            fact.status == Status.BROKEN_OFF
            and _closed(fact)
            and fact.end_date.year == year
            and (fact.planned_end is None or fact.end_date < fact.planned_end)
        )
    if metric == "ongoing":
        if fact.status == Status.REFERRED or fact.start_date is None:
            return False
        if fact.start_date > cutoff:
            return False
        if fact.status == Status.ONGOING:
            return True  # an end date on an ongoing course is ignored (not a closed course)
        return _closed(fact) and fact.end_date > cutoff
    raise ValueError(metric)


# ---------------------------------------------------------------------- suppression


def suppress(count: int) -> Cell:
    if 0 < count < MIN_CELL:
        return Cell(None, SMALL)
    return Cell(count)


def _secondary(rows: list[Row], totals: Row) -> None:
    """Hide a second cell in every column where exactly one cell is hidden while the
    column's total is shown, so the hidden cell cannot be found by subtraction."""
    for metric in METRICS:
        if totals.cells[metric].hidden:
            continue
        hidden = [row for row in rows if row.cells[metric].hidden]
        if len(hidden) != 1:
            continue
        shown = [row for row in rows if not row.cells[metric].hidden and row.cells[metric].value]
        if shown:
            smallest = min(shown, key=lambda row: row.cells[metric].value)
            smallest.cells[metric] = Cell(None, SECONDARY)


def _rate(cells: dict[str, Cell]) -> Rate:
    completed, broken = cells["completed"], cells["broken_off"]
    if completed.hidden or broken.hidden:
        return Rate(None, completed.hidden or broken.hidden)
    if not completed.value and not broken.value:
        return Rate(None, NOT_APPLICABLE)
    return Rate(round(100 * completed.value / (completed.value + broken.value)))


# -------------------------------------------------------------------------- compute


def _people(facts: Iterable[CourseFact]) -> int:
    return len({fact.person for fact in facts})


def _row(key: str, label: Promise | str, cell_facts: dict[str, list[CourseFact]]) -> Row:
    return Row(key, label, {m: suppress(_people(cell_facts[m])) for m in METRICS})


def year_stats(facts: Sequence[CourseFact], year: int, today: datetime.date) -> YearStats:
    cutoff = min(datetime.date(year, 12, 31), today)
    in_cell = {m: [f for f in facts if counts_in(f, m, year, cutoff)] for m in METRICS}
    total = _row("all", _("All"), in_cell)
    by_kind = [
        _row(kind, label, {m: [f for f in in_cell[m] if f.kind == kind] for m in METRICS})
        for kind, label in TreatmentCourse.Kind.choices
    ]

    def in_group(fact: CourseFact, key: str) -> bool:
        day = _age_day(fact)
        return day is not None and age_group(fact.birth_date, day) == key

    by_age = [
        _row(
            key, AGE_LABELS[key], {m: [f for f in in_cell[m] if in_group(f, key)] for m in METRICS}
        )
        for key, _low, _high in AGE_GROUPS
    ]
    _secondary(by_kind, total)
    _secondary(by_age, total)
    for row in [total, *by_kind, *by_age]:
        row.rate = _rate(row.cells)
    return YearStats(year, cutoff, total, by_kind, by_age)


def data_years(facts: Iterable[CourseFact], today: datetime.date) -> list[int]:
    """From the first year any course started or ended up to this year."""
    years = [day.year for f in facts for day in (f.start_date, f.end_date) if day and day <= today]
    if not years:
        return []
    return list(range(min(years), today.year + 1))


def compute(
    facts: Iterable[CourseFact],
    *,
    today: datetime.date,
    years: Sequence[int] | None = None,
) -> Statistics:
    facts = list(facts)
    chosen = data_years(facts, today) if years is None else [y for y in years if y <= today.year]
    return Statistics(today, [year_stats(facts, year, today) for year in sorted(chosen)])


# --------------------------------------------------------------------- data access


def load_facts() -> list[CourseFact]:
    """Every course not deleted, in every plan of the municipality (open or closed)."""
    rows = TreatmentCourse.objects.alive().values_list(
        "plan__person_id",
        "plan__person__birth_date",
        "kind",
        "status",
        "referral_date",
        "start_date",
        "planned_end",
        "end_date",
    )
    return [CourseFact(*row) for row in rows]


def course_statistics(
    *, today: datetime.date | None = None, years: Sequence[int] | None = None
) -> Statistics:
    return compute(load_facts(), today=today or timezone.localdate(), years=years)


# ----------------------------------------------------------------------------- CSV


def table_rows(stats: Statistics) -> list[list[str]]:
    """Header and one row per year and group, figures as shown (suppressed)."""
    header = [
        str(_("Year")),
        str(_("Breakdown")),
        str(_("Group")),
        *(str(METRIC_LABELS[m]) for m in METRICS),
        str(_("Completion rate")),
    ]
    rows = [header]
    breakdowns = (("total", _("Total")), ("kind", _("Kind")), ("age", _("Age group")))
    for year in stats.years:
        groups = {"total": [year.total], "kind": year.by_kind, "age": year.by_age}
        for key, label in breakdowns:
            for row in groups[key]:
                rows.append(
                    [
                        str(year.year),
                        str(label),
                        str(row.label),
                        *(str(row.cells[m]) for m in METRICS),
                        str(row.rate),
                    ]
                )
    return rows


def to_csv(stats: Statistics) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(table_rows(stats))
    return out.getvalue()
