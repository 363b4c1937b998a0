"""The property run's sandbox: one per module, seeded with a donor, an imported customer and a webhook target.

In-process by default; `KYC_SANDBOX_URL=http://host:port` runs the same checks against a served sandbox.
Requests are authenticated by `requests` auth objects applied last, on the prepared request: Sumsub's X-App-* are
computed over the exact body bytes and path+query being sent; Dakota gets the admin key and the seeded
application's X-Application-Token. Schemathesis generates everything else from the served contract.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
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
from simulator.app import create_app
from simulator.harness.clients import harness_session
from simulator.harness.transport import in_process_session
from simulator.seed import DAKOTA_KEYS, SUMSUB_CLIENTS
from simulator.settings import Settings
from simulator.sumsub.signing import signed_headers

ADMIN_KEY = DAKOTA_KEYS[0]["key"]
DONOR = next(c for c in SUMSUB_CLIENTS if c["client_id"] == "acme-wallet_20419")
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


class SumsubSigner(requests.auth.AuthBase):
    """X-App-Token / X-App-Access-Ts / X-App-Access-Sig over exactly what is sent."""

    def __init__(self, app_token: str, secret_key: str) -> None:
        self.app_token = app_token
        self.secret_key = secret_key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
        r.headers.update(
            signed_headers(self.app_token, self.secret_key, int(time.time()), r.method or "GET", r.path_url, body)
        )
        return r


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


def _seed(base_url: str, http: requests.Session) -> dict[str, str]:
    """A donor applicant, an imported customer with its application, and a webhook target with an event."""
    donor = http.post(f"{base_url}/_sandbox/donors", json={"profile": "gb-passport", "client_id": DONOR["client_id"]})
    donor.raise_for_status()
    minted = http.post(f"{base_url}/_sandbox/donors", json={"profile": "us-ssn", "share_with": "dakota.xyz_158913"})
    minted.raise_for_status()
    headers = {"x-api-key": ADMIN_KEY}
    http.post(
        f"{base_url}/webhooks/targets",
        json={"url": "http://127.0.0.1:9/never", "global": True},
        headers={**headers, "x-idempotency-key": str(uuid.uuid4())},
    ).raise_for_status()
    imported = http.post(
        f"{base_url}/customers/bulk-import-sumsub-tokens",
        json={"tokens": [minted.json()["share_token"]["token"]]},
        headers={**headers, "x-idempotency-key": str(uuid.uuid4())},
    )
    imported.raise_for_status()
    row = imported.json()["results"][0]
    customer = http.get(f"{base_url}/customers/{row['customer_id']}", headers=headers).json()
    token = customer["application_url"].split("token=", 1)[1]
    application = http.get(
        f"{base_url}/applications/{row['application_id']}?include=entities",
        headers={"X-Application-Token": token},
    ).json()
    target = http.get(f"{base_url}/webhooks/targets", headers=headers).json()["data"][0]
    event = http.get(f"{base_url}/events", headers=headers).json()["data"][0]
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


@pytest.fixture(scope="module")
def property_sandbox() -> Iterator[PropertySandbox]:
    live = os.environ.get("KYC_SANDBOX_URL")
    app = None
    if live:
        base_url, raw = live.rstrip("/"), harness_session()
        raw.post(f"{base_url}/_sandbox/reset").raise_for_status()
    else:
        app = create_app(Settings(database_url="sqlite://", seed=4242, journal_size=50, background_dispatch=0))
        raw, base_url = in_process_session(app)
    known = _seed(base_url, raw)

    def session(auth: requests.auth.AuthBase | None) -> requests.Session:
        s = harness_session()
        s.adapters = raw.adapters
        s.auth = auth
        return s

    sessions = {
        "sumsub": session(SumsubSigner(DONOR["app_token"], DONOR["secret_key"])),
        "dakota": session(DakotaAuth(ADMIN_KEY, known["application_token"])),
        "control": session(None),
    }
    yield PropertySandbox(base_url, sessions, known)
    if app is not None:
        app.extensions["kyc_sandbox"].close()


def contract_schema(api: str) -> OpenApiSchema:
    """The contract as the sandbox serves it at /openapi/<api>.json, loaded for schemathesis."""
    return schemathesis.openapi.from_dict(
        served_document(api, "http://sandbox.local"), config=schemathesis.Config.from_dict(CONFIG)
    )
