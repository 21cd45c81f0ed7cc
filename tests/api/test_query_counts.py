"""The plan API answers in the same number of SQL queries whatever the plan's size
(at most 15), for the coordinator and for a member (docs/performance.md, section 2)."""

import pytest

from ipplan.plans.models import Member
from ipplan.plans.permissions import covering_consent_exists
from tests.plans.query_support import PERSONAS, assert_flat, grow, queries_for

from .conftest import url

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "plan-detail",
    "theme-list",
    "goal-list",
    "measure-list",
    "member-list",
    "change-list",
    "plan-fhir",
]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_member_list_costs_the_same_queries_for_a_large_group(
    request, as_user, plan, coordinator, persona
):
    client = as_user(request.getfixturevalue(persona))
    members = url("member-list", plan_pk=plan.pk)
    _, small = queries_for(client, members)
    grow(plan, coordinator)
    response, large = queries_for(client, members)
    covered = {m["id"]: m["covered_by_consent"] for m in response.json()["results"]}
    members = Member.objects.filter(plan=plan)
    assert len(covered) == members.count() == 8
    # The same answer as asking member by member (one new member is left uncovered).
    assert covered == {m.pk: covering_consent_exists(m) for m in members}
    assert list(covered.values()).count(True) == 5
    assert_flat(small, large)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_plan_endpoint_costs_the_same_queries_for_a_large_plan(
    request, as_user, plan, coordinator, persona
):
    client = as_user(request.getfixturevalue(persona))
    urls = {name: url(name, plan_pk=plan.pk) for name in ENDPOINTS}
    small = {name: queries_for(client, u)[1] for name, u in urls.items()}
    grow(plan, coordinator)
    for name, u in urls.items():
        try:
            assert_flat(small[name], queries_for(client, u)[1])
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
