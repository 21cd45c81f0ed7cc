"""The statistics from known data: definitions, year boundaries, people not courses,
age groups and the suppression rules (pure functions, no database)."""

import datetime

from ipplan.courses.chart import bar_chart
from ipplan.courses.statistics import (
    SECONDARY,
    SMALL,
    CourseFact,
    age_group,
    compute,
    to_csv,
    year_stats,
)

D = datetime.date
TODAY = D(2026, 6, 30)
BORN = D(1980, 3, 1)


def fact(person, kind="tsb_outpatient", status="ongoing", *, born=BORN, **dates):
    return CourseFact(person=person, birth_date=born, kind=kind, status=status, **dates)


def completed(person, start, end, **extra):
    return fact(person, status="completed", start_date=start, end_date=end, **extra)


def broken(person, start, end, planned_end=None, **extra):
    return fact(
        person,
        status="broken_off",
        start_date=start,
        end_date=end,
        planned_end=planned_end,
        **extra,
    )


def cells(stats_year, row="total"):
    target = stats_year.total if row == "total" else row
    return {metric: str(cell) for metric, cell in target.cells.items()}


def test_a_course_started_on_new_years_eve_counts_in_that_year_only():
    facts = [fact(p, start_date=D(2024, 12, 31)) for p in range(5)]
    assert year_stats(facts, 2024, TODAY).total.cells["started"].value == 5
    assert year_stats(facts, 2025, TODAY).total.cells["started"].value == 0


def test_completion_and_break_off_count_in_the_year_of_the_end_date():
    facts = [completed(p, D(2024, 11, 1), D(2025, 1, 1)) for p in range(5)]
    facts += [broken(p, D(2024, 11, 1), D(2024, 12, 31)) for p in range(10, 15)]
    y2024, y2025 = year_stats(facts, 2024, TODAY), year_stats(facts, 2025, TODAY)
    assert (y2024.total.cells["completed"].value, y2024.total.cells["broken_off"].value) == (0, 5)
    assert (y2025.total.cells["completed"].value, y2025.total.cells["broken_off"].value) == (5, 0)


def test_ongoing_at_year_end_means_not_ended_by_31_december():
    facts = [completed(p, D(2024, 3, 1), D(2025, 1, 1)) for p in range(5)]  # ongoing over new year
    facts += [completed(p, D(2024, 3, 1), D(2024, 12, 31)) for p in range(10, 15)]  # ended that day
    facts += [fact(p, start_date=D(2024, 3, 1)) for p in range(20, 25)]  # still ongoing
    y2024 = year_stats(facts, 2024, TODAY)
    assert y2024.total.cells["ongoing"].value == 10
    assert year_stats(facts, 2025, TODAY).total.cells["ongoing"].value == 5


def test_the_current_year_counts_ongoing_as_of_today():
    facts = [fact(p, start_date=D(2026, 2, 1)) for p in range(6)]
    current = year_stats(facts, 2026, TODAY)
    assert current.cutoff == TODAY and current.is_current
    assert current.total.cells["ongoing"].value == 6


def test_a_referred_course_has_not_started_and_is_not_ongoing():
    facts = [
        fact(p, status="referred", referral_date=D(2025, 1, 5), start_date=D(2025, 2, 1))
        for p in range(6)
    ]
    y = year_stats(facts, 2025, TODAY)
    assert y.total.cells["started"].value == 0 and y.total.cells["ongoing"].value == 0


def test_only_a_break_off_before_the_planned_end_counts_as_broken_off():
    early = [broken(p, D(2025, 1, 1), D(2025, 3, 1), planned_end=D(2025, 6, 1)) for p in range(5)]
    unplanned = [broken(p, D(2025, 1, 1), D(2025, 3, 1)) for p in range(10, 12)]
    late = [
        broken(p, D(2025, 1, 1), D(2025, 7, 1), planned_end=D(2025, 6, 1)) for p in range(20, 26)
    ]
    y = year_stats(early + unplanned + late, 2025, TODAY)
    assert y.total.cells["broken_off"].value == 7


def test_it_counts_people_not_courses():
    # Five people; one of them started three courses in 2025.
    facts = [fact(p, start_date=D(2025, 2, 1)) for p in range(5)]
    facts += [
        fact(0, "lar", start_date=D(2025, 5, 1)),
        fact(0, "tsb_inpatient", start_date=D(2025, 9, 1)),
    ]
    y = year_stats(facts, 2025, TODAY)
    assert y.total.cells["started"].value == 5
    assert str(y.by_kind[0].cells["started"]) == "<5"  # TSB inpatient: person 0 only


def test_cells_of_one_to_four_people_are_hidden_and_zero_is_shown():
    facts = [fact(p, start_date=D(2025, 2, 1)) for p in range(4)]
    y = year_stats(facts, 2025, TODAY)
    started = y.total.cells["started"]
    assert started.value is None and started.hidden == SMALL and str(started) == "<5"
    assert str(y.total.cells["completed"]) == "0"
    assert (
        str(
            year_stats(facts + [fact(9, start_date=D(2025, 3, 1))], 2025, TODAY).total.cells[
                "started"
            ]
        )
        == "5"
    )


