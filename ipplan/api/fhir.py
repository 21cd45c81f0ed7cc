"""The plan as a FHIR R5 Bundle (type "collection").

Mapping (see docs/api.md for the table):
- Person → Patient; plan → CarePlan (custodian = the coordinator); responsible group →
  CareTeam (participants with role and organisation); goal → Goal (category = its main
  theme, coded in a local CodeSystem of the theme templates); measure → Task, referenced
  from CarePlan.activity.plannedActivityReference (R5 has no activity.detail); consent →
  Consent; each meeting's changes → one Provenance.
- Users become Practitioner (or RelatedPerson for next of kin, or the Patient for the
  person); organisations become Organization. Local codes come with their CodeSystem
  resources in the same Bundle, so every code in it can be checked.
- Entries are addressed by urn:uuid values derived from the installation's base URL and
  the database ids, so the same object keeps the same address across exports.

The status maps below choose a code from each FHIR value set with a required binding;
tests check every code in an exported Bundle against the value sets.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from ipplan.meetings.models import Meeting
from ipplan.plans.models import Change, Consent, Goal, Measure, Member, Plan, ThemeTemplate

DEFAULT_BASE = "https://ipplan.example/fhir"

GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
DATA_OPERATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

# CarePlan.status (request-status, required)
CAREPLAN_STATUS = {
    Plan.Status.DRAFT: "draft",
    Plan.Status.ACTIVE: "active",
    Plan.Status.CLOSED: "completed",
}
# Goal.lifecycleStatus (goal-status, required)
GOAL_LIFECYCLE = {
    Goal.Status.NOT_STARTED: "accepted",
    Goal.Status.IN_PROGRESS: "active",
    Goal.Status.ACHIEVED: "completed",
    Goal.Status.NOT_ACHIEVED: "completed",
    Goal.Status.REVISED: "cancelled",  # replaced by a reformulated goal
}
# Goal.achievementStatus (goal-achievement); none while not started or once revised.
GOAL_ACHIEVEMENT = {
    Goal.Status.IN_PROGRESS: ("in-progress", "In Progress"),
    Goal.Status.ACHIEVED: ("achieved", "Achieved"),
    Goal.Status.NOT_ACHIEVED: ("not-achieved", "Not Achieved"),
}
# Task.status (task-status, required)
TASK_STATUS = {
    Measure.Status.PLANNED: "ready",
    Measure.Status.ONGOING: "in-progress",
    Measure.Status.DONE: "completed",
    Measure.Status.CANCELLED: "cancelled",
}
# Resource order in the Bundle: the plan first, then what it points to.
ENTRY_ORDER = [
    "CarePlan",
    "Patient",
    "CareTeam",
    "Goal",
    "Task",
    "Consent",
    "Provenance",
    "Practitioner",
    "RelatedPerson",
    "Organization",
    "CodeSystem",
]


def fhir_base() -> str:
    return str(getattr(settings, "IPPLAN_FHIR_BASE", DEFAULT_BASE)).rstrip("/")


def _clean(value: Any) -> Any:
    """Drop empty values: FHIR forbids empty strings, arrays and objects."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [v for v in cleaned if v not in (None, "", [], {})]
    if isinstance(value, str):
        return value.strip()
    return value


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _instant(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


class _LocalSystem:
    def __init__(self, code: str, title: str, concepts: list[tuple[str, str]]) -> None:
        self.code = code
        self.title = title
        self.concepts = concepts


def _choices(choices: type[TextChoices]) -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in choices.choices]


