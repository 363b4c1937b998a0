"""The seeded level catalogue and document-type families."""

from __future__ import annotations

from typing import Any

IDENTITY_TYPES = ("PASSPORT", "ID_CARD", "DRIVERS", "RESIDENCE_PERMIT")
ALL_DOC_TYPES = (*IDENTITY_TYPES, "SELFIE", "UTILITY_BILL", "BANK_STATEMENT", "PROFILE_IMAGE", "OTHER")
SUB_TYPES = ("FRONT_SIDE", "BACK_SIDE")

# Dakota's level first: the types it accepts are the ones its document enum has (passport, drivers, residence).
DEFAULT_LEVELS: list[dict[str, Any]] = [
    {
        "name": "id-only",
        "description": "Dakota's recipient level: one identity document.",
        "doc_sets": [{"idDocSetType": "IDENTITY", "types": ["PASSPORT", "DRIVERS", "RESIDENCE_PERMIT"]}],
    },
    {
        "name": "basic-kyc-level",
        "description": "Identity document and selfie.",
        "doc_sets": [
            {"idDocSetType": "IDENTITY", "types": list(IDENTITY_TYPES), "subTypes": list(SUB_TYPES)},
            {"idDocSetType": "SELFIE", "types": ["SELFIE"], "videoRequired": "passiveLiveness"},
        ],
    },
    {
        "name": "id-card-level",
        "description": "National ID card only (a donor verified here is incompatible with Dakota's id-only).",
        "doc_sets": [{"idDocSetType": "IDENTITY", "types": ["ID_CARD"], "subTypes": list(SUB_TYPES)}],
    },
    {
        "name": "edd-level",
        "description": "Enhanced due diligence: identity, selfie, proof of residence and a questionnaire.",
        "doc_sets": [
            {"idDocSetType": "IDENTITY", "types": list(IDENTITY_TYPES), "subTypes": list(SUB_TYPES)},
            {"idDocSetType": "SELFIE", "types": ["SELFIE"], "videoRequired": "passiveLiveness"},
            {"idDocSetType": "PROOF_OF_RESIDENCE", "types": ["UTILITY_BILL", "BANK_STATEMENT"]},
            {"idDocSetType": "QUESTIONNAIRE", "questionnaireDefId": "edd_questionnaire"},
        ],
    },
    {
        "name": "basic-profile-level",
        "description": "Applicant data and a questionnaire, no identity step (weaker than id-only).",
        "doc_sets": [
            {"idDocSetType": "APPLICANT_DATA", "fields": [{"name": "firstName"}, {"name": "lastName"}]},
            {"idDocSetType": "QUESTIONNAIRE", "questionnaireDefId": "profile_questionnaire"},
        ],
    },
]

# Which level step a document type satisfies.
STEP_OF_TYPE = {
    **dict.fromkeys(IDENTITY_TYPES, "IDENTITY"),
    "SELFIE": "SELFIE",
    "UTILITY_BILL": "PROOF_OF_RESIDENCE",
    "BANK_STATEMENT": "PROOF_OF_RESIDENCE",
}
