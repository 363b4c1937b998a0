"""Every error is answered in the envelope of the API its request belongs to: a matched route's blueprint decides,
the app's fallback decides unmatched paths by prefix (`simulator.http.api_of`, the one place), and a Dakota
operation's errors take the media type its contract declares (the bulk import's are plain JSON)."""

from __future__ import annotations

import uuid

import pytest

from simulator.http import api_of
from tests.support import ADMIN_KEY, Kit

SUMSUB = {"description", "code", "correlationId"}
CONTROL = {"error"}
PROBLEM = {"type", "title", "status", "detail", "instance", "request_id"}


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/resources/applicants", "sumsub"),
        ("/_sandbox/health", "control"),
        ("/dashboard/", "dashboard"),
        ("/customers", "dakota"),
        ("/openapi/dakota.json", "dakota"),
    ],
)
def test_api_of(path: str, api: str) -> None:
    assert api_of(path) == api


@pytest.mark.parametrize(
    ("method", "path", "status", "keys", "media_type"),
    [
        # unmatched paths: the fallback, by prefix
        ("GET", "/resources/no-such-thing", 404, SUMSUB, "application/json"),
        ("GET", "/_sandbox/no-such-thing", 404, CONTROL, "application/json"),
        ("GET", "/no-such-thing", 404, PROBLEM, "application/problem+json"),
        # a method a route does not take (no route matched either)
        ("DELETE", "/_sandbox/health", 405, CONTROL, "application/json"),
        ("DELETE", "/customers", 405, PROBLEM, "application/problem+json"),
    ],
)
def test_unmatched_requests_get_their_apis_envelope(
    kit: Kit, method: str, path: str, status: int, keys: set[str], media_type: str
) -> None:
    resp = kit.http.request(method, kit.base_url + path, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == status, resp.text
    assert keys <= set(resp.json()), resp.json()
    assert resp.headers["Content-Type"].split(";")[0] == media_type


def test_a_bulk_import_error_is_plain_json_with_problems_types_as_its_contract_declares(kit: Kit) -> None:
    resp = kit.http.post(
        kit.base_url + "/customers/bulk-import-sumsub-tokens", json={"tokens": []}, headers={"x-api-key": ADMIN_KEY}
    )
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    assert resp.json()["type"].startswith("https://api.platform.dakota.xyz/problems/")


def test_a_bulk_import_refused_at_the_edge_is_still_in_its_family(kit: Kit) -> None:
    """413 is raised before any route runs (the body limit); the operation's contract still decides its media type."""
    big = b'{"tokens": ["' + b"x" * (17 * 1024 * 1024) + b'"]}'  # past the 16 MiB default limit
    resp = kit.http.post(
        kit.base_url + "/customers/bulk-import-sumsub-tokens",
        data=big,
        headers={"x-api-key": ADMIN_KEY, "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    assert resp.json()["type"] == "https://api.platform.dakota.xyz/problems/payload-too-large"
    # Dakota's spec lists no 413 for this operation (docs/fidelity.md lists the statuses beyond it)
    assert [p.message for p in kit.contract_problems] == ["status 413 is not declared for this operation"]
    kit.contract_problems.clear()


def test_other_dakota_errors_are_problem_json(kit: Kit) -> None:
    resp = kit.http.get(kit.base_url + "/customers/nope", headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].split(";")[0] == "application/problem+json"
    assert resp.json()["type"].startswith("https://docs.dakota.xyz/api-reference/errors#")


@pytest.mark.parametrize(
    ("api", "path", "keys"),
    [
        ("sumsub", "/resources/status/api", SUMSUB),
        ("dakota", "/customers", PROBLEM),
        ("dashboard", "/dashboard/", PROBLEM),
    ],
)
def test_an_injected_status_takes_the_envelope_of_its_api(kit: Kit, api: str, path: str, keys: set[str]) -> None:
    rule = {"id": "boom", "api": api, "status": 503}
    assert kit.http.post(kit.base_url + "/_sandbox/faults", json={"rules": [rule]}).status_code == 200
    resp = kit.http.get(kit.base_url + path, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 503
    assert resp.headers["X-Sandbox-Fault"] == "boom"
    assert keys <= set(resp.json()), resp.json()


def test_a_101_token_batch_is_answered_with_the_contracts_text(kit: Kit) -> None:
    """One owner: the batch limit and its text are the contract's (the importer once had its own, never served)."""
    resp = kit.http.post(
        kit.base_url + "/customers/bulk-import-sumsub-tokens",
        json={"tokens": ["t"] * 101},
        headers={"x-api-key": ADMIN_KEY, "x-idempotency-key": str(uuid.uuid4())},
    )
    assert resp.status_code == 400
    body = resp.json()
    assert body["detail"] == "tokens must contain at most 100 items; split the batch"
    assert body["errors"] == [
        {"field": "tokens", "message": "tokens must contain at most 100 items; split the batch", "code": "max_items"}
    ]
