"""The plan page costs the same SQL queries whatever the plan's size (at most 15), for
the coordinator and for a member (docs/performance.md, section 2)."""

import pytest

from .pages_support import client_for, fast_passwords, url  # noqa: F401
from .query_support import PERSONAS, assert_flat, grow, queries_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_plan_page_costs_the_same_queries_for_a_large_plan(request, plan, coordinator, persona):
    client = client_for(request.getfixturevalue(persona))
    page = url("detail", plan.pk)
    _, small = queries_for(client, page)
    grow(plan, coordinator)
    response, large = queries_for(client, page)
    html = response.content.decode()
    # The large plan is really on the page: 20 goals and 40 measures, less the deleted.
    assert html.count('<li class="goal') == 19
    assert html.count('<li class="measure') == 39
    assert_flat(small, large)
