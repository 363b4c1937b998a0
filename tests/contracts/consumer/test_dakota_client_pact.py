"""Consumer contract of the reference Dakota client (`DakotaApi`) with Dakota's API: the bulk import of Sumsub
share tokens in each of its outcomes, the customer and application it creates, and a submission that is not ready.
"""

from __future__ import annotations

import uuid
from typing import Any

import requests
from pact import Pact, match
from pact.interaction import HttpInteraction

from simulator.control import pact_states as states
from simulator.harness.clients import DakotaApi
from tests.support import ADMIN_KEY, VIEWER_KEY
from tests.support.pact import APPLICATION_TOKEN, KSUID, RFC3339, TOKEN, from_state, hex24, ksuid

JSON = "application/json"
BULK = "/customers/bulk-import-sumsub-tokens"
IDEMPOTENCY_KEY = "6f1c2a4e-3b5d-4c7e-9f80-1a2b3c4d5e6f"


def bulk_request(pact: Pact, description: str, *states_: str, key: Any = None, tokens: Any = None) -> HttpInteraction:
    interaction = pact.upon_receiving(description)
    for state in states_:
        interaction.given(state)
    return (
        interaction.with_request("POST", BULK)
        .with_header("x-api-key", key if key is not None else match.like(ADMIN_KEY))
        .with_header("x-idempotency-key", match.uuid(IDEMPOTENCY_KEY))
        .with_body({"tokens": [from_state("${token}", TOKEN)]} if tokens is None else {"tokens": tokens}, JSON)
    )


def failed_row(error: Any, name: Any = "Unknown") -> dict[str, Any]:
    return {"total": 1, "succeeded": 0, "failed": 1, "results": [{"name": name, "success": False, "error": error}]}


def import_one(url: str, key: str = ADMIN_KEY) -> dict[str, Any]:
    resp = DakotaApi(url, key).bulk_import_sumsub_tokens([TOKEN])
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def problem(status: int, detail: Any) -> dict[str, Any]:
    """Dakota's problem details (RFC 9457) as the bulk import answers them."""
    return {
        "type": match.regex(
            "https://api.platform.dakota.xyz/problems/x", regex=r"^https://api\.platform\.dakota\.xyz/problems/.+"
        ),
        "title": match.like("Unauthorized"),
        "status": status,
        "detail": detail,
    }


