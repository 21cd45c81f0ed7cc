"""Hypothesis fills in the plan pages' forms the way no person would: every field of the
plan, theme, goal, measure, member and consent forms (and the move, delete, end
membership and withdraw buttons) with wrong types, impossible dates, unknown choices,
other plans' ids, NUL characters, 25,000-character texts, missing and extra fields,
tampered hidden fields (base revision, the "as drawn" values) and raw bodies that are
not even UTF-8.

For every POST: never a server error (the test client re-raises any exception, and
the status is never 500); and when the input is refused (the form comes back, the
answer is 4xx, or a redirect carries an error message) the plan is exactly as before:
same revision, same change log, same themes, goals, measures, members and consents.
A read-only member changes nothing, whatever is posted.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from django.contrib.messages import constants, get_messages
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ipplan.plans.models import Consent, Person, Plan

from .pages_support import (  # noqa: F401
    client_for,
    fast_passwords,
    form_data,
    state,
    the_goal,
    the_measure,
    url,
)

pytestmark = pytest.mark.django_db

EXAMPLES = 150

texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "nul\x00inside",
            "a" * 25_000,
            "<script>alert(1)</script>",
            "'; DROP TABLE plans_plan; --",
            "\r\n\r\n",
            "Ærlig talt – ønsker å bo på Øvre Ålen 😀",
        ]
    ),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-02-30",
            "31.12.2026",
            "0000-00-00",
            "9999-12-31",
            "1900-01-01",
            "tomorrow",
            "-1",
            "2026-13-01",
            "２０２６-０１-０１",
        ]
    ),
)
numbers = st.one_of(
    st.integers(-5, 50).map(str),
    st.sampled_from(["99999999999999999999999", "-1", "1e9", "0x10", "NaN", "1.5", ""]),
)
choices = st.sampled_from(
    [
        "main",
        "sub",
        "not_started",
        "in_progress",
        "achieved",
        "revised",
        "planned",
        "ongoing",
        "done",
        "cancelled",
        "edit",
        "comment",
        "read",
        "coordinator",
        "person",
        "specialist",
        "draft",
        "active",
        "closed",
        "plan",
        "sharing",
        "up",
        "down",
        "withdraw",
        "bogus",
    ]
)
any_value = st.one_of(texts, dates, numbers, choices, st.lists(numbers, max_size=3))


class Target:
    """One form: its address, how to get the data a browser would send, who uses it."""

    def __init__(self, name: str, address: str, drawn: bool = True, data: dict | None = None):
        self.name = name
        self.address = address
        self.drawn = drawn  # start from the form as the page draws it
        self.data = data or {}


def targets(plan: Plan, other_plan: Plan) -> list[Target]:
    theme = plan.themes.order_by("position").first()
    goal, measure = the_goal(plan), the_measure(plan)
    member = plan.members.exclude(user=plan.coordinator).order_by("pk").first()
    sharing = Consent.objects.filter(plan=plan, kind=Consent.Kind.SHARING).first()
    foreign_theme = other_plan.themes.first()
    return [
        Target("plan", url("edit", plan.pk)),
        Target("theme_create", url("theme_create", plan.pk)),
        Target("theme_edit", url("theme_edit", plan.pk, theme.pk)),
        Target("goal_create", url("goal_create", plan.pk, theme.pk)),
        Target("goal_create_foreign", url("goal_create", plan.pk, foreign_theme.pk), False),
        Target("goal_edit", url("goal_edit", plan.pk, goal.pk)),
        Target("measure_create", url("measure_create", plan.pk, theme.pk)),
        Target("measure_edit", url("measure_edit", plan.pk, measure.pk)),
        Target("theme_move", url("theme_move", plan.pk, theme.pk), False, {"direction": "up"}),
        Target("goal_move", url("goal_move", plan.pk, goal.pk), False, {"direction": "down"}),
        Target("measure_delete", url("measure_delete", plan.pk, measure.pk), False),
        Target("goal_delete_foreign", url("goal_delete", other_plan.pk, goal.pk), False),
        Target("members", url("members", plan.pk)),
        Target("member_edit", url("member_edit", plan.pk, member.pk)),
        Target("member_deactivate", url("member_deactivate", plan.pk, member.pk)),
        Target("consent", url("consent", plan.pk)),
        Target(
            "consent_withdraw",
            url("consent", plan.pk),
            False,
            {"action": "withdraw", "consent": str(sharing.pk)},
        ),
        Target("plan_create", url("create")),
    ]


def _baseline(client, target: Target) -> dict[str, Any]:
    if not target.drawn:
        return dict(target.data)
    response = client.get(target.address)
    if response.status_code != 200 or not response.context or "form" not in response.context:
        return dict(target.data)
    if response.context["form"] is None:
        return dict(target.data)
    return form_data(response)


# The breakage is drawn without looking at the form, and applied to the form as the page
# draws it at the time: Hypothesis needs its draws not to depend on the database, which
# accepted posts change.
breakages = st.fixed_dictionaries(
    {
        "fields": st.lists(
            st.tuples(
                st.integers(0, 1000),
                st.sampled_from(["value", "drop", "value", "empty"]),
                any_value,
            ),
            max_size=4,
        ),
        "extra": st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from(
                    [
                        "base_revision",
                        "id",
                        "plan",
                        "revision",
                        "user",
                        "coordinator",
                        "initial-text",
                        "extra",
                    ]
                ),
                any_value,
            ),
        ),
        "raw": st.one_of(
            st.none(),
            st.none(),
            st.none(),
            st.sampled_from(["&text=%ED%A0%80", "&x=%FF%FE", "&%00=%00", "&&=&"]),
        ),
    }
)


def submission(baseline: dict[str, Any], breakage: dict[str, Any]) -> dict[str, Any] | str:
    """POST data: the drawn form with some fields broken, or a raw body (invalid UTF-8
    and odd encodings no browser sends)."""
    data = dict(baseline)
    keys = sorted(data)
    for index, how, value in breakage["fields"]:
        if not keys:
            break
        key = keys[index % len(keys)]
        if how == "drop":
            data.pop(key, None)
        elif how == "empty":
            data[key] = ""
        else:
            data[key] = value
    if breakage["extra"] is not None:
        key, value = breakage["extra"]
        data[key] = value
    if breakage["raw"] is not None:
        return urllib.parse.urlencode(data, doseq=True) + breakage["raw"]
    return data


def _refused(response) -> bool:
    if response.status_code != 302:
        return True
    return any(m.level >= constants.ERROR for m in get_messages(response.wsgi_request))


def _everything(plan: Plan) -> dict[str, Any]:
    return {**state(plan), "persons": Person.objects.count(), "plans": Plan.objects.count()}


PERSONAS = ["coordinator", "coordinator", "coordinator", "specialist", "commenter", "reader"]


def test_no_form_input_gives_a_server_error_or_changes_a_plan_when_refused(
    plan, other_plan, coordinator, specialist, commenter, reader
):
    users = {
        "coordinator": coordinator,
        "specialist": specialist,
        "commenter": commenter,
        "reader": reader,
    }
    clients = {name: client_for(user) for name, user in users.items()}
    forms = targets(plan, other_plan)
    outcomes: dict[str, int] = {"refused": 0, "accepted": 0}

    @hsettings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.sampled_from(forms), st.sampled_from(PERSONAS), breakages)
    def run(target: Target, persona: str, breakage: dict[str, Any]) -> None:
        client = clients[persona]
        body = submission(_baseline(client, target), breakage)
        before = _everything(plan)
        if isinstance(body, str):
            response = client.post(
                target.address, body, content_type="application/x-www-form-urlencoded"
            )
        else:
            response = client.post(target.address, body)
        assert response.status_code < 500, (target.name, response.status_code)
        if persona == "reader":  # may change nothing, whatever the answer says
            assert _everything(plan) == before, f"{target.name}: a reader changed the plan"
        if _refused(response):
            outcomes["refused"] += 1
            assert _everything(plan) == before, f"{target.name}: refused input changed the plan"
        else:
            outcomes["accepted"] += 1

    run()
    print(f"\nform posts: {outcomes}")
    assert outcomes["refused"] > EXAMPLES // 3 and outcomes["accepted"] > 0