class BundleBuilder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.base = fhir_base()
        self.resources: dict[str, dict[str, Any]] = {}
        self.used_systems: dict[str, _LocalSystem] = {}
        self.members = list(
            Member.objects.filter(plan=plan)
            .select_related("user", "organisation")
            .order_by("active_from", "pk")
        )
        self.kin_user_ids = {m.user_id for m in self.members if m.role == Member.Role.NEXT_OF_KIN}
        self.goal_refs: dict[int, dict[str, str]] = {}
        self.task_refs: dict[int, dict[str, str]] = {}
        self.consent_refs: dict[int, dict[str, str]] = {}

    # ------------------------------------------------------------ plumbing

    def urn(self, resource_type: str, key: object) -> str:
        name = f"{self.base}/{resource_type}/{key}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    def put(self, resource_type: str, key: object, body: dict[str, Any]) -> str:
        urn = self.urn(resource_type, key)
        if urn not in self.resources:
            resource = {"resourceType": resource_type, "id": urn.removeprefix("urn:uuid:")}
            resource.update(body)
            self.resources[urn] = _clean(resource)
        return urn

    def identifier(self, kind: str, pk: object) -> dict[str, str]:
        return {"system": f"{self.base}/NamingSystem/{kind}", "value": str(pk)}

    def system_url(self, code: str) -> str:
        return f"{self.base}/CodeSystem/{code}"

    def coding(self, system: _LocalSystem, code: str, display: str) -> dict[str, str]:
        self.used_systems[system.code] = system
        return {"system": self.system_url(system.code), "code": code, "display": display}

    # ------------------------------------------------------------ people

    def patient_ref(self) -> dict[str, str]:
        person = self.plan.person
        urn = self.put(
            "Patient",
            person.pk,
            {
                "identifier": [self.identifier("person", person.pk)],
                "active": True,
                "name": [
                    {
                        "use": "official",
                        "text": person.full_name,
                        "family": person.last_name,
                        "given": [person.first_name],
                    }
                ],
                "telecom": [
                    {"system": "phone", "value": person.phone} if person.phone else None,
                    {"system": "email", "value": person.email} if person.email else None,
                ],
                "birthDate": _date(person.birth_date),
                "address": [{"text": person.address}] if person.address else [],
            },
        )
        return {"reference": urn, "display": person.full_name}

    def organisation_ref(self, organisation: Any) -> dict[str, str]:
        urn = self.put(
            "Organization",
            organisation.pk,
            {
                "identifier": [self.identifier("organisation", organisation.pk)],
                "active": True,
                "name": organisation.name,
            },
        )
        return {"reference": urn, "display": organisation.name}

    def user_ref(self, user: Any) -> dict[str, str]:
        """The person's own account is the Patient; next of kin are RelatedPerson; everyone
        else who acts in the plan is a Practitioner (a professional or service user)."""
        if user.pk == self.plan.person.user_id:
            return self.patient_ref()
        name = {"text": user.display_name, "family": user.last_name, "given": [user.first_name]}
        body: dict[str, Any] = {
            "identifier": [self.identifier("user", user.pk)],
            "active": user.is_active,
            "name": [name],
        }
        if user.pk in self.kin_user_ids:
            body["patient"] = self.patient_ref()
            urn = self.put("RelatedPerson", user.pk, body)
        else:
            urn = self.put("Practitioner", user.pk, body)
        return {"reference": urn, "display": user.display_name}

    # ------------------------------------------------------------ content

    def careplan_ref(self) -> dict[str, str]:
        return {"reference": self.urn("CarePlan", self.plan.pk), "display": str(self.plan)}

    def careteam_ref(self) -> dict[str, str]:
        return {"reference": self.urn("CareTeam", self.plan.pk), "display": _("Responsible group")}

    def build_careteam(self) -> None:
        roles = _LocalSystem(
            "member-role", _("Role in the responsible group"), _choices(Member.Role)
        )
        participants = []
        for member in self.members:
            who = self.user_ref(member.user)
            is_practitioner = "Practitioner" in self.resources.get(who["reference"], {}).get(
                "resourceType", ""
            )
            participants.append(
                {
                    "role": {
                        "coding": [self.coding(roles, member.role, member.get_role_display())],
                        "text": member.service or member.get_role_display(),
                    },
                    "member": who,
                    # ctm-2: onBehalfOf only for Practitioner members.
                    "onBehalfOf": self.organisation_ref(member.organisation)
                    if member.organisation and is_practitioner
                    else None,
                    "coveragePeriod": {
                        "start": _date(member.active_from),
                        "end": _date(member.active_to),
                    },
                }
            )
        coordinator_org = getattr(self.plan.coordinator, "organisation", None)
        self.put(
            "CareTeam",
            self.plan.pk,
            {
                "identifier": [self.identifier("careteam", self.plan.pk)],
                "status": "inactive" if self.plan.status == Plan.Status.CLOSED else "active",
                "name": _("Responsible group"),
                "subject": self.patient_ref(),
                "period": {
                    "start": _date(self.plan.period_start),
                    "end": _date(self.plan.period_end),
                },
                "managingOrganization": [self.organisation_ref(coordinator_org)]
                if coordinator_org
                else [],
                "participant": participants,
            },
        )

    @cached_property
    def themes_system(self) -> _LocalSystem:
        templates = ThemeTemplate.objects.order_by("position", "pk")
        return _LocalSystem("hovedtema", _("Main theme"), [(t.code, t.title) for t in templates])

    def theme_concept(self, theme: Any) -> dict[str, Any]:
        concept: dict[str, Any] = {"text": theme.title}
        if theme.template is not None:
            template = theme.template
            concept["coding"] = [self.coding(self.themes_system, template.code, template.title)]
        return concept

    def build_goals(self) -> None:
        levels = _LocalSystem("goal-level", _("Goal level"), _choices(Goal.Level))
        goals = (
            Goal.objects.alive()
            .filter(plan=self.plan, theme__deleted_at__isnull=True)
            .select_related("theme__template")
            .order_by("theme__position", "theme_id", "position", "pk")
        )
        for goal in goals:
            achievement = GOAL_ACHIEVEMENT.get(goal.status)
            urn = self.put(
                "Goal",
                goal.pk,
                {
                    "identifier": [self.identifier("goal", goal.pk)],
                    "lifecycleStatus": GOAL_LIFECYCLE[goal.status],
                    "achievementStatus": {
                        "coding": [
                            {
                                "system": GOAL_ACHIEVEMENT_SYSTEM,
                                "code": achievement[0],
                                "display": achievement[1],
                            }
                        ],
                        "text": goal.get_status_display(),
                    }
                    if achievement
                    else None,
                    "category": [
                        self.theme_concept(goal.theme),
                        {"coding": [self.coding(levels, goal.level, goal.get_level_display())]},
                    ],
                    "description": {"text": goal.text},
                    "subject": self.patient_ref(),
                    "source": {"display": goal.expressed_by} if goal.expressed_by.strip() else None,
                    "target": [{"dueDate": _date(goal.evaluation_date)}],
                    "note": [
                        {
                            "text": _("Success criterion: %(text)s")
                            % {"text": goal.success_criterion}
                        }
                    ]
                    if goal.success_criterion.strip()
                    else [],
                },
            )
            self.goal_refs[goal.pk] = {"reference": urn, "display": goal.text[:200]}

    def build_tasks(self) -> None:
        measures = (
            Measure.objects.alive()
            .filter(plan=self.plan, theme__deleted_at__isnull=True)
            .select_related("responsible__user", "theme")
            .order_by("theme__position", "theme_id", "position", "pk")
        )
        for measure in measures:
            if measure.responsible is not None:
                owner: dict[str, str] | None = self.user_ref(measure.responsible.user)
            elif measure.responsible_service.strip():
                owner = {"display": measure.responsible_service}
            else:
                owner = None
            goal_ref = self.goal_refs.get(measure.goal_id) if measure.goal_id else None
            notes = [
                (_("How"), measure.how),
                (_("Scope / frequency"), measure.scope),
                (_("Responsible service"), measure.responsible_service),
            ]
            urn = self.put(
                "Task",
                measure.pk,
                {
                    "identifier": [self.identifier("measure", measure.pk)],
                    "basedOn": [self.careplan_ref()],
                    "status": TASK_STATUS[measure.status],
                    "intent": "plan",
                    "description": measure.description,
                    "for": self.patient_ref(),
                    "requestedPeriod": {
                        "start": _date(measure.start_date),
                        "end": _date(measure.due_date),
                    },
                    "owner": owner,
                    "reason": [{"reference": goal_ref}] if goal_ref else [],
                    "note": [{"text": f"{label}: {text}"} for label, text in notes if text.strip()],
                },
            )
            self.task_refs[measure.pk] = {"reference": urn, "display": measure.description[:200]}

    def build_consents(self) -> None:
        kinds = _LocalSystem("consent-kind", _("Consent type"), _choices(Consent.Kind))
        today = timezone.localdate()
        for consent in self.plan.consents.prefetch_related("members__user").order_by("pk"):
            if consent.withdrawn_at is None and consent.given_on > today:
                state = "draft"
            else:
                state = "active" if consent.is_valid_on(today) else "inactive"
            end = consent.expires_on
            if consent.withdrawn_at is not None:
                withdrawn = timezone.localdate(consent.withdrawn_at)
                end = min(end, withdrawn) if end else withdrawn
            urn = self.put(
                "Consent",
                consent.pk,
                {
                    "identifier": [self.identifier("consent", consent.pk)],
                    "status": state,
                    "category": [
                        {
                            "coding": [
                                self.coding(kinds, consent.kind, consent.get_kind_display())
                            ],
                            "text": consent.scope,
                        }
                    ],
                    "subject": self.patient_ref(),
                    "date": _date(consent.given_on),
                    "period": {"start": _date(consent.given_on), "end": _date(end)},
                    "grantor": [self.patient_ref()],
                    "grantee": [self.user_ref(m.user) for m in consent.members.all()],
                    "decision": "permit",
                },
            )
            self.consent_refs[consent.pk] = {
                "reference": urn,
                "display": consent.get_kind_display(),
            }

    def build_careplan(self) -> None:
        plan = self.plan
        notes = [
            (_("What matters to me"), plan.what_matters),
            (_("My resources"), plan.resources),
            (_("My needs"), plan.needs),
            (_("Cooperation with other services"), plan.cooperation),
        ]
        notes += [
            (theme.title, theme.current_situation)
            for theme in plan.themes.alive().order_by("position", "pk")
        ]
        self.put(
            "CarePlan",
            plan.pk,
            {
                "identifier": [self.identifier("plan", plan.pk)],
                "status": CAREPLAN_STATUS[plan.status],
                "intent": "plan",
                "title": str(plan),
                "description": plan.what_matters,
                "subject": self.patient_ref(),
                "period": {"start": _date(plan.period_start), "end": _date(plan.period_end)},
                "created": _instant(plan.created_at),
                "custodian": self.user_ref(plan.coordinator),
                "careTeam": [self.careteam_ref()],
                "goal": list(self.goal_refs.values()),
                "activity": [{"plannedActivityReference": ref} for ref in self.task_refs.values()],
                "note": [{"text": f"{label}: {text}"} for label, text in notes if text.strip()],
            },
        )

    def change_target(self, change: Change) -> dict[str, str]:
        """Where a change landed, as a reference to a resource in this Bundle. Changes
        to objects since deleted (and to parts without a resource of their own, such as
        themes) are changes to the care plan."""
        found = None
        if change.target_type == "goal":
            found = self.goal_refs.get(change.target_id)
        elif change.target_type == "measure":
            found = self.task_refs.get(change.target_id)
        elif change.target_type == "consent":
            found = self.consent_refs.get(change.target_id)
        elif change.target_type == "member":
            found = self.careteam_ref()
        return found or self.careplan_ref()

    def build_provenance(self) -> None:
        changes = (
            Change.objects.filter(plan=self.plan, meeting__isnull=False)
            .select_related("user")
            .order_by("revision")
        )
        by_meeting: dict[int, list[Change]] = defaultdict(list)
        for change in changes:
            by_meeting[change.meeting_id].append(change)
        meetings = Meeting.objects.filter(pk__in=by_meeting).order_by("scheduled_at", "pk")
        for meeting in meetings:
            rows = by_meeting[meeting.pk]
            targets: dict[str, dict[str, str]] = {}
            agents: dict[int, dict[str, str]] = {}
            for change in rows:
                ref = self.change_target(change)
                targets.setdefault(ref["reference"], ref)
                if change.user_id not in agents:
                    agents[change.user_id] = self.user_ref(change.user)
            self.put(
                "Provenance",
                meeting.pk,
                {
                    "target": list(targets.values()),
                    "occurredPeriod": {
                        "start": _instant(meeting.started_at or rows[0].at),
                        "end": _instant(meeting.closed_at),
                    },
                    "recorded": _instant(meeting.closed_at or rows[-1].at),
                    "activity": {
                        "coding": [
                            {"system": DATA_OPERATION_SYSTEM, "code": "UPDATE", "display": "revise"}
                        ],
                        "text": _("Changes in the responsible group meeting on %(date)s")
                        % {"date": timezone.localtime(meeting.scheduled_at).date().isoformat()},
                    },
                    "patient": self.patient_ref(),
                    "agent": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": PARTICIPANT_TYPE_SYSTEM,
                                        "code": "author",
                                        "display": "Author",
                                    }
                                ]
                            },
                            "who": who,
                        }
                        for who in agents.values()
                    ],
                },
            )

    def build_code_systems(self) -> None:
        for system in self.used_systems.values():
            self.put(
                "CodeSystem",
                system.code,
                {
                    "url": self.system_url(system.code),
                    "name": "Ipplan" + "".join(p.title() for p in system.code.split("-")),
                    "title": system.title,
                    "status": "active",
                    "content": "complete",
                    "caseSensitive": True,
                    "concept": [
                        {"code": code, "display": label} for code, label in system.concepts
                    ],
                },
            )

    # ------------------------------------------------------------ the bundle

    def build(self) -> dict[str, Any]:
        self.patient_ref()
        self.build_careteam()
        self.build_goals()
        self.build_tasks()
        self.build_consents()
        self.build_careplan()
        self.build_provenance()
        self.build_code_systems()
        rank = {name: index for index, name in enumerate(ENTRY_ORDER)}
        entries = sorted(
            self.resources.items(), key=lambda item: rank.get(item[1]["resourceType"], 99)
        )
        export_id = uuid.uuid4()
        return {
            "resourceType": "Bundle",
            "id": str(export_id),
            "identifier": {"system": f"{self.base}/NamingSystem/export", "value": str(export_id)},
            "type": "collection",
            "timestamp": timezone.now().isoformat(),
            "entry": [{"fullUrl": urn, "resource": resource} for urn, resource in entries],
        }


def plan_bundle(plan: Plan) -> dict[str, Any]:
    """The plan as a FHIR R5 Bundle (a dict ready for JSON)."""
    return BundleBuilder(plan).build()
