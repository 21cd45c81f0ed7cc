"""The demo courses: at least 20 over several years, real figures on the statistics
page, written through the services, and safe to load twice."""

import datetime
import json

import pytest

from ipplan.courses import statistics
from ipplan.courses.models import TreatmentCourse
from ipplan.courses.rules import course_problems
from ipplan.courses.seed import SEED_PATH, load_demo_courses
from ipplan.plans import services
from ipplan.plans.models import Change, Person, Plan

from .conftest import days


@pytest.fixture
def demo_plans(theme_templates, coordinator):
    """The three demo people of seeds/demo.json, under the keys a loader might use."""
    plans = {}
    for key, first, birth in [
        ("person-1", "Anders", datetime.date(1986, 9, 12)),
        ("camilla", "Camilla", datetime.date(1995, 2, 3)),
        ("robert", "Robert", datetime.date(1968, 11, 21)),
    ]:
        person = Person.objects.create(first_name=first, last_name="Demo", birth_date=birth)
        plans[key] = services.plan_create(
            person=person,
            coordinator=coordinator,
            created_by=coordinator,
            period_start=days(-120),
            status=Plan.Status.ACTIVE,
        )
    return plans


def test_the_seed_file_holds_at_least_20_consistent_courses_over_several_years():
    data = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    entries = data["courses"] + [c for person in data["cohort"] for c in person["courses"]]
    assert len(entries) >= 20
    today = datetime.date(2026, 11, 24)
    starts = {(today + datetime.timedelta(days=e["start"])).year for e in entries if "start" in e}
    assert len(starts) >= 4
    for entry in entries:
        course = TreatmentCourse(
            kind=entry["kind"],
            provider=entry["provider"],
            status=entry["status"],
            break_reason=entry.get("break_reason", ""),
            break_note=entry.get("break_note", ""),
            **{
                field: today + datetime.timedelta(days=entry[key]) if key in entry else None
                for key, field in [
                    ("referral", "referral_date"),
                    ("start", "start_date"),
                    ("planned_end", "planned_end"),
                    ("end", "end_date"),
                ]
            },
        )
        assert course_problems(course, strict=True, today=today) == [], entry


def test_loading_the_demo_courses_gives_the_leader_real_figures(demo_plans, coordinator):
    created = load_demo_courses(plans=demo_plans, user=coordinator)
    assert created >= 20 and TreatmentCourse.objects.alive().count() == created
    # The demo people got theirs, matched by first name when the key differs.
    assert TreatmentCourse.objects.filter(plan=demo_plans["person-1"]).count() == 4
    assert TreatmentCourse.objects.filter(plan=demo_plans["robert"], kind="lar").exists()
    # Every course is in a change log, attributed to a coordinator.
    assert Change.objects.filter(target_type="course", kind="create").count() == created
    assert Plan.objects.filter(status=Plan.Status.CLOSED).exists()
    stats = statistics.course_statistics()
    assert len(stats.years) >= 4
    shown = [c.value for y in stats.years for c in y.total.ordered if c.value and c.value >= 5]
    assert len(shown) >= 6
    assert any(y.total.rate.percent is not None for y in stats.years)


def test_loading_twice_adds_nothing(demo_plans, coordinator):
    first = load_demo_courses(plans=demo_plans, user=coordinator)
    plans = Plan.objects.count()
    assert load_demo_courses(plans=demo_plans, user=coordinator) == 0
    assert TreatmentCourse.objects.count() == first and Plan.objects.count() == plans


def test_people_not_passed_are_skipped(demo_plans, coordinator):
    only_camilla = {"camilla": demo_plans["camilla"]}
    load_demo_courses(plans=only_camilla, user=coordinator, cohort=False)
    assert set(TreatmentCourse.objects.values_list("plan", flat=True)) == {demo_plans["camilla"].pk}