def test_a_lone_hidden_cell_takes_another_with_it_so_the_total_cannot_reveal_it():
    facts = [fact(p, "tsb_inpatient", start_date=D(2025, 2, 1)) for p in range(6)]
    facts += [fact(p, "lar", start_date=D(2025, 2, 1)) for p in range(10, 13)]
    facts += [fact(p, "mh_outpatient", start_date=D(2025, 2, 1)) for p in range(20, 27)]
    y = year_stats(facts, 2025, TODAY)
    by_kind = {row.key: row.cells["started"] for row in y.by_kind}
    assert str(y.total.cells["started"]) == "16"
    assert by_kind["lar"].hidden == SMALL
    # The smallest other cell (6, TSB inpatient) is hidden too; 7 stays.
    assert by_kind["tsb_inpatient"].hidden == SECONDARY and by_kind["tsb_inpatient"].value is None
    assert by_kind["mh_outpatient"].value == 7
    assert str(by_kind["tsb_inpatient"]) == "x"


def test_two_hidden_cells_need_no_secondary_suppression():
    facts = [fact(p, "tsb_inpatient", start_date=D(2025, 2, 1)) for p in range(6)]
    facts += [fact(p, "lar", start_date=D(2025, 2, 1)) for p in range(10, 13)]
    facts += [fact(p, "other", start_date=D(2025, 2, 1)) for p in range(20, 22)]
    by_kind = {row.key: row.cells["started"] for row in year_stats(facts, 2025, TODAY).by_kind}
    assert by_kind["tsb_inpatient"].value == 6
    assert by_kind["lar"].hidden == by_kind["other"].hidden == SMALL


def test_no_secondary_suppression_when_the_total_itself_is_hidden():
    facts = [fact(p, "lar", start_date=D(2025, 2, 1)) for p in range(3)]
    y = year_stats(facts, 2025, TODAY)
    assert str(y.total.cells["started"]) == "<5"
    assert [str(row.cells["started"]) for row in y.by_kind].count("x") == 0


def test_the_age_group_is_the_age_when_the_course_started():
    assert age_group(D(2000, 6, 15), D(2025, 6, 14)) == "16_24"
    assert age_group(D(2000, 6, 15), D(2025, 6, 15)) == "25_34"
    assert age_group(D(1975, 1, 1), D(2025, 1, 1)) == "50_plus"
    assert age_group(D(1975, 1, 2), D(2025, 1, 1)) == "35_49"
    born = D(2000, 6, 15)
    facts = [fact(p, born=born, start_date=D(2025, 6, 14)) for p in range(5)]
    y = year_stats(facts, 2025, TODAY)
    by_age = {row.key: str(row.cells["started"]) for row in y.by_age}
    assert by_age == {"under_16": "0", "16_24": "5", "25_34": "0", "35_49": "0", "50_plus": "0"}


def test_the_completion_rate_is_hidden_when_either_count_is():
    facts = [completed(p, D(2025, 1, 1), D(2025, 5, 1)) for p in range(6)]
    facts += [broken(p, D(2025, 1, 1), D(2025, 2, 1)) for p in range(10, 12)]
    assert str(year_stats(facts, 2025, TODAY).total.rate) == "x"
    facts += [broken(p, D(2025, 1, 1), D(2025, 2, 1)) for p in range(12, 16)]
    rate = year_stats(facts, 2025, TODAY).total.rate
    assert rate.percent == 50 and str(rate) == "50 %"


def test_the_rate_has_nothing_to_show_without_ended_courses():
    facts = [fact(p, start_date=D(2025, 1, 1)) for p in range(5)]
    assert str(year_stats(facts, 2025, TODAY).total.rate) == "–"


def test_years_run_from_the_first_start_or_end_to_this_year():
    facts = [completed(1, D(2022, 12, 1), D(2023, 2, 1))]
    assert [y.year for y in compute(facts, today=TODAY).years] == [2022, 2023, 2024, 2025, 2026]
    assert compute([], today=TODAY).years == []
    assert [y.year for y in compute(facts, today=TODAY, years=[2025, 2030]).years] == [2025]


def test_the_csv_holds_the_suppressed_figures_only():
    facts = [fact(p, "tsb_inpatient", start_date=D(2025, 2, 1)) for p in range(6)]
    facts += [fact(p, "lar", start_date=D(2025, 2, 1)) for p in range(10, 13)]
    text = to_csv(compute(facts, today=TODAY, years=[2025]))
    lines = text.strip().split("\r\n")
    assert len(lines) == 1 + 1 + 6 + 5  # header, total, kinds, age groups
    assert lines[1].startswith("2025,") and ",9," in lines[1]
    lar = next(line for line in lines if ",LAR," in line)
    assert lar.split(",")[3] == "<5"
    tsb = next(line for line in lines if line.split(",")[2] in {"TSB døgn", "TSB inpatient"})
    assert tsb.split(",")[3] == "x"  # secondary: 6 would reveal LAR = 9 - 6


def test_the_chart_draws_no_bar_for_a_hidden_figure():
    facts = [fact(p, start_date=D(2025, 2, 1)) for p in range(3)]
    facts += [completed(p, D(2024, 10, 1), D(2025, 5, 1)) for p in range(10, 20)]
    chart = bar_chart(compute(facts, today=TODAY, years=[2025]))
    bars = {bar.metric: bar for bar in chart.bars}
    assert bars["started"].hidden and bars["started"].height == 0 and bars["started"].text == "<5"
    assert not bars["completed"].hidden and bars["completed"].height > 0
    assert bar_chart(compute([], today=TODAY)) is None
