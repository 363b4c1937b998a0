"""The property run of the contracts (schemathesis): the sandbox it runs against, seeded with a donor, an imported
customer and a webhook target, and the auth that signs each generated request as it is sent.

Requests are authenticated by `requests` auth objects applied last, on the prepared request: Sumsub's X-App-* are
computed over the exact body bytes and path+query being sent (`SumsubSigner`); Dakota gets the admin key and the
seeded application's X-Application-Token (`DakotaAuth`). Schemathesis generates everything else from the contract.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from simulator.apispec.loader import served_document
from tests.support.dakota import events, mint_and_import, target_for
from tests.support.kit import CLIENTS, DONOR_ID, make_kit

DONOR = CLIENTS[DONOR_ID]
# Bounded and reproducible for CI: a few examples per operation, fixed seed, no coverage/stateful phases.
MAX_EXAMPLES = int(os.environ.get("KYC_SANDBOX_PROPERTY_EXAMPLES", "10"))
CONFIG = {
    "seed": 20260401,
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "mode": "positive",
        "with-security-parameters": False,
    },
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
}


class DakotaAuth(requests.auth.AuthBase):
    """The admin API key, and the seeded application's token for X-Application-Token operations."""

    def __init__(self, api_key: str, application_token: str) -> None:
        self.api_key = api_key
        self.application_token = application_token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["x-api-key"] = self.api_key
        r.headers["X-Application-Token"] = self.application_token
        return r


@dataclass
class PropertySandbox:
    """Sessions per API and the ids of seeded data, substituted into every other generated case."""

    base_url: str
    sessions: dict[str, requests.Session]
    known: dict[str, str]
    calls: dict[str, int] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"PropertySandbox({self.base_url})"

    def prepare(self, api: str, case: schemathesis.Case) -> None:
        """Every other example of an operation uses the seeded ids, so 2xx answers get checked too."""
        key = f"{case.method} {case.path}"
        n = self.calls[key] = self.calls.get(key, 0) + 1
        if n % 2 == 0 or not case.path_parameters:
            return
        for name in list(case.path_parameters):
            if name in self.known:
                case.path_parameters[name] = self.known[name]

    def run(self, api: str, case: schemathesis.Case) -> None:
        self.prepare(api, case)
        response = case.call(session=self.sessions[api], base_url=self.base_url)
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
                response_headers_conformance,
            ],
        )


def seed(base_url: str, http: requests.Session) -> dict[str, str]:
    """A donor applicant, a webhook target, and an imported customer with its application and its event."""
    kit = make_kit(http, base_url, None)
    donor = kit.control.create_donor("gb-passport", client_id=DONOR["client_id"])
    donor.raise_for_status()
    target = target_for(kit, "http://127.0.0.1:9/never")
    row = mint_and_import(kit, "us-ssn")
    token = kit.admin.application_token(row["customer_id"])
    application = kit.application(row["customer_id"], row["application_id"], include="entities")
    event = events(kit)["data"][0]
    return {
        "applicantId": donor.json()["applicant_id"],
        "externalUserId": donor.json()["external_user_id"],
        "customer_id": row["customer_id"],
        "application_id": row["application_id"],
        "individual_id": application["entities"]["primary_individual"]["id"],
        "webhook_target_id": target["id"],
        "event_id": event["id"],
        "application_token": token,
    }


def contract_schema(api: str) -> OpenApiSchema:
    """The contract as the sandbox serves it at /openapi/<api>.json, loaded for schemathesis."""
    return schemathesis.openapi.from_dict(
        served_document(api, "http://sandbox.local"), config=schemathesis.Config.from_dict(CONFIG)
    )
