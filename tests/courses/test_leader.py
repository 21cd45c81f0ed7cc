"""The unit leader sees aggregates only: the statistics page and its CSV, never a plan,
a person or anything that points to one."""

import re

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from ipplan.courses import statistics
from ipplan.courses.models import TreatmentCourse
from ipplan.plans.models import Change, Goal, Measure, Member
from tests.conftest import PASSWORD

from .conftest import days


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def courses(plan, people_plans, add_course):
    """Seven people who started TSB courses 100 days ago; Per's broke off early."""
    plans = [plan, *people_plans(6)]
    made = [add_course(p, start_date=days(-100), status="ongoing") for p in plans[1:]]
    made.append(
        add_course(
            plan,
            start_date=days(-100),
            planned_end=days(30),
            status="broken_off",
            end_date=days(-1),
            break_reason="self_discharge",
            break_note="Per skrev seg ut.",
        )
    )
    return made


def test_the_leader_sees_the_yearly_figures(client, leader, courses):
    login(client, leader)
    response = client.get(reverse("courses:statistics"))
    assert response.status_code == 200
    page = response.content.decode()
    year = str(days(-100).year)
    assert f'<th scope="row">{year}' in page
    assert re.search(
        r'<svg[^>]*role="img"[^>]*aria-labelledby="stats-chart-title stats-chart-desc"', page
    )
    assert '<title id="stats-chart-title">' in page and '<desc id="stats-chart-desc">' in page
    assert "<table" in page and "&lt;5" in page  # Per's break-off is one person: hidden


def test_the_statistics_show_no_names_ids_or_links_to_plans(client, leader, plan, courses):
    login(client, leader)
    page = client.get(reverse("courses:statistics")).content.decode()
    csv = client.get(reverse("courses:statistics_csv")).content.decode()
    for text in (page, csv):
        assert (
            "Per" + " Person" not in text and "Syntetisk" not in text and "Testperson" not in text
        )
        assert "skrev seg ut" not in text.lower() and "DPS Rus" not in text
        assert "/planer/" not in text
        assert f"course-{courses[0].pk}" not in text


def test_the_csv_download_has_the_same_suppressed_figures(client, leader, courses):
    login(client, leader)
    response = client.get(reverse("courses:statistics_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    assert body[1:] == statistics.to_csv(statistics.course_statistics())
    assert "<5" in body


@pytest.mark.parametrize("who", ["coordinator", "specialist", "person_user", "outsider"])
def test_everyone_else_is_refused_the_statistics(client, plan, who, request):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("courses:statistics")).status_code == 403
    assert client.get(reverse("courses:statistics_csv")).status_code == 403


def test_the_statistics_need_a_login(client):
    response = client.get(reverse("courses:statistics"))
    assert response.status_code == 302 and "next=" in response["Location"]


def test_the_leader_dashboard_links_to_the_statistics_only(client, leader, plan):
    login(client, leader)
    page = client.get(reverse("plans:dashboard")).content.decode()
    assert reverse("courses:statistics") in page
    assert "/planer/" not in page.replace(reverse("plans:list"), "")


# ------------------------------------------------- every plan URL answers 404


def _patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


PLAN_PARAMS = ("pk", "plan_id", "plan_pk")


def _plan_urls(plan, ids):
    """Every URL whose first parameter is a plan id, filled in with real ids of the plan."""
    urls = []
    for route, pattern in _patterns(get_resolver().url_patterns):
        params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        names = [a or b for a, b in params]
        if not names or names[0] not in PLAN_PARAMS or not re.search(r"planer/|plans/", route):
            continue
        kwargs = {names[0]: plan.pk}
        # The object named by the view ("goal_edit", "goal-detail") for a bare "pk".
        resource = re.split(r"[_-]", pattern.name or "")[0]
        for name in names[1:]:
            kwargs[name] = ids.get(name) or ids.get(resource, 1)
        for namespace in ("plans", "courses", "meetings", "records", "api"):
            try:
                urls.append(reverse(f"{namespace}:{pattern.name}", kwargs=kwargs))
                break
            except NoReverseMatch:  # not in this namespace
                continue
    return sorted(set(urls))


def test_the_leader_gets_404_on_every_plan_url(client, plan, leader, coordinator, add_course):
    course = add_course(plan)
    goal = Goal.objects.filter(plan=plan).first()
    ids = {
        "theme_pk": goal.theme_id,
        "goal_pk": goal.pk,
        "measure_pk": Measure.objects.get(plan=plan).pk,
        "member_pk": Member.objects.filter(plan=plan).first().pk,
        "course_pk": course.pk,
        "theme": goal.theme_id,
        "goal": goal.pk,
        "measure": Measure.objects.get(plan=plan).pk,
        "member": Member.objects.filter(plan=plan).first().pk,
        "course": course.pk,
        "obj_pk": goal.pk,
        "revision": plan.revision,
        "target": "goal",
        "target_id": goal.pk,
        "field": "text",
        "change": Change.objects.filter(plan=plan).first().pk,
    }
    urls = _plan_urls(plan, ids)
    assert len(urls) >= 20  # the plan pages, courses, history and API are all covered
    before = Change.objects.filter(plan=plan).count()
    login(client, leader)
    for url in urls:
        response = client.get(url)
        # Write-only endpoints answer GET with 405 whatever the plan; try what they allow.
        for method in (client.post, client.delete):
            if response.status_code == 405:
                response = method(url)
        assert response.status_code == 404, url
        assert "Per Person" not in response.content.decode(errors="replace"), url
    assert Change.objects.filter(plan=plan).count() == before
    assert TreatmentCourse.objects.alive().count() == 1