# ------------------------------------------------------------------------------------------------ bulk import
def test_bulk_import_valid_token_creates_customer_and_application(dakota_pact: Pact) -> None:
    (
        bulk_request(dakota_pact, "a bulk import of a valid share token", states.TOKEN_FOR_DAKOTA)
        .will_respond_with(200)
        .with_body(
            {
                "total": 1,
                "succeeded": 1,
                "failed": 0,
                "results": [
                    {
                        "name": match.regex("Olivia Bennett (from Sumsub)", regex=r"^.+ \(from Sumsub\)$"),
                        "success": True,
                        "customer_id": ksuid(),
                        "application_id": ksuid(),
                    }
                ],
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        body = import_one(str(srv.url))
    assert body["results"][0]["customer_id"] == KSUID


def test_bulk_import_expired_token_fails_row(dakota_pact: Pact) -> None:
    expired = match.regex(
        "Failed to redeem share token: Share token expired",
        regex=r"^Failed to redeem share token: Share token expired.*",
    )
    (
        bulk_request(dakota_pact, "a bulk import of an expired share token", states.TOKEN_EXPIRED)
        .will_respond_with(200)
        .with_body(failed_row(expired), JSON)
    )
    with dakota_pact.serve() as srv:
        body = import_one(str(srv.url))
    assert body["failed"] == 1


def test_bulk_import_redeemed_token_fails_row(dakota_pact: Pact) -> None:
    single_use = match.regex(
        "Tokens are single-use: this share token was already redeemed", regex=r"^Tokens are single-use.*"
    )
    (
        bulk_request(dakota_pact, "a bulk import of an already redeemed share token", states.TOKEN_REDEEMED)
        .will_respond_with(200)
        .with_body(failed_row(single_use), JSON)
    )
    with dakota_pact.serve() as srv:
        body = import_one(str(srv.url))
    assert "single-use" in body["results"][0]["error"]


def test_bulk_import_incompatible_token_fails_row_with_10513(dakota_pact: Pact) -> None:
    incompatible = match.regex(
        "Sumsub error 10513: the donor's verification data isn't compatible with Dakota's requirements",
        regex=r".*10513.*isn't compatible with Dakota's requirements.*",
    )
    (
        bulk_request(
            dakota_pact, "a bulk import of an incompatible (ID card only) share token", states.TOKEN_INCOMPATIBLE
        )
        .will_respond_with(200)
        .with_body(failed_row(incompatible, match.like("Unknown")), JSON)
    )
    with dakota_pact.serve() as srv:
        body = import_one(str(srv.url))
    assert "10513" in body["results"][0]["error"]


def test_bulk_import_with_viewer_key_is_unauthorized(dakota_pact: Pact) -> None:
    (
        bulk_request(
            dakota_pact,
            "a bulk import with a key lacking manage_compliance_applications",
            states.VIEWER_KEY,
            key=from_state("${apiKey}", VIEWER_KEY),
            tokens=[TOKEN],
        )
        .will_respond_with(401)
        .with_body(problem(401, "Token import requires manage_compliance_applications"), JSON)
    )
    with dakota_pact.serve() as srv:
        resp = DakotaApi(str(srv.url), VIEWER_KEY).bulk_import_sumsub_tokens([TOKEN])
    assert resp.status_code == 401


def test_bulk_import_without_tokens_is_a_bad_request(dakota_pact: Pact) -> None:
    (
        bulk_request(dakota_pact, "a bulk import with an empty token list", states.EMPTY, tokens=[])
        .will_respond_with(400)
        .with_body(
            {
                **problem(400, match.like("Request body must contain at least one item")),
                "title": match.like("Invalid Request"),
                "errors": match.each_like({"field": "tokens", "message": match.like("at least one item")}),
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        resp = DakotaApi(str(srv.url), ADMIN_KEY).bulk_import_sumsub_tokens([])
    assert resp.status_code == 400


# ------------------------------------------------------------------------------------------------ what it created
def test_get_imported_customer(dakota_pact: Pact) -> None:
    (
        dakota_pact.upon_receiving("a request for a customer created by a token import")
        .given(states.APPLICATION_PENDING, {"profile": "gb-passport"})
        .with_request("GET", from_state("/customers/${customerId}", f"/customers/{KSUID}"))
        .with_header("x-api-key", match.like(ADMIN_KEY))
        .will_respond_with(200)
        .with_body(
            {
                "id": ksuid(),
                "name": match.regex("Olivia Bennett (from Sumsub)", regex=r"^.+ \(from Sumsub\)$"),
                "customer_type": "individual",
                "application_id": ksuid(),
                "application_status": "pending",
                "application_url": match.regex(
                    f"http://127.0.0.1:8080/applications/{KSUID}?token={APPLICATION_TOKEN}",
                    regex=r"^https?://.+/applications/[0-9A-Za-z]{27}\?token=\S+$",
                ),
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        api = DakotaApi(str(srv.url), ADMIN_KEY)
        resp = api.get_customer(KSUID)
        assert api.application_token(KSUID) == APPLICATION_TOKEN
    assert resp.json()["application_status"] == "pending"


def test_get_application_with_application_token(dakota_pact: Pact) -> None:
    (
        dakota_pact.upon_receiving("a request for an imported application with its X-Application-Token")
        .given(states.APPLICATION_PENDING, {"profile": "gb-passport"})
        .with_request("GET", from_state("/applications/${applicationId}", f"/applications/{KSUID}"))
        .with_query_parameter("include", "entities")
        .with_header("X-Application-Token", from_state("${applicationToken}", APPLICATION_TOKEN))
        .will_respond_with(200)
        .with_body(
            {
                "application_id": ksuid(),
                "application_type": "individual",
                "application_status": "pending",
                "application_created_at": match.regex("2026-01-02T03:04:05Z", regex=RFC3339),
                "entities": {
                    "primary_individual": {
                        "id": ksuid(),
                        "first_name": match.like("Olivia"),
                        "last_name": match.like("Bennett"),
                        "date_of_birth": match.regex("1990-04-12", regex=r"^\d{4}-\d{2}-\d{2}$"),
                        "nationalities": match.each_like("GB"),
                        "address": {"country": match.regex("GB", regex=r"^[A-Z]{2}$")},
                        "sumsub_verification": {
                            "provider_applicant_id": hex24(),
                            "sumsub_review_status": "approved",
                        },
                    }
                },
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        resp = DakotaApi(str(srv.url), ADMIN_KEY).get_application(KSUID, APPLICATION_TOKEN, include="entities")
    assert resp.json()["entities"]["primary_individual"]["sumsub_verification"]["sumsub_review_status"] == "approved"


def test_get_application_without_include_carries_its_entities(dakota_pact: Pact) -> None:
    (
        dakota_pact.upon_receiving("a request for an imported application with no include (as Dakota's TS SDK sends)")
        .given(states.APPLICATION_PENDING, {"profile": "gb-passport"})
        .with_request("GET", from_state("/applications/${applicationId}", f"/applications/{KSUID}"))
        .with_header("X-Application-Token", from_state("${applicationToken}", APPLICATION_TOKEN))
        .will_respond_with(200)
        .with_body(
            {
                "application_id": ksuid(),
                "application_status": "pending",
                "entities": {
                    "primary_individual": {
                        "id": ksuid(),
                        "first_name": match.like("Olivia"),
                        "last_name": match.like("Bennett"),
                        "sumsub_verification": {"provider_applicant_id": hex24()},
                    }
                },
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        resp = DakotaApi(str(srv.url), ADMIN_KEY).get_application(KSUID, APPLICATION_TOKEN)
    assert resp.json()["entities"]["primary_individual"]["first_name"] == "Olivia"


def test_submit_imported_application_not_ready(dakota_pact: Pact) -> None:
    (
        dakota_pact.upon_receiving("a submission of an imported application before Step 3")
        .given(states.APPLICATION_PENDING, {"profile": "gb-passport"})
        .with_request(
            "POST", from_state("/applications/${applicationId}/submissions", f"/applications/{KSUID}/submissions")
        )
        .with_header("X-Application-Token", from_state("${applicationToken}", APPLICATION_TOKEN))
        .with_header("x-idempotency-key", match.uuid(IDEMPOTENCY_KEY))
        .with_body({}, JSON)
        .will_respond_with(400)
        .with_body(
            {
                "code": "application_not_ready",
                "application_id": ksuid(),
                "status_message": match.regex("Waiting on: individual details", regex=r"^Waiting on: .+"),
                "incomplete_applicants": match.each_like(
                    {
                        "applicant_type": "individual",
                        "ready": False,
                        "missing_fields": match.each_like("employment_status"),
                    }
                ),
                "missing_attestations": match.each_like("e_sign"),
            },
            JSON,
        )
    )
    with dakota_pact.serve() as srv:
        # The reference client has no Step 3 calls: this is the request an integrator's client sends.
        resp = requests.post(
            f"{srv.url}/applications/{KSUID}/submissions",
            json={},
            headers={"X-Application-Token": APPLICATION_TOKEN, "x-idempotency-key": str(uuid.uuid4())},
            timeout=10,
        )
    assert resp.json()["code"] == "application_not_ready"
