"""Helpers for the treatment-course tests: courses written through the services, and
more people with plans (the statistics need several people per cell)."""

import datetime
from collections.abc import Callable

import pytest

from ipplan.courses.models import TreatmentCourse
from ipplan.courses.services import course_create
from ipplan.plans import services
from ipplan.plans.models import Person, Plan

TODAY = datetime.date.today()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def add_course(coordinator) -> Callable[..., TreatmentCourse]:
    def add(plan: Plan, **values) -> TreatmentCourse:
        values.setdefault("kind", TreatmentCourse.Kind.TSB_OUTPATIENT)
        values.setdefault("provider", "DPS Rus og avhengighet")
        return course_create(plan_id=plan.pk, user=coordinator, values=values)

    return add


@pytest.fixture
def people_plans(theme_templates, coordinator) -> Callable[[int], list[Plan]]:
    """n more people, each with an active plan coordinated by Kari."""

    def make(n: int, *, birth_date: datetime.date = datetime.date(1980, 3, 1)) -> list[Plan]:
        plans = []
        for index in range(n):
            person = Person.objects.create(
                first_name=f"Syntetisk{index}", last_name="Testperson", birth_date=birth_date
            )
            plans.append(
                services.plan_create(
                    person=person,
                    coordinator=coordinator,
                    created_by=coordinator,
                    period_start=days(-30),
                    status=Plan.Status.ACTIVE,
                )
            )
        return plans

    return make
