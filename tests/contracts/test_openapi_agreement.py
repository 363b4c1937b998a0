"""The sandbox's Dakota contract agrees with Dakota's published spec, in both directions.

1. `contracts/openapi/dakota.yaml` is exactly what `python -m simulator.apispec.derive` makes of the vendor spec and
   the overlay: no hand edits, and a vendor update cannot silently leave a stale copy behind.
2. Vendor → sandbox: every example Dakota's spec gives for an operation the sandbox shares (request bodies, and
   responses per status and media type) validates against the sandbox's schema for the same place. A sandbox schema
   stricter than the vendor's (a field the vendor's examples omit made required, a narrower enum or pattern) fails
   here; so does an operation the sandbox serves under another method or path. The few known disagreements are
   listed in KNOWN with their reason, and the test fails if one of them goes away (so the list stays true).
3. Sandbox → vendor: every response the sandbox sends validates against the vendor's schema for that operation.
   The whole suite checks it (tests/conftest.py's kit); `test_every_shared_operation_answers_within_both_contracts`
   drives each shared operation once so none escapes.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from simulator.apispec import derive
from simulator.apispec.loader import load_contract, read_yaml
from simulator.harness.openapi import OpenApiContract, _escape
from tests.support import ADMIN_KEY, ROOT, Kit, mint_and_import

VENDOR = read_yaml(ROOT / "contracts" / "vendor" / "dakota-openapi.yaml")
OURS = load_contract("dakota")
METHODS = ("get", "put", "post", "patch", "delete")
# (method path, status, media type, example name): why the sandbox's schema deliberately rejects the vendor example.
_NO_INSTANCE = (
    "Dakota's example omits `instance` and `request_id`, which its other 77 problem examples carry; the sandbox "
    "always sends both (RFC 9457 allows them, and support needs the request id), so its problem schema requires them"
)
KNOWN: dict[tuple[str, str, str, str], str] = {
    ("POST /applications/{application_id}/attestations", "400", "application/problem+json", name): _NO_INSTANCE
    for name in ("e_sign_required", "invalid_timestamp")
}


def shared_operations() -> list[tuple[str, str]]:
    return [(m, p) for p, item in OURS["paths"].items() for m in item if m in METHODS]


def examples(content: dict[str, Any]) -> list[tuple[str, Any]]:
    found = [("example", content["example"])] if "example" in content else []
    found += [(name, ex["value"]) for name, ex in content.get("examples", {}).items() if "value" in ex]
    return found


@pytest.fixture(scope="module")
def ours() -> OpenApiContract:
    return OpenApiContract.load(ROOT / "contracts" / "openapi" / "dakota.yaml")


def test_dakota_contract_is_derived_from_the_vendor_spec_and_current() -> None:
    current = (ROOT / "contracts" / "openapi" / "dakota.yaml").read_text(encoding="utf-8")
    assert current == derive.derived_text(), "run `python -m simulator.apispec.derive` and commit the result"


@pytest.mark.parametrize(("method", "path"), shared_operations(), ids=lambda v: v)
def test_every_sandbox_operation_exists_in_the_vendor_spec_with_its_security(method: str, path: str) -> None:
    vendor_op = VENDOR["paths"][path][method]
    our_op = OURS["paths"][path][method]
    assert our_op["operationId"] == vendor_op["operationId"]
    assert our_op.get("security", OURS["security"]) == vendor_op.get("security", VENDOR["security"])


@pytest.mark.parametrize(("method", "path"), shared_operations(), ids=lambda v: v)
def test_vendor_examples_validate_against_the_sandbox_contract(ours: OpenApiContract, method: str, path: str) -> None:
    vendor_op = VENDOR["paths"][path][method]
    op_key = f"{method.upper()} {path}"
    failures: dict[tuple[str, str, str, str], str] = {}
    checked = 0
    body = vendor_op.get("requestBody", {}).get("content", {}).get("application/json", {})
    for name, value in examples(body):
        pointer = "/".join(
            ["#", "paths", _escape(path), method, "requestBody", "content", "application~1json", "schema"]
        )
        errors = list(ours._validator(pointer).iter_errors(value))
        checked += 1
        if errors:
            failures[(op_key, "request", "application/json", name)] = errors[0].message
    our_responses = OURS["paths"][path][method]["responses"]
    for status, response in vendor_op.get("responses", {}).items():
        if status not in our_responses:
            continue  # a status the sandbox never answers (402, 5xx, default): nothing to agree on
        for media, content in (response.get("content") or {}).items():
            for name, value in examples(content):
                problems = ours.validate_response(method.upper(), path, int(status), media, value)
                checked += 1
                if problems:
                    failures[(op_key, status, media, name)] = str(problems[0])
    unexpected = {k: v for k, v in failures.items() if k not in KNOWN}
    assert not unexpected, "the sandbox's contract rejects Dakota's own examples:\n" + "\n".join(
        f"{k}: {v}" for k, v in unexpected.items()
    )
    stale = [k for k in KNOWN if k[0] == op_key and k not in failures]
    assert not stale, f"KNOWN lists disagreements that no longer occur: {stale}"
    assert checked or not vendor_op.get("responses"), "no vendor example at all: nothing was compared"


def test_every_shared_operation_answers_within_both_contracts(kit: Kit, vendor_contract: OpenApiContract) -> None:
    """Drive each shared operation once; the kit validates every answer against both contracts."""
    seen: set[str] = set()

    def note(resp: Any, *_a: Any, **_k: Any) -> None:
        from urllib.parse import urlsplit

        template = vendor_contract.template_for(resp.request.method, urlsplit(resp.url).path)
        if template:
            seen.add(f"{resp.request.method.lower()} {template}")

    kit.http.hooks["response"].append(note)
    h = {"x-api-key": ADMIN_KEY}
    base = kit.base_url
    target = kit.http.post(
        f"{base}/webhooks/targets",
        json={"url": "http://127.0.0.1:9/hooks", "global": True},
        headers={**h, "x-idempotency-key": str(uuid.uuid4())},
    ).json()
    row = mint_and_import(kit, "us-ssn")
    created = kit.http.post(
        f"{base}/customers",
        json={"name": "Acme Ltd", "customer_type": "individual"},
        headers={**h, "x-idempotency-key": str(uuid.uuid4())},
    )
    assert created.status_code == 201
    kit.http.get(f"{base}/customers", headers=h)
    kit.http.get(f"{base}/customers/{row['customer_id']}", headers=h)
    kit.http.get(f"{base}/applications", headers=h)
    token = kit.admin.application_token(row["customer_id"])
    app_h = {"X-Application-Token": token}
    app = kit.http.get(f"{base}/applications/{row['application_id']}?include=all", headers=app_h).json()
    individual = app["entities"]["primary_individual"]
    kit.http.put(f"{base}/applications/{row['application_id']}/individual-details", json={}, headers=app_h)
    kit.http.post(
        f"{base}/applications/{row['application_id']}/associated-individuals/{individual['id']}/documents",
        json={"type": "source_of_wealth", "file_type": "pdf", "file_content": "JVBERi0xLjQK", "country": "US"},
        headers={**app_h, "x-idempotency-key": str(uuid.uuid4())},
    )
    kit.http.post(
        f"{base}/applications/{row['application_id']}/attestations",
        json={"attestation_type": "e_sign", "timestamp": 1, "applicant_id": individual["id"]},
        headers={**app_h, "x-idempotency-key": str(uuid.uuid4())},
    )
    kit.http.post(
        f"{base}/applications/{row['application_id']}/submissions",
        headers={**app_h, "x-idempotency-key": str(uuid.uuid4())},
    )
    kit.http.post(
        f"{base}/sandbox/simulate/onboarding",
        json={"type": "kyc_approve", "applicant_id": row["application_id"], "simulation_id": "sim-1"},
        headers={**h, "x-idempotency-key": str(uuid.uuid4())},
    )
    kit.http.get(f"{base}/webhooks/targets", headers=h)
    kit.http.get(f"{base}/webhooks/targets/{target['id']}", headers=h)
    kit.http.patch(f"{base}/webhooks/targets/{target['id']}", json={"global": True}, headers=h)
    event = kit.http.get(f"{base}/events", headers=h).json()["data"][0]
    kit.http.get(f"{base}/webhooks", headers=h)
    kit.http.get(f"{base}/webhooks/{event['id']}", headers=h)
    kit.http.post(f"{base}/webhooks/events/{event['id']}/replay", headers=h)
    kit.http.delete(f"{base}/webhooks/targets/{target['id']}", headers=h)
    assert seen == {f"{m} {p}" for m, p in shared_operations()}
