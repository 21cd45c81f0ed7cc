"""Plans and their content over the REST API: reads, writes through the services, the
access log, errors, filters and pagination."""

from __future__ import annotations

import asyncio
import datetime

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from ipplan.live.notify import plan_group
from ipplan.plans.models import AccessLog, Change, Consent, Goal, Member, Person, Plan, Theme
from tests.api.conftest import url

TODAY = datetime.date.today()


def _log_count(plan, via=AccessLog.Via.API) -> int:
    return AccessLog.objects.filter(plan=plan, via=via).count()


# ---------------------------------------------------------------- reads


def test_the_plan_list_holds_only_the_plans_you_may_read(
    as_user, plan, other_plan, specialist, coordinator
):
    ids = [p["id"] for p in as_user(specialist).get(url("plan-list")).json()["results"]]
    assert ids == [plan.pk]
    ids = {p["id"] for p in as_user(coordinator).get(url("plan-list")).json()["results"]}
    assert ids == {plan.pk, other_plan.pk}


def test_a_unit_leader_sees_no_plans(as_user, plan, leader):
    response = as_user(leader).get(url("plan-list"))
    assert response.status_code == 200 and response.json()["count"] == 0


def test_reading_a_plan_is_recorded_once_in_the_access_log(as_user, plan, reader):
    before = _log_count(plan)
    response = as_user(reader).get(url("plan-detail", plan_pk=plan.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["person"]["first_name"] == "Per"
    assert body["access"] == {
        "level": "read",
        "is_person": False,
        "is_coordinator": False,
        "can_comment": False,
        "can_edit": False,
        "can_manage": False,
    }
    assert _log_count(plan) == before + 1
    entry = AccessLog.objects.filter(plan=plan).first()
    assert (entry.user, entry.via) == (reader, AccessLog.Via.API)


def test_a_list_under_a_plan_is_one_access_log_entry(as_user, plan, reader):
    before = _log_count(plan)
    response = as_user(reader).get(url("theme-list", plan_pk=plan.pk))
    assert response.status_code == 200 and response.json()["count"] == 7
    assert _log_count(plan) == before + 1


def test_a_refused_read_is_not_logged_as_a_read(as_user, plan, reader):
    before = AccessLog.objects.filter(plan=plan).count()
    assert as_user(reader).get(url("goal-detail", plan_pk=plan.pk, pk=999999)).status_code == 404
    assert AccessLog.objects.filter(plan=plan).count() == before


def test_every_plan_scoped_answer_carries_the_revision_as_etag(as_user, plan, reader):
    for name in ("plan-detail", "goal-list", "measure-list", "member-list", "change-list"):
        response = as_user(reader).get(url(name, plan_pk=plan.pk))
        assert response["ETag"] == f'"{plan.revision}"', name


def test_the_plan_list_has_pages(as_user, plan, other_plan, coordinator):
    client = as_user(coordinator)
    first = client.get(url("plan-list"), {"page_size": 1}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["next"]
    second = client.get(first["next"]).json()
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {plan.pk, other_plan.pk}
    assert client.get(url("plan-list"), {"page": 99}).status_code == 404


def test_goals_can_be_filtered_and_bad_filters_are_refused(as_user, plan, goal, coordinator):
    client = as_user(coordinator)
    listed = client.get(url("goal-list", plan_pk=plan.pk), {"status": "in_progress"}).json()
    assert [g["id"] for g in listed["results"]] == [goal.pk]
    listed = client.get(url("goal-list", plan_pk=plan.pk), {"status": "achieved"}).json()
    assert listed["results"] == []
    refused = client.get(url("goal-list", plan_pk=plan.pk), {"status": "bogus"})
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]


def test_the_change_history_answers_what_changed_since_a_revision(as_user, plan, goal, coordinator):
    client = as_user(coordinator)
    since = plan.revision
    client.patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    changes = client.get(url("change-list", plan_pk=plan.pk), {"since": since}).json()["results"]
    assert [(c["revision"], c["field"], c["before"], c["after"], c["via"]) for c in changes] == [
        (since + 1, "status", "in_progress", "achieved", "api")
    ]
    assert changes[0]["user"]["name"] == "Kari Koordinator"


# ---------------------------------------------------------------- writes


def test_a_goal_edit_goes_through_the_services(as_user, plan, goal, specialist):
    response = as_user(specialist).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk),
        {"text": "Egen leilighet i sentrum", "status": "achieved"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["text"] == "Egen leilighet i sentrum"
    assert response["ETag"] == f'"{plan.revision + 2}"'
    changes = Change.objects.filter(plan=plan, revision__gt=plan.revision).order_by("revision")
    assert [(c.field, c.via, c.user) for c in changes] == [
        ("text", "api", specialist),
        ("status", "api", specialist),
    ]


def test_an_api_edit_is_announced_to_open_meetings_with_its_revision(
    as_user, plan, goal, coordinator, django_capture_on_commit_callbacks
):
    """What an open meeting room hears (the channel layer the settings choose)."""
    client = as_user(coordinator)

    def edit():
        with django_capture_on_commit_callbacks(execute=True):
            return client.patch(
                url("goal-detail", plan_pk=plan.pk, pk=goal.pk),
                {"status": "achieved"},
                format="json",
            )

    async def listen_while_editing():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(plan_group(plan.pk), channel)
        try:
            response = await sync_to_async(edit)()
            return response, await asyncio.wait_for(layer.receive(channel), timeout=10)
        finally:
            await layer.group_discard(plan_group(plan.pk), channel)

    response, message = async_to_sync(listen_while_editing)()
    assert message == {"type": "plan.changed", "plan": plan.pk, "rev": plan.revision + 1}
    assert response["ETag"] == f'"{message["rev"]}"'


def test_an_unchanged_value_writes_nothing(as_user, plan, goal, coordinator):
    response = as_user(coordinator).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "in_progress"}, format="json"
    )
    assert response.status_code == 200
    assert Plan.objects.get(pk=plan.pk).revision == plan.revision


