"""History pages: the plan at any revision, diffs, each field's authors, and restoring
earlier values or deleted goals as new changes (never rewriting history)."""

import pytest
from django.urls import reverse

from ipplan.plans.models import AccessLog, Change, Goal, Plan

from .conftest import apply, client_for, log_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited(plan, coordinator, specialist, goal):
    """Two edits of the goal text by two people; returns the revision before them."""
    start = Plan.objects.get(pk=plan.pk).revision
    apply(
        plan,
        specialist,
        {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "value": "Egen leilighet i sentrum",
        },
    )
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "value": "Egen leilighet nær jobben",
        },
    )
    return start


def test_history_lists_every_change_and_logs_one_read(edited, plan, reader):
    response = client_for(reader).get(reverse("records:history", args=[plan.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Egen leilighet nær jobben" in body and "Siv Spesialist" in body
    assert log_entries(plan) == [("frida", "history")]


def test_the_plan_at_an_earlier_revision_shows_the_old_text(edited, plan, reader):
    response = client_for(reader).get(reverse("records:at_revision", args=[plan.pk, edited + 1]))
    body = response.content.decode()
    assert "Egen leilighet i sentrum" in body and "Egen leilighet nær jobben" not in body
    assert log_entries(plan) == [("frida", "history")]
    assert (
        client_for(reader).get(reverse("records:at_revision", args=[plan.pk, 999])).status_code
        == 404
    )


def test_the_diff_names_who_changed_what(edited, plan, reader):
    url = reverse("records:diff", args=[plan.pk]) + f"?fra={edited}&til={edited + 2}"
    body = client_for(reader).get(url).content.decode()
    assert "<ins>" in body and "jobben" in body and "Kari Koordinator, Siv Spesialist" in body
    assert log_entries(plan) == [("frida", "history")]


def test_field_history_shows_each_value_with_its_author(edited, plan, reader, goal):
    url = reverse("records:field_history", args=[plan.pk, "goal", goal.pk, "text"])
    body = client_for(reader).get(url).content.decode()
    for text in [
        "Egen leilighet i sentrum",
        "Egen leilighet nær jobben",
        "Siv Spesialist",
        "Kari Koordinator",
    ]:
        assert text in body
    assert "Restore this earlier value" not in body  # a reader may not change the plan


def test_restoring_an_earlier_value_is_a_new_change_by_whoever_restores(
    edited, plan, specialist, goal
):
    changes_before = list(Change.objects.filter(plan=plan).values_list("revision", "after"))
    url = reverse("records:field_history", args=[plan.pk, "goal", goal.pk, "text"])
    client = client_for(specialist)
    assert "Restore this earlier value" in client.get(url).content.decode()
    response = client.post(
        reverse("records:restore_value", args=[plan.pk]),
        {"target": "goal", "id": goal.pk, "field": "text", "revision": edited + 1, "next": url},
    )
    assert response.status_code == 302 and response["Location"] == url
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet i sentrum"
    newest = Change.objects.filter(plan=plan).latest("revision")
    assert (newest.user, newest.field, newest.after, newest.via) == (
        specialist,
        "text",
        "Egen leilighet i sentrum",
        "history",
    )
    # History itself is untouched: every earlier change is still there as it was.
    assert (
        list(
            Change.objects.filter(plan=plan, revision__lte=edited + 2).values_list(
                "revision", "after"
            )
        )
        == changes_before
    )


def test_the_starting_value_can_be_restored(edited, plan, coordinator, goal):
    client_for(coordinator).post(
        reverse("records:restore_value", args=[plan.pk]),
        {"target": "goal", "id": goal.pk, "field": "status", "revision": "initial"},
    )
    # status was never changed: nothing found, nothing written
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
    )
    first = Change.objects.filter(
        plan=plan, target_type="goal", target_id=goal.pk, kind="create"
    ).get()
    client_for(coordinator).post(
        reverse("records:restore_value", args=[plan.pk]),
        {"target": "goal", "id": goal.pk, "field": "status", "revision": first.revision},
    )
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"


def test_a_reader_cannot_restore(edited, plan, reader, goal):
    revision = Plan.objects.get(pk=plan.pk).revision
    response = client_for(reader).post(
        reverse("records:restore_value", args=[plan.pk]),
        {"target": "goal", "id": goal.pk, "field": "text", "revision": edited + 1},
    )
    assert response.status_code == 302
    assert Plan.objects.get(pk=plan.pk).revision == revision
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet nær jobben"


def test_a_deleted_goal_can_be_brought_back(plan, coordinator, goal):
    apply(plan, coordinator, {"type": "delete", "target": "goal", "id": goal.pk})
    client = client_for(coordinator)
    assert "Bring back" in client.get(reverse("records:history", args=[plan.pk])).content.decode()
    client.post(
        reverse("records:restore_object", args=[plan.pk]), {"target": "goal", "id": goal.pk}
    )
    assert Goal.objects.get(pk=goal.pk).deleted_at is None
    newest = Change.objects.filter(plan=plan).latest("revision")
    assert (newest.kind, newest.user, newest.target_id) == ("restore", coordinator, goal.pk)


def test_history_is_not_for_outsiders(plan, outsider, other_plan, reader, goal):
    for user in (outsider,):
        client = client_for(user)
        for url in [
            reverse("records:history", args=[plan.pk]),
            reverse("records:at_revision", args=[plan.pk, 1]),
            reverse("records:diff", args=[plan.pk]),
            reverse("records:field_history", args=[plan.pk, "goal", goal.pk, "text"]),
            reverse("records:plan_pdf", args=[plan.pk]),
        ]:
            assert client.get(url).status_code == 404, url
        response = client.post(
            reverse("records:restore_object", args=[plan.pk]), {"target": "goal", "id": goal.pk}
        )
        assert response.status_code == 404
    # A member of one plan learns nothing about another.
    assert (
        client_for(reader).get(reverse("records:history", args=[other_plan.pk])).status_code == 404
    )
    assert not AccessLog.objects.filter(via="history").exists()
