"""The history page costs the same SQL queries whatever the plan's size and history
(at most 15), for the coordinator and for a member (docs/performance.md, section 2)."""

import pytest
from django.urls import reverse

from ipplan.plans.models import Change
from tests.plans.pages_support import client_for, fast_passwords  # noqa: F401
from tests.plans.query_support import PERSONAS, assert_flat, grow, queries_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_history_page_costs_the_same_queries_for_a_long_history(
    request, plan, coordinator, persona
):
    client = client_for(request.getfixturevalue(persona))
    history = reverse("records:history", args=[plan.pk])
    _, small = queries_for(client, history)
    grow(plan, coordinator)
    assert Change.objects.filter(plan=plan).count() > 300
    _, large = queries_for(client, history)
    assert_flat(small, large)
    # An older page of a long history costs the same.
    _, older = queries_for(client, f"{history}?side=3")
    assert_flat(small, older)