def test_invalid_values_are_refused_per_field_and_nothing_is_written(
    as_user, plan, goal, coordinator
):
    response = as_user(coordinator).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk),
        {"evaluation_date": (TODAY + datetime.timedelta(days=9999)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == ["evaluation_date"]
    assert Plan.objects.get(pk=plan.pk).revision == plan.revision


def test_a_required_text_cannot_be_emptied(as_user, plan, goal, coordinator):
    response = as_user(coordinator).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"text": "   "}, format="json"
    )
    assert response.status_code == 400 and "text" in response.json()["errors"]
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet"


def test_a_reader_may_not_write(as_user, plan, goal, reader):
    response = as_user(reader).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"


def test_a_commenter_updates_the_measure_they_are_responsible_for(
    as_user, plan, measure, commenter
):
    response = as_user(commenter).patch(
        url("measure-detail", plan_pk=plan.pk, pk=measure.pk), {"status": "done"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "done"


def test_a_goal_is_created_deleted_and_restored(as_user, plan, coordinator):
    client = as_user(coordinator)
    theme = plan.themes.get(title="Økonomi")
    created = client.post(
        url("goal-list", plan_pk=plan.pk),
        {
            "theme": theme.pk,
            "text": "Betale ned gjeld",
            "success_criterion": "Gjelden er under 10 000 kr",
            "evaluation_date": (TODAY + datetime.timedelta(days=60)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    goal_id = created.json()["id"]
    assert created["Location"] == url("goal-detail", plan_pk=plan.pk, pk=goal_id)
    assert client.get(created["Location"]).json()["level"] == "main"

    assert client.delete(created["Location"]).status_code == 204
    assert client.get(created["Location"]).status_code == 404
    restored = client.post(url("goal-restore", plan_pk=plan.pk, pk=goal_id))
    assert restored.status_code == 200 and restored.json()["id"] == goal_id
    kinds = list(
        Change.objects.filter(plan=plan, target_type="goal", target_id=goal_id).values_list(
            "kind", flat=True
        )
    )
    assert kinds == ["create", "delete", "restore"]


def test_a_goal_moves_to_another_theme(as_user, plan, goal, measure, coordinator):
    theme = plan.themes.get(title="Økonomi")
    response = as_user(coordinator).post(
        url("goal-move", plan_pk=plan.pk, pk=goal.pk),
        {"position": 0, "theme": theme.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["theme"] == theme.pk
    measure.refresh_from_db()
    assert measure.theme_id == theme.pk  # measures follow their goal


def test_a_goal_from_another_plan_is_not_found_under_this_plan(
    as_user, plan, other_plan, coordinator
):
    """Kari may read both plans, but an object is reached only through its own plan."""
    foreign_theme = Theme.objects.filter(plan=other_plan).first()
    client = as_user(coordinator)
    assert client.get(url("theme-detail", plan_pk=plan.pk, pk=foreign_theme.pk)).status_code == 404
    response = client.patch(
        url("theme-detail", plan_pk=plan.pk, pk=foreign_theme.pk), {"title": "X"}, format="json"
    )
    assert response.status_code == 404
    # A create naming another plan's theme is refused and writes nothing.
    response = client.post(
        url("goal-list", plan_pk=plan.pk),
        {
            "theme": foreign_theme.pk,
            "text": "x",
            "success_criterion": "y",
            "evaluation_date": TODAY.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 404
    assert Theme.objects.get(pk=foreign_theme.pk).title != "X"


def test_the_coordinator_adds_a_member_and_ends_a_membership(
    as_user, plan, coordinator, outsider, orgs
):
    client = as_user(coordinator)
    created = client.post(
        url("member-list", plan_pk=plan.pk),
        {
            "user": outsider.pk,
            "role": "specialist",
            "organisation": orgs["unit"].pk,
            "access": "read",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["user"]["id"], body["organisation"]["name"], body["covered_by_consent"]) == (
        outsider.pk,
        "Mestringsenheten",
        False,
    )
    ended = client.patch(created["Location"], {"active_to": TODAY.isoformat()}, format="json")
    assert ended.status_code == 200 and ended.json()["active_to"] == TODAY.isoformat()


def test_only_the_coordinator_changes_the_group(as_user, plan, specialist, outsider):
    response = as_user(specialist).post(
        url("member-list", plan_pk=plan.pk), {"user": outsider.pk, "role": "other"}, format="json"
    )
    assert response.status_code == 403
    assert not Member.objects.filter(plan=plan, user=outsider).exists()


def test_withdrawing_consent_removes_access_at_once(as_user, plan, coordinator, specialist):
    sharing = Consent.objects.get(plan=plan, kind=Consent.Kind.SHARING)
    assert as_user(specialist).get(url("plan-detail", plan_pk=plan.pk)).status_code == 200
    response = as_user(coordinator).post(url("consent-withdraw", plan_pk=plan.pk, pk=sharing.pk))
    assert response.status_code == 200
    assert response.json()["withdrawn_at"] and response.json()["is_valid"] is False
    assert as_user(specialist).get(url("plan-detail", plan_pk=plan.pk)).status_code == 404


def test_a_consent_is_recorded_for_named_members(as_user, plan, coordinator, specialist_member):
    response = as_user(coordinator).post(
        url("consent-list", plan_pk=plan.pk),
        {
            "kind": "sharing",
            "given_on": TODAY.isoformat(),
            "members": [specialist_member.pk],
            "scope": "Rusbehandling",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["members"] == [specialist_member.pk]
    assert response.json()["is_valid"] is True


def test_a_consent_cannot_name_members_of_another_plan(as_user, plan, other_plan, coordinator):
    foreign = Member.objects.get(plan=other_plan)
    response = as_user(coordinator).post(
        url("consent-list", plan_pk=plan.pk),
        {"kind": "sharing", "given_on": TODAY.isoformat(), "members": [foreign.pk]},
        format="json",
    )
    assert response.status_code == 400 and "members" in response.json()["errors"]


def test_a_coordinator_creates_a_plan_with_its_person(as_user, coordinator, theme_templates):
    response = as_user(coordinator).post(
        url("plan-list"),
        {
            "person": {"first_name": "Lise", "last_name": "Ny", "birth_date": "1999-03-04"},
            "period_start": TODAY.isoformat(),
            "status": "active",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["coordinator"]["name"] == "Kari Koordinator" and body["revision"] == 1
    assert response["ETag"] == '"1"'
    plan = Plan.objects.get(pk=body["id"])
    assert plan.themes.count() == 7 and plan.person.first_name == "Lise"


def test_only_those_allowed_create_plans(as_user, specialist, theme_templates):
    response = as_user(specialist).post(
        url("plan-list"),
        {
            "person": {"first_name": "Lise", "last_name": "Ny", "birth_date": "1999-03-04"},
            "period_start": TODAY.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 403
    assert not Person.objects.filter(first_name="Lise").exists()


def test_session_writes_need_the_csrf_token(plan, goal, coordinator):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(coordinator)
    response = client.patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk), {"status": "achieved"}, format="json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"


def test_only_json_bodies_are_accepted(as_user, plan, goal, coordinator):
    response = as_user(coordinator).patch(
        url("goal-detail", plan_pk=plan.pk, pk=goal.pk),
        "status=achieved",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415


# ---------------------------------------------------------------- access log


def test_the_person_sees_who_has_read_their_plan(as_user, plan, reader, person_user):
    as_user(reader).get(url("plan-detail", plan_pk=plan.pk))
    client = as_user(person_user)
    entries = client.get(url("access-log-list", plan_pk=plan.pk)).json()["results"]
    assert entries[0]["user"] == {
        "id": reader.pk,
        "name": "Frida Fastlege",
        "organisation": "Sentrum legekontor",
    }
    assert entries[0]["via"] == "api"
    # Reading the log is itself a read of the plan, recorded after the answer is made.
    entries = client.get(url("access-log-list", plan_pk=plan.pk)).json()["results"]
    assert (entries[0]["user"]["name"], entries[0]["detail"]) == ("Per Person", "access-log")


def test_members_other_than_the_person_and_coordinator_cannot_see_the_access_log(
    as_user, plan, specialist
):
    assert as_user(specialist).get(url("access-log-list", plan_pk=plan.pk)).status_code == 403


def test_the_person_reads_their_own_plan(as_user, plan, person_user):
    client = as_user(person_user)
    for name in ("plan-detail", "goal-list", "measure-list", "member-list", "plan-fhir"):
        assert client.get(url(name, plan_pk=plan.pk)).status_code == 200, name
    assert client.get(url("plan-detail", plan_pk=plan.pk)).json()["access"]["is_person"] is True


def test_unknown_paths_get_json_404s(as_user, plan, coordinator):
    client = as_user(coordinator)
    for path in (
        url("goal-list", plan_pk=plan.pk) + "0.5/",
        f"/api/v1/plans/{plan.pk}/nothing/",
        "/api/v1/plans/abc/goals/",
        "/api/v2/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json", path
        assert response.json()["code"] == "not_found", path


def test_values_must_have_their_json_types(as_user, plan, goal, coordinator):
    client = as_user(coordinator)
    detail = url("goal-detail", plan_pk=plan.pk, pk=goal.pk)
    assert client.patch(detail, {"text": 42}, format="json").status_code == 400
    response = client.post(
        url("goal-move", plan_pk=plan.pk, pk=goal.pk), {"position": "0"}, format="json"
    )
    assert response.status_code == 400 and "position" in response.json()["errors"]
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet"


def test_malformed_paging_is_refused(as_user, plan, coordinator):
    client = as_user(coordinator)
    for query in ({"page": ""}, {"page": "last"}, {"page_size": "0"}, {"page_size": "201"}):
        response = client.get(url("goal-list", plan_pk=plan.pk), query)
        assert response.status_code == 400, query
