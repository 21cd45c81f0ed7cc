"""GET /api/v1/plans/{id}/fhir: a FHIR R5 Bundle that fhir.resources accepts, whose every
code is in its value set and every reference resolves, mapping the plan faithfully."""

from __future__ import annotations

import datetime
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import Code

from ipplan.meetings import services as meeting_services
from ipplan.plans import services
from ipplan.plans.models import AccessLog, Consent, Goal, Member, Plan
from tests.api.conftest import url
from tests.api.fhir_valuesets import CODE_SYSTEMS, VALUE_SETS


@pytest.fixture
def export(as_user, plan, coordinator):
    """Export the plan as Kari and return the Bundle (JSON)."""

    def run(user=coordinator) -> dict[str, Any]:
        response = as_user(user).get(url("plan-fhir", plan_pk=plan.pk))
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("application/fhir+json")
        return response.json()

    return run


def resources(bundle: dict, resource_type: str) -> list[dict]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def resolve(bundle: dict, reference: dict) -> dict:
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    return by_url[reference["reference"]]


# ------------------------------------------------------------ walking the models


def _is_code(annotation: Any) -> bool:
    for arg in typing.get_args(annotation) or (annotation,):
        if any(isinstance(m, Code) for m in getattr(arg, "__metadata__", ())):
            return True
        if typing.get_args(arg) and _is_code(arg):
            return True
    return False


def walk(model: FHIRAbstractModel) -> Iterator[tuple[str, str, Any, FHIRAbstractModel]]:
    """(FHIR type, element, value, owner) for every populated element, depth first."""
    type_name = model.get_resource_type()
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, FHIRAbstractModel):
                yield from walk(item)
            elif _is_code(info.annotation):
                yield type_name, name, item, model


def test_the_bundle_is_valid_fhir_r5(export):
    bundle = export()
    parsed = get_fhir_model_class("Bundle").model_validate(bundle)
    assert parsed.type == "collection"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "CarePlan", "Goal", "Task", "CareTeam", "Consent", "CodeSystem"} <= kinds


