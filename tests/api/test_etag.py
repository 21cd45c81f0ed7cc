"""Optimistic concurrency: the ETag is the plan revision; If-Match on a stale one is 412
and writes nothing."""

from __future__ import annotations

import pytest

from ipplan.plans.models import Goal, Plan
from tests.api.conftest import url


def _patch(client, plan, goal, if_match: str | None, status: str = "achieved"):
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    return client.patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk),
        {"status": status},
        format="json",
        **headers,
    )


def test_a_write_based_on_the_current_revision_succeeds(as_user, plan, goal, coordinator):
    client = as_user(coordinator)
    tag = client.get(url("goal-detail", plan_pk=plan.pk, pk=goal.pk))["ETag"]
    response = _patch(client, plan, goal, tag)
    assert response.status_code == 200
    assert response["ETag"] == f'"{plan.revision + 1}"'


def test_a_write_based_on_a_stale_revision_gets_412_and_changes_nothing(
    as_user, plan, goal, coordinator, specialist
):
    mine = as_user(coordinator)
    tag = mine.get(url("goal-detail", plan_pk=plan.pk, pk=goal.pk))["ETag"]
    # Someone else edits in the meantime (e.g. live in a meeting).
    assert _patch(as_user(specialist), plan, goal, None, "not_achieved").status_code == 200

    response = _patch(mine, plan, goal, tag)
    assert response.status_code == 412
    body = response.json()
    assert body["code"] == "stale" and body["revision"] == plan.revision + 1
    assert response["ETag"] == f'"{plan.revision + 1}"'
    assert Goal.objects.get(pk=goal.pk).status == "not_achieved"
    assert Plan.objects.get(pk=plan.pk).revision == plan.revision + 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("*", 200, id="star-matches-any-revision"),
        pytest.param('W/"{rev}"', 200, id="weak-form-of-the-current-revision"),
        pytest.param('"1", "{rev}"', 200, id="list-naming-the-current-revision"),
        pytest.param('"1"', 412, id="an-old-revision"),
        pytest.param("garbage", 400, id="a-malformed-header-is-refused"),
        pytest.param("", 400, id="an-empty-header-is-refused"),
        pytest.param('"{next}"', 412, id="a-future-revision"),
    ],
)
def test_if_match_forms(as_user, plan, goal, coordinator, header, expected):
    header = header.format(rev=plan.revision, next=plan.revision + 1)
    assert _patch(as_user(coordinator), plan, goal, header).status_code == expected


def test_deletes_and_creates_are_guarded_too(as_user, plan, goal, coordinator):
    client = as_user(coordinator)
    response = client.delete(url("goal-detail", plan_pk=plan.pk, pk=goal.pk), HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert Goal.objects.alive().filter(pk=goal.pk).exists()
    response = client.post(
        url("theme-list", plan_pk=plan.pk), {"title": "Arbeid"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 412
    assert not plan.themes.filter(title="Arbeid").exists()


def test_the_plan_detail_etag_matches_its_revision_field(as_user, plan, coordinator):
    response = as_user(coordinator).get(url("plan-detail", plan_pk=plan.pk))
    assert response["ETag"] == f'"{response.json()["revision"]}"'
