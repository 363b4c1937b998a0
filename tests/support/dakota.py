"""Dakota: request headers, the one "mint a share token and import it at Dakota" helper, and small reads.

`mint_and_import` is the only helper that mints a Sumsub share token and imports it at Dakota; every other helper
that needs an imported customer (`onboarding.imported`, `bulk.imported_application`) is built on it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import requests

from tests.support.kit import ADMIN_KEY, DAKOTA_CLIENT_ID, Kit

BULK = "/customers/bulk-import-sumsub-tokens"


def dakota_headers(key: str = ADMIN_KEY, idempotency: bool = True) -> dict[str, str]:
    """`x-api-key: key`, and a fresh `x-idempotency-key` unless `idempotency` is False (reads)."""
    out = {"x-api-key": key}
    if idempotency:
        out["x-idempotency-key"] = str(uuid.uuid4())
    return out


def only_row(body: dict[str, Any]) -> dict[str, Any]:
    """The one result row of a bulk-import response that imported one token."""
    assert body["total"] == 1 and len(body["results"]) == 1, body
    row: dict[str, Any] = body["results"][0]
    return row


def mint_and_import(kit: Kit, profile: str = "gb-passport", **mint: Any) -> dict[str, Any]:
    """Mint a share token for Dakota from a new verified donor of fixture `profile` (through the control plane;
    `**mint` goes with it: ttl_in_secs, client_id, ...) and import it at Dakota with the admin key.

    Asserts the import answered 200 with one successful row, and returns that row:
    `{"name": ..., "success": True, "customer_id": ..., "application_id": ...}`.
    """
    row = only_row(kit.bulk([kit.token(profile, **mint)]))
    assert row["success"] is True, row
    return row


def fixture_donor(
    kit: Kit, profile: str = "gb-passport", share_with: str = DAKOTA_CLIENT_ID, **kw: Any
) -> dict[str, Any]:
    """A verified donor applicant of fixture `profile` and a share token for `share_with` (not imported): the control
    plane's answer, `{"applicant_id", "external_user_id", "share_token": {"token", ...}, ...}`."""
    resp = kit.control.create_donor(profile, share_with=share_with, **kw)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def token_state(kit: Kit, token: str) -> str:
    """active, redeemed or expired (the control plane's view of a share token)."""
    resp = kit.control.token_status(token)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["state"])


def field_errors(resp: requests.Response) -> list[str]:
    """The fields a problem names, without item indexes (`event_types[0]` names `event_types`)."""
    return [re.sub(r"\[\d+\]", "", e["field"]) for e in resp.json().get("errors", [])]


def create_customer(kit: Kit, body: Any, key: str = ADMIN_KEY, idempotency_key: str | None = None) -> requests.Response:
    """`POST /customers` (a manual customer with an empty application)."""
    headers = {"x-api-key": key, "x-idempotency-key": idempotency_key or str(uuid.uuid4())}
    return kit.http.post(f"{kit.base_url}/customers", json=body, headers=headers, timeout=30)


def customer(kit: Kit, customer_id: str) -> dict[str, Any]:
    resp = kit.admin.get_customer(customer_id)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def simulate(
    kit: Kit, application_id: str, kind: str, key: str = ADMIN_KEY, idempotency_key: str | None = None, **extra: Any
) -> requests.Response:
    """`POST /sandbox/simulate/onboarding`: a review decision (`kind`) on a submitted application; `extra` sets or
    (with None) drops body fields, e.g. `simulation_id`, `info_request_fields`."""
    body = {"type": kind, "applicant_id": application_id, "simulation_id": f"sim-{uuid.uuid4().hex[:8]}", **extra}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"x-api-key": key, "x-idempotency-key": idempotency_key or str(uuid.uuid4())}
    return kit.http.post(f"{kit.base_url}/sandbox/simulate/onboarding", json=body, headers=headers, timeout=30)


def events(kit: Kit, key: str = ADMIN_KEY, **params: Any) -> dict[str, Any]:
    """`GET /events` (newest first): the whole page, `{"data": [...], "meta": {...}}`."""
    resp = kit.http.get(f"{kit.base_url}/events", params=params, headers=dakota_headers(key, idempotency=False))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def target_for(kit: Kit, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    """A webhook target of the admin's organisation: global, or for `event_types` only."""
    body: dict[str, Any] = {"url": url, "event_types": event_types} if event_types else {"url": url, "global": True}
    resp = create_target(kit, body)
    assert resp.status_code == 201, resp.text
    target: dict[str, Any] = resp.json()
    return target


def create_target(kit: Kit, body: Any, key: str = ADMIN_KEY) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/webhooks/targets", json=body, headers=dakota_headers(key), timeout=30)
