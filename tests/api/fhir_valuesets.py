"""FHIR R5 value sets for the coded elements the export uses, transcribed from the
specification (hl7.org/fhir/R5). fhir.resources validates structure but not codes, so
the tests check every code in an exported Bundle against these.

Keys of VALUE_SETS are "<FHIR type>.<element>" for elements of type `code`; keys of
CODE_SYSTEMS are the systems of Codings.
"""

REQUEST_STATUS = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}

VALUE_SETS: dict[str, set[str]] = {
    # http://hl7.org/fhir/ValueSet/bundle-type (required)
    "Bundle.type": {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
        "subscription-notification",
    },
    # http://hl7.org/fhir/ValueSet/request-status (required)
    "CarePlan.status": REQUEST_STATUS,
    # http://hl7.org/fhir/ValueSet/care-plan-intent (required)
    "CarePlan.intent": {"proposal", "plan", "order", "option", "directive"},
    # http://hl7.org/fhir/ValueSet/goal-status (required)
    "Goal.lifecycleStatus": {
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    },
    # http://hl7.org/fhir/ValueSet/care-team-status (required)
    "CareTeam.status": {"proposed", "active", "suspended", "inactive", "entered-in-error"},
    # http://hl7.org/fhir/ValueSet/consent-state-codes (required)
    "Consent.status": {"draft", "active", "inactive", "not-done", "entered-in-error", "unknown"},
    # http://hl7.org/fhir/ValueSet/consent-provision-type (required)
    "Consent.decision": {"deny", "permit"},
    # http://hl7.org/fhir/ValueSet/task-status (required)
    "Task.status": {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    },
    # http://hl7.org/fhir/ValueSet/task-intent (required)
    "Task.intent": {
        "unknown",
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    },
    # http://hl7.org/fhir/ValueSet/publication-status (required)
    "CodeSystem.status": {"draft", "active", "retired", "unknown"},
    # http://hl7.org/fhir/ValueSet/codesystem-content-mode (required)
    "CodeSystem.content": {"not-present", "example", "fragment", "complete", "supplement"},
    # http://hl7.org/fhir/ValueSet/name-use (required)
    "HumanName.use": {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
    # http://hl7.org/fhir/ValueSet/contact-point-system (required)
    "ContactPoint.system": {"phone", "fax", "email", "pager", "url", "sms", "other"},
}

CODE_SYSTEMS: dict[str, set[str]] = {
    # Goal.achievementStatus: http://hl7.org/fhir/ValueSet/goal-achievement
    "http://terminology.hl7.org/CodeSystem/goal-achievement": {
        "in-progress",
        "improving",
        "worsening",
        "no-change",
        "achieved",
        "sustaining",
        "not-achieved",
        "no-progress",
        "not-attainable",
    },
    # Provenance.activity: http://hl7.org/fhir/ValueSet/provenance-activity-type
    # (v3 DataOperation part)
    "http://terminology.hl7.org/CodeSystem/v3-DataOperation": {
        "CREATE",
        "DELETE",
        "UPDATE",
        "APPEND",
        "NULLIFY",
        "ABORT",
        "ACTIVATE",
        "CANCEL",
        "COMPLETE",
        "HOLD",
        "JUMP",
        "OBSOLETE",
        "RELEASE",
        "REACTIVATE",
        "RESUME",
        "SUSPEND",
        "EXECUTE",
    },
    # Provenance.agent.type: http://hl7.org/fhir/ValueSet/provenance-agent-type
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type": {
        "enterer",
        "performer",
        "author",
        "verifier",
        "legal",
        "attester",
        "informant",
        "custodian",
        "assembler",
        "composer",
    },
}
