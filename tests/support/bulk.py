"""`POST /customers/bulk-import-sumsub-tokens`: raw requests, its problem flavours, counts, and reads of an import."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from tests.support.dakota import BULK, mint_and_import
from tests.support.kit import ADMIN_KEY, Kit

BULK_400_TYPE = "https://api.platform.dakota.xyz/problems/invalid-request"
BULK_401_TYPE = "https://api.platform.dakota.xyz/problems/unauthorized"


def post_bulk_raw(
    kit: Kit,
    data: bytes,
    *,
    api_key: str | None = ADMIN_KEY,
    idempotency_key: str | None = None,
    send_idempotency_key: bool = True,
) -> requests.Response:
    """Exactly `data` as the body of a bulk import, with the given (or no) credentials and idempotency key."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    if send_idempotency_key:
        headers["x-idempotency-key"] = str(uuid.uuid4()) if idempotency_key is None else idempotency_key
    return kit.http.post(kit.base_url + BULK, data=data, headers=headers, timeout=30)


def tokens_body(tokens: Any) -> bytes:
    return json.dumps({"tokens": tokens}).encode()


def customer_count(kit: Kit) -> int:
    resp = kit.admin.list_customers(limit=100)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["meta"]["total_count"])


def application_count(kit: Kit) -> int:
    resp = kit.admin.list_applications(limit=100)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["meta"]["total_count"])


def assert_failed_row(row: dict[str, Any], *fragments: str) -> str:
    """A failed row (no customer, no application) whose error contains every fragment; the error text."""
    assert row["success"] is False, row
    assert "customer_id" not in row and "application_id" not in row, row
    error = str(row["error"])
    for fragment in fragments:
        assert fragment in error, f"{fragment!r} not in {error!r}"
    return error


def assert_bulk_problem(resp: requests.Response, status: int) -> dict[str, Any]:
    """The bulk import's own problem flavour: application/json, `/problems/` types."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["type"] == (BULK_400_TYPE if status == 400 else BULK_401_TYPE)
    assert body["instance"].endswith(BULK)
    assert body["request_id"].startswith("req_")
    return body


def assert_problem(resp: requests.Response, status: int) -> dict[str, Any]:
    """Dakota's general problem details: application/problem+json."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].split(";")[0] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("https://docs.dakota.xyz/api-reference/errors#")
    return body


def imported_application(kit: Kit, profile: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Import one donor of `profile` (`mint_and_import`); the success row and the application read with
    include=all."""
    row = mint_and_import(kit, profile)
    return row, kit.application(row["customer_id"], row["application_id"])


def individual(app: dict[str, Any]) -> dict[str, Any]:
    ind: dict[str, Any] = app["entities"]["primary_individual"]
    return ind


def uploaded_types(app: dict[str, Any]) -> list[str]:
    docs = app["validation"]["primary_individual"]["documents"]["uploaded_documents"]
    return sorted(d["document_type"] for d in docs)


def missing_fields(app: dict[str, Any]) -> list[str]:
    fields: list[str] = app["validation"]["primary_individual"]["details"]["missing_fields"]
    return fields