def _run_a_meeting(plan, coordinator, specialist):
    """A meeting in which Siv changes the goal live (attributed to the meeting)."""
    meeting = meeting_services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now()
    )
    meeting_services.meeting_start(meeting_id=meeting.pk, user=coordinator)
    goal = Goal.objects.get(plan=plan)
    services.apply_operation(
        plan_id=plan.pk,
        user=specialist,
        op={"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting_id=meeting.pk,
        via="live",
    )
    meeting_services.meeting_close(meeting_id=meeting.pk, user=coordinator)
    return meeting


def test_every_code_is_in_its_value_set(export, plan, coordinator, specialist):
    _run_a_meeting(plan, coordinator, specialist)
    services.consent_withdraw(
        plan_id=plan.pk,
        user=coordinator,
        consent_id=Consent.objects.get(plan=plan, kind="sharing").pk,
    )
    bundle = export()
    parsed = get_fhir_model_class("Bundle").model_validate(bundle)
    local = {
        cs["url"]: {c["code"]: c["display"] for c in cs["concept"]}
        for cs in resources(bundle, "CodeSystem")
    }
    checked = set()
    for type_name, element, value, owner in walk(parsed):
        key = f"{type_name}.{element}"
        if key in {"Coding.code", "CodeSystemConcept.code"}:
            continue  # checked with their system below / the definitions themselves
        assert key in VALUE_SETS, f"unchecked code element {key}={value!r}"
        assert value in VALUE_SETS[key], f"{key}={value!r}"
        enum = (type(owner).model_fields[element].json_schema_extra or {}).get("enum_values")
        if enum and "+" not in enum:  # the package abbreviates long lists with "+"
            assert value in enum, f"{key}={value!r} (fhir.resources' own list)"
        checked.add(key)
    assert {
        "Bundle.type",
        "CarePlan.status",
        "Goal.lifecycleStatus",
        "Task.status",
        "Consent.status",
    } <= checked

    codings = [
        (owner.system, owner.code, owner.display)
        for t, e, v, owner in walk(parsed)
        if (t, e) == ("Coding", "code")
    ]
    assert codings, "the Bundle should carry codings"
    for system, code, display in codings:
        if system in CODE_SYSTEMS:
            assert code in CODE_SYSTEMS[system], f"{system}#{code}"
        else:
            assert system in local, f"unknown code system {system}"
            assert local[system].get(code) == display, f"{system}#{code}"


def test_every_reference_resolves_within_the_bundle(export, plan, coordinator, specialist):
    _run_a_meeting(plan, coordinator, specialist)
    bundle = export()
    urls = {e["fullUrl"] for e in bundle["entry"]}

    def references(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if "reference" in node and isinstance(node["reference"], str):
                yield node["reference"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    found = list(references([e["resource"] for e in bundle["entry"]]))
    assert found and set(found) <= urls


def test_the_careplan_maps_the_plan(export, plan, coordinator):
    bundle = export()
    (careplan,) = resources(bundle, "CarePlan")
    assert (careplan["status"], careplan["intent"]) == ("active", "plan")
    assert careplan["title"] == str(plan)
    assert careplan["period"] == {
        "start": plan.period_start.isoformat(),
        "end": plan.period_end.isoformat(),
    }
    custodian = resolve(bundle, careplan["custodian"])
    assert (
        custodian["resourceType"] == "Practitioner"
        and custodian["name"][0]["text"] == "Kari Koordinator"
    )
    assert resolve(bundle, careplan["subject"])["birthDate"] == "1990-05-17"
    assert resolve(bundle, careplan["careTeam"][0])["resourceType"] == "CareTeam"
    assert [resolve(bundle, g)["description"]["text"] for g in careplan["goal"]] == [
        "Egen leilighet"
    ]
    (activity,) = careplan["activity"]
    task = resolve(bundle, activity["plannedActivityReference"])
    assert (task["resourceType"], task["description"], task["status"], task["intent"]) == (
        "Task",
        "Søke kommunal bolig",
        "in-progress",
        "plan",
    )
    assert resolve(bundle, task["owner"])["name"][0]["text"] == "Nils NAV"
    assert resolve(bundle, task["reason"][0]["reference"])["resourceType"] == "Goal"


def test_a_goal_is_categorised_by_its_main_theme(export, plan):
    bundle = export()
    (goal,) = resources(bundle, "Goal")
    theme = goal["category"][0]
    assert theme["coding"] == [
        {
            "system": "https://ipplan.example/fhir/CodeSystem/hovedtema",
            "code": "bolig",
            "display": "Bolig",
        }
    ]
    assert goal["lifecycleStatus"] == "active"
    assert goal["achievementStatus"]["coding"][0]["code"] == "in-progress"
    assert goal["target"] == [{"dueDate": Goal.objects.get(plan=plan).evaluation_date.isoformat()}]
    assert goal["note"] == [{"text": "Success criterion: Har signert leiekontrakt"}]
    (themes,) = [cs for cs in resources(bundle, "CodeSystem") if cs["url"].endswith("/hovedtema")]
    assert [c["code"] for c in themes["concept"]][:2] == ["bolig", "aktivitet"]
    assert themes["content"] == "complete"


@pytest.mark.parametrize(
    ("status", "lifecycle", "achievement"),
    [
        ("not_started", "accepted", None),
        ("in_progress", "active", "in-progress"),
        ("achieved", "completed", "achieved"),
        ("not_achieved", "completed", "not-achieved"),
        ("revised", "cancelled", None),
    ],
)
def test_goal_statuses_map_to_lifecycle_and_achievement(
    export, plan, status, lifecycle, achievement
):
    Goal.objects.filter(plan=plan).update(status=status)  # a state, not an edit under test
    (goal,) = resources(export(), "Goal")
    assert goal["lifecycleStatus"] == lifecycle
    assert goal.get("achievementStatus", {}).get("coding", [{}])[0].get("code") == achievement


def test_the_careteam_names_roles_and_organisations(export, plan, specialist):
    bundle = export()
    (team,) = resources(bundle, "CareTeam")
    assert team["status"] == "active"
    assert len(team["participant"]) == Member.objects.filter(plan=plan).count()
    by_name = {
        resolve(bundle, p["member"])["name"][0]["text"]
        if "name" in resolve(bundle, p["member"])
        else "": p
        for p in team["participant"]
    }
    siv = by_name["Siv Spesialist"]
    assert siv["role"]["coding"][0]["code"] == "specialist"
    assert resolve(bundle, siv["onBehalfOf"])["name"] == "DPS Rus og avhengighet"
    # The person is in the team as the Patient, without an organisation.
    per = [
        p for p in team["participant"] if resolve(bundle, p["member"])["resourceType"] == "Patient"
    ]
    assert len(per) == 1 and "onBehalfOf" not in per[0]


def test_consents_carry_their_state(export, plan, coordinator):
    sharing = Consent.objects.get(plan=plan, kind="sharing")
    assert {c["status"] for c in resources(export(), "Consent")} == {"active"}
    services.consent_withdraw(plan_id=plan.pk, user=coordinator, consent_id=sharing.pk)
    bundle = export()
    states = {c["category"][0]["coding"][0]["code"]: c for c in resources(bundle, "Consent")}
    assert states["plan"]["status"] == "active"
    assert states["sharing"]["status"] == "inactive"
    assert states["sharing"]["period"]["end"] == datetime.date.today().isoformat()
    grantees = {resolve(bundle, g)["name"][0]["text"] for g in states["sharing"]["grantee"]}
    assert grantees == {"Siv Spesialist", "Nils NAV", "Frida Fastlege"}


def test_each_meetings_changes_have_a_provenance(export, plan, coordinator, specialist):
    assert resources(export(), "Provenance") == []
    meeting = _run_a_meeting(plan, coordinator, specialist)
    bundle = export()
    (provenance,) = resources(bundle, "Provenance")
    assert [resolve(bundle, t)["resourceType"] for t in provenance["target"]] == ["Goal"]
    assert [resolve(bundle, a["who"])["name"][0]["text"] for a in provenance["agent"]] == [
        "Siv Spesialist"
    ]
    meeting.refresh_from_db()
    assert provenance["recorded"] == meeting.closed_at.isoformat()
    assert provenance["occurredPeriod"]["start"] == meeting.started_at.isoformat()


def test_reading_the_export_is_recorded_in_the_access_log(export, plan, coordinator):
    before = AccessLog.objects.filter(plan=plan, via=AccessLog.Via.FHIR).count()
    export()
    entries = AccessLog.objects.filter(plan=plan, via=AccessLog.Via.FHIR)
    assert entries.count() == before + 1
    assert entries.first().user == coordinator
    assert AccessLog.objects.filter(plan=plan, via=AccessLog.Via.API).count() == 0


def test_a_closed_plan_exports_as_completed(export, plan, coordinator):
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"status": "closed"},
    )
    bundle = export()
    assert resources(bundle, "CarePlan")[0]["status"] == "completed"
    assert resources(bundle, "CareTeam")[0]["status"] == "inactive"
    assert Plan.objects.get(pk=plan.pk).status == "closed"


def test_the_same_object_keeps_its_address_across_exports(export):
    first, second = export(), export()
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]
    assert first["id"] != second["id"]  # each export is its own Bundle
