"""Request validation driven by the contracts: each provider's envelope, the failing field named, credentials first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from simulator.apispec.enforce import compile_contracts
from simulator.app import create_app
from simulator.settings import Settings
from tests.support import ADMIN_KEY, VIEWER_KEY, Kit, dakota_headers, mint_and_import


def test_dakota_query_parameter_of_the_wrong_type_is_a_400_problem_naming_it(kit: Kit) -> None:
    resp = kit.http.get(f"{kit.base_url}/webhooks", params={"limit": "many"}, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["errors"] == [{"field": "limit", "message": body["detail"], "code": "invalid"}]


def test_dakota_body_errors_name_each_field_with_a_dot_path(kit: Kit) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/webhooks/targets", json={"url": 42, "global": "yes"}, headers=dakota_headers()
    )
    assert resp.status_code == 400, resp.text
    fields = [e["field"] for e in resp.json()["errors"]]
    assert fields == ["global", "url"]
    assert "(and 1 more field error(s))" in resp.json()["detail"]


def test_dakota_request_without_credentials_is_401_even_when_it_is_also_invalid(kit: Kit) -> None:
    resp = kit.http.get(f"{kit.base_url}/customers", params={"limit": "many"})
    assert resp.status_code == 401
    resp = kit.http.post(f"{kit.base_url}/customers/bulk-import-sumsub-tokens", json={"tokens": []})
    assert resp.status_code == 401


def test_dakota_key_without_the_permission_is_401_before_the_body_is_judged(kit: Kit) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/customers/bulk-import-sumsub-tokens",
        json={"tokens": "nope"},
        headers=dakota_headers(VIEWER_KEY),
    )
    assert resp.status_code == 401
    assert resp.json()["detail"] == "Token import requires manage_compliance_applications"


def test_dakota_viewer_key_gets_403_not_400_on_an_admin_operation(kit: Kit) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/webhooks/targets",
        json={"url": 42},
        headers=dakota_headers(VIEWER_KEY),
    )
    assert resp.status_code == 403


def test_dakota_application_operation_checks_the_token_before_the_body(kit: Kit) -> None:
    row = mint_and_import(kit)
    url = f"{kit.base_url}/applications/{row['application_id']}/attestations"
    bad = {"attestation_type": "nonsense", "timestamp": "soon"}
    assert kit.http.post(url, json=bad, headers={"x-idempotency-key": str(uuid.uuid4())}).status_code == 401
    token = kit.admin.application_token(row["customer_id"])
    resp = kit.http.post(url, json=bad, headers={"X-Application-Token": token, "x-idempotency-key": str(uuid.uuid4())})
    assert resp.status_code == 400
    assert {e["field"] for e in resp.json()["errors"]} == {"attestation_type", "timestamp", "applicant_id"}


def test_missing_idempotency_key_keeps_the_service_message(kit: Kit) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/customers",
        json={"name": "Acme Ltd", "customer_type": "business"},
        headers={"x-api-key": ADMIN_KEY},
    )
    assert resp.status_code == 400
    assert resp.json()["detail"] == "Missing x-idempotency-key header: POST requests require a unique UUID"
    assert resp.json()["errors"][0]["code"] == "required"


def test_sumsub_contract_errors_use_sumsubs_envelope_and_name_the_field(kit: Kit) -> None:
    resp = kit.donor.request("POST", "/resources/accessTokens/sdk", json={"userId": 7, "levelName": "basic-kyc-level"})
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"description", "code", "correlationId"} and body["code"] == 400
    assert body["description"].startswith("userId: ")


def test_sumsub_signature_is_checked_before_the_contract(kit: Kit) -> None:
    resp = kit.http.post(f"{kit.base_url}/resources/accessTokens/sdk", json={"userId": 7})
    assert resp.status_code == 401 and resp.json()["errorCode"] == 4000


def test_sumsub_required_query_parameter_keeps_the_service_message(kit: Kit) -> None:
    resp = kit.donor.request("POST", "/resources/applicants", json={"externalUserId": "u-1"})
    assert resp.status_code == 400
    assert resp.json()["description"] == "levelName query parameter is required"


def test_control_plane_errors_name_the_field(kit: Kit) -> None:
    resp = kit.http.get(f"{kit.base_url}/_sandbox/journal", params={"api": "stripe"})
    assert resp.status_code == 400
    assert resp.json() == {
        "error": {"status": 400, "message": "api must be one of sumsub, dakota, control, dashboard", "field": "api"}
    }
    resp = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 5, "colour": "red"})
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "colour"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/customers", {"limit": "100", "sort_by": "created_at", "sort_dir": "desc"}),
        ("/webhooks", {"status": "failed"}),
    ],
)
def test_valid_parameters_pass_the_contract(kit: Kit, path: str, params: dict[str, Any]) -> None:
    assert kit.http.get(kit.base_url + path, params=params, headers={"x-api-key": ADMIN_KEY}).status_code == 200


def test_empty_optional_query_values_count_as_absent(kit: Kit) -> None:
    resp = kit.http.get(f"{kit.base_url}/customers", params={"limit": ""}, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 200


def test_contracts_are_compiled_once_per_process(app: Flask) -> None:
    other = create_app(Settings(database_url="sqlite://", background_dispatch=0))
    try:
        assert other.extensions["kyc_sandbox_contracts"] is app.extensions["kyc_sandbox_contracts"]
        assert other.extensions["kyc_sandbox_contracts"] is compile_contracts()
    finally:
        other.extensions["kyc_sandbox"].close()


@given(value=st.one_of(st.text(max_size=40), st.integers(), st.booleans(), st.floats(allow_nan=False), st.none()))
def test_the_fast_parameter_check_agrees_with_the_json_schema_validator(value: Any) -> None:
    for contract in compile_contracts().values():
        for op in contract.operations():
            for p in op.params:
                assert p.accepts is not None, f"{op.key} {p.name}: no fast check"
                assert p.accepts(value) == p.validator.is_valid(value), (op.key, p.name, value)
