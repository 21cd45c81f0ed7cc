"""manage.py course_statistics prints the same (suppressed) figures as the page."""

import io

import pytest
from django.core.management import CommandError, call_command

from ipplan.courses import statistics

from .conftest import days


@pytest.fixture
def courses(people_plans, add_course):
    plans = people_plans(6)
    for p in plans[:5]:
        add_course(p, start_date=days(-40), status="ongoing")
    add_course(plans[5], kind="lar", start_date=days(-40), status="ongoing")


def run(*args):
    out = io.StringIO()
    call_command("course_statistics", *args, stdout=out)
    return out.getvalue()


def test_the_csv_is_the_same_as_the_download(courses):
    assert run("--format", "csv") == statistics.to_csv(statistics.course_statistics())


def test_the_table_shows_the_suppressed_figures(courses):
    year = days(-40).year
    text = run("--year", str(year))
    lines = text.splitlines()
    assert lines[0].startswith("Year") and set(lines[1]) <= {"-", " "}
    total = next(line for line in lines[2:] if line.startswith(str(year)))
    assert total.split()[3] == "6"  # six people started
    lar = next(line for line in lines if "LAR" in line)
    assert "<5" in lar


def test_it_says_so_when_there_is_nothing_to_count(db):
    assert "No treatment courses" in run()


def test_it_refuses_a_day_in_the_future(db):
    with pytest.raises(CommandError):
        run("--today", days(3).isoformat())
