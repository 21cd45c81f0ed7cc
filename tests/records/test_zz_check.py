import pytest, re
from django.urls import reverse
from .conftest import apply, client_for
from .test_phone_layout import LONG_WORD, overflow_at_375
pytestmark = [pytest.mark.django_db]
def test_it_can_fail(plan, person_user, coordinator, goal):
    apply(plan, coordinator, {"type": "set", "target": "goal", "id": goal.pk, "field": "text", "value": LONG_WORD})
    html = client_for(person_user).get(reverse("records:my_plan")).content.decode()
    html = html.replace('href="/static/css/records.css"', 'href="/static/css/ipplan.css"')
    print("overflow without records.css:", overflow_at_375(html))
