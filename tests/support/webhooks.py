"""Webhooks: dispatching on demand, the outbox, delivery history, replays, and an independent check of Dakota's
Ed25519 signature. Receivers: `simulator.harness.receiver.WebhookReceiver` (the `rx` and `rx2` fixtures of
tests/webhooks/conftest.py)."""

from __future__ import annotations

import base64
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from simulator.harness.receiver import Received
from tests.support.dakota import dakota_headers
from tests.support.kit import ADMIN_KEY, Kit

CUSTOMER_CREATED = "customer.created"


def dispatch(kit: Kit) -> list[dict[str, Any]]:
    """Deliver what is due now (`/_sandbox/webhooks/dispatch`): what was attempted."""
    resp = kit.http.post(f"{kit.base_url}/_sandbox/webhooks/dispatch")
    assert resp.status_code == 200, resp.text
    fired: list[dict[str, Any]] = resp.json()["fired"]
    return fired


def advance(kit: Kit, seconds: float) -> list[dict[str, Any]]:
    """Move the simulated clock; what fell due on the way and was attempted."""
    resp = kit.control.advance(seconds)
    assert resp.status_code == 200, resp.text
    fired: list[dict[str, Any]] = resp.json()["fired"]
    return fired


def outbox(kit: Kit, **params: str) -> list[dict[str, Any]]:
    resp = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/outbox", params=params, timeout=30)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def public_key(kit: Kit) -> str:
    return str(kit.http.get(f"{kit.base_url}/_sandbox/webhooks/public-key", timeout=30).json()["public_key_hex"])


def history(kit: Kit, **params: Any) -> dict[str, Any]:
    resp = kit.http.get(f"{kit.base_url}/webhooks", params=params, headers=dakota_headers(idempotency=False))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def replay(kit: Kit, event_id: str, key: str = ADMIN_KEY) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/webhooks/events/{event_id}/replay", headers=dakota_headers(key))


def types_of(received: list[Received]) -> list[str]:
    return [r.json()["type"] for r in received]


def ed25519_ok(public_hex: str, timestamp: str, body: bytes, signature_b64: str) -> bool:
    """An independent check, as a receiver would write it with `cryptography` alone."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            base64.b64decode(signature_b64), timestamp.encode() + body
        )
    except InvalidSignature:
        return False
    return True
