"""Webhooks from both fakes, delivered over real HTTP to a local receiver.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask

from simulator.app import create_app
from simulator.dakota.events import MAX_REPLAYS
from simulator.dakota.events import RETRY_DELAYS as DAKOTA_RETRY_DELAYS
from simulator.harness.openapi import OpenApiContract
from simulator.harness.receiver import Received, WebhookReceiver
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from simulator.sumsub.notify import RETRY_DELAYS as SUMSUB_RETRY_DELAYS
from simulator.sumsub.profiles import fake_image
from tests.support import (
    ADMIN_KEY,
    DAKOTA_CLIENT_ID,
    DONOR_ID,
    OTHER_ORG_KEY,
    VIEWER_KEY,
    Kit,
    check_own_contracts,
    make_kit,
)

CUSTOMER_CREATED = "customer.created"


# ---------------------------------------------------------------------- fixtures and helpers
@pytest.fixture
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def rx2() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def headers(key: str = ADMIN_KEY, idempotency: bool = True) -> dict[str, str]:
    out = {"x-api-key": key}
    if idempotency:
        out["x-idempotency-key"] = str(uuid.uuid4())
    return out


def create_target(kit: Kit, body: Any, key: str = ADMIN_KEY) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/webhooks/targets", json=body, headers=headers(key))


def target_for(kit: Kit, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "event_types": event_types} if event_types else {"url": url, "global": True}
    resp = create_target(kit, body)
    assert resp.status_code == 201, resp.text
    target: dict[str, Any] = resp.json()
    return target


def dispatch(kit: Kit) -> list[dict[str, Any]]:
    resp = kit.http.post(f"{kit.base_url}/_sandbox/webhooks/dispatch")
    assert resp.status_code == 200, resp.text
    fired: list[dict[str, Any]] = resp.json()["fired"]
    return fired


def advance(kit: Kit, seconds: float) -> list[dict[str, Any]]:
    resp = kit.control.advance(seconds)
    assert resp.status_code == 200, resp.text
    fired: list[dict[str, Any]] = resp.json()["fired"]
    return fired


def outbox(kit: Kit, **params: str) -> list[dict[str, Any]]:
    resp = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/outbox", params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def public_key(kit: Kit) -> str:
    return str(kit.http.get(f"{kit.base_url}/_sandbox/webhooks/public-key").json()["public_key_hex"])


def import_one(kit: Kit, profile: str = "gb-passport") -> dict[str, Any]:
    row: dict[str, Any] = kit.bulk([kit.token(profile)])["results"][0]
    assert row["success"], row
    return row


def events(kit: Kit, key: str = ADMIN_KEY, **params: Any) -> dict[str, Any]:
    resp = kit.http.get(f"{kit.base_url}/events", params=params, headers=headers(key, idempotency=False))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def history(kit: Kit, **params: Any) -> dict[str, Any]:
    resp = kit.http.get(f"{kit.base_url}/webhooks", params=params, headers=headers(idempotency=False))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def replay(kit: Kit, event_id: str, key: str = ADMIN_KEY) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/webhooks/events/{event_id}/replay", headers=headers(key))


def field_errors(resp: requests.Response) -> list[str]:
    """The fields a problem names, without item indexes (`event_types[0]` names `event_types`)."""
    return [re.sub(r"\[\d+\]", "", e["field"]) for e in resp.json().get("errors", [])]


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


def complete_and_submit(kit: Kit, customer_id: str, application_id: str) -> None:
    """Step 3 for a gb-passport import, then submit."""
    token = kit.admin.application_token(customer_id)
    url = f"{kit.base_url}/applications/{application_id}"
    app = kit.admin.get_application(application_id, token, include="entities").json()
    ind = app["entities"]["primary_individual"]
    h = {"X-Application-Token": token}
    details = {
        "roles": ["individual"],
        "name": {"first": ind["first_name"], "last": ind["last_name"]},
        "date_of_birth": ind["date_of_birth"],
        "nationalities": ind["nationalities"],
        "address": ind["address"],
        "email_address": ind["email_address"],
        "employment_status": "employed",
        "purpose_of_account": ["investing"],
        "source_of_wealth": ["employment"],
    }
    assert kit.http.put(url + "/individual-details", json=details, headers=h).status_code == 200

    def post(path: str, body: Any) -> requests.Response:
        return kit.http.post(url + path, json=body, headers={**h, "x-idempotency-key": str(uuid.uuid4())})

    doc = {
        "type": "source_of_wealth",
        "file_type": "png",
        "file_content": base64.b64encode(fake_image("sow")).decode(),
        "country": "GB",
    }
    assert post(f"/associated-individuals/{ind['id']}/documents", doc).status_code == 201
    now = int(kit.control.clock()["epoch"])
    for i, kind in enumerate(["e_sign", "terms_of_service", "privacy_policy", "information_accuracy"]):
        body = {"attestation_type": kind, "timestamp": now - 10 + i, "applicant_id": ind["id"]}
        assert post("/attestations", body).status_code == 204
    resp = post("/submissions", {})
    assert resp.status_code == 200, resp.text


def simulate(kit: Kit, application_id: str, kind: str, simulation_id: str = "sim-1") -> None:
    body = {"type": kind, "applicant_id": application_id, "simulation_id": simulation_id}
    resp = kit.http.post(f"{kit.base_url}/sandbox/simulate/onboarding", json=body, headers=headers())
    assert resp.status_code == 200, resp.text


# ====================================================================== webhook targets
def test_create_a_global_target(kit: Kit, rx: WebhookReceiver) -> None:
    resp = create_target(kit, {"url": rx.url, "global": True})
    assert resp.status_code == 201, resp.text
    t = resp.json()
    assert len(t["id"]) == 27
    assert t["url"] == rx.url
    assert t["global"] is True
    assert t["event_types"] == []
    assert abs(t["time_last_healthy"] - kit.control.clock()["epoch"]) < 5
    assert t["time_last_attempted"] == t["time_last_healthy"]


def test_create_a_target_for_some_event_types(kit: Kit, rx: WebhookReceiver) -> None:
    types = ["customer.kyb_application.submitted", "customer.updated", "customer.updated"]
    resp = create_target(kit, {"url": rx.url, "event_types": types})
    assert resp.status_code == 201, resp.text
    assert resp.json()["global"] is False
    assert resp.json()["event_types"] == ["customer.kyb_application.submitted", "customer.updated"]


BAD_TARGETS: list[tuple[dict[str, Any], str]] = [
    ({"url": "https://hooks.acme.io/x", "event_types": ["customer.exploded"]}, "event_types"),
    ({"url": "https://hooks.acme.io/x", "event_types": ["customer.created", "api_key.created"]}, "event_types"),
    ({"url": "https://hooks.acme.io/x", "event_types": "customer.created"}, "event_types"),
    ({"url": "https://hooks.acme.io/x"}, "event_types"),  # neither global nor any event type
    ({"url": "ftp://hooks.acme.io/x", "global": True}, "url"),
    ({"url": "hooks.acme.io/x", "global": True}, "url"),
    ({"url": "http://", "global": True}, "url"),
    ({"url": 42, "global": True}, "url"),
    ({"global": True}, "url"),
    ({"url": "https://hooks.acme.io/x", "global": "yes"}, "global"),
]


def test_a_bad_target_is_refused_and_nothing_is_created(kit: Kit) -> None:
    for body, field in BAD_TARGETS:
        resp = create_target(kit, body)
        assert resp.status_code == 400, body
        assert field_errors(resp) == [field], body
    listed = kit.http.get(f"{kit.base_url}/webhooks/targets", headers=headers(idempotency=False)).json()
    assert listed["data"] == []


def test_targets_can_be_listed_read_patched_and_deleted(kit: Kit, rx: WebhookReceiver) -> None:
    a = target_for(kit, rx.url)
    b = target_for(kit, rx.url + "/b", ["customer.created"])
    base = f"{kit.base_url}/webhooks/targets"
    h = headers(idempotency=False)

    listed = kit.http.get(base, headers=h).json()
    assert sorted(t["id"] for t in listed["data"]) == sorted([a["id"], b["id"]])
    assert listed["meta"] == {"total_count": 2, "has_more_after": False, "has_more_before": False}
    page = kit.http.get(base, params={"limit": 1}, headers=h).json()
    assert len(page["data"]) == 1
    assert page["meta"]["has_more_after"] is True
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == b

    patched = kit.http.patch(
        f"{base}/{b['id']}", json={"event_types": ["customer.updated"], "url": rx.url + "/c"}, headers=headers()
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["customer.updated"]
    assert patched.json()["url"] == rx.url + "/c"
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == patched.json()
    bad = kit.http.patch(f"{base}/{b['id']}", json={"event_types": ["nope"]}, headers=headers())
    assert bad.status_code == 400
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == patched.json()

    deleted = kit.http.delete(f"{base}/{a['id']}", headers=h)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert kit.http.get(f"{base}/{a['id']}", headers=h).status_code == 404
    assert kit.http.delete(f"{base}/{a['id']}", headers=h).status_code == 404
    assert [t["id"] for t in kit.http.get(base, headers=h).json()["data"]] == [b["id"]]


def test_a_deleted_target_gets_no_more_webhooks(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    kit.http.delete(f"{kit.base_url}/webhooks/targets/{t['id']}", headers=headers(idempotency=False))
    import_one(kit)
    dispatch(kit)
    assert rx.received == []


def test_another_organisations_targets_are_invisible(kit: Kit, rx: WebhookReceiver, rx2: WebhookReceiver) -> None:
    mine = target_for(kit, rx.url)
    base = f"{kit.base_url}/webhooks/targets"
    other = headers(OTHER_ORG_KEY, idempotency=False)
    assert kit.http.get(base, headers=other).json()["data"] == []
    assert kit.http.get(f"{base}/{mine['id']}", headers=other).status_code == 404
    patched = kit.http.patch(f"{base}/{mine['id']}", json={"global": False}, headers=headers(OTHER_ORG_KEY))
    assert patched.status_code == 404
    assert kit.http.delete(f"{base}/{mine['id']}", headers=other).status_code == 404
    assert kit.http.get(f"{base}/{mine['id']}", headers=headers(idempotency=False)).json() == mine

    # The other organisation's own target hears only its own events.
    theirs = create_target(kit, {"url": rx2.url, "global": True}, key=OTHER_ORG_KEY)
    assert theirs.status_code == 201
    import_one(kit)
    dispatch(kit)
    assert types_of(rx.received) == [CUSTOMER_CREATED]
    assert rx2.received == []
    assert events(kit, OTHER_ORG_KEY)["data"] == []
    assert history(kit)["data"][0]["endpoint_url"] == rx.url


def test_a_viewer_key_cannot_manage_targets(kit: Kit, rx: WebhookReceiver) -> None:
    resp = create_target(kit, {"url": rx.url, "global": True}, key=VIEWER_KEY)
    assert resp.status_code == 403
    mine = target_for(kit, rx.url)
    base = f"{kit.base_url}/webhooks/targets/{mine['id']}"
    assert kit.http.patch(base, json={"global": False}, headers=headers(VIEWER_KEY)).status_code == 403
    assert kit.http.delete(base, headers=headers(VIEWER_KEY, idempotency=False)).status_code == 403
    # Reading is fine.
    assert kit.http.get(base, headers=headers(VIEWER_KEY, idempotency=False)).json() == mine


def test_targets_need_an_api_key(kit: Kit, rx: WebhookReceiver) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/webhooks/targets",
        json={"url": rx.url, "global": True},
        headers={"x-idempotency-key": str(uuid.uuid4())},
    )
    assert resp.status_code == 401
    assert kit.http.get(f"{kit.base_url}/webhooks/targets").status_code == 401


# ====================================================================== Dakota deliveries
def test_the_public_key_is_published_in_three_encodings(kit: Kit) -> None:
    body = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/public-key").json()
    assert body["algorithm"] == "ed25519"
    assert re.fullmatch(r"[0-9a-f]{64}", body["public_key_hex"])
    assert base64.b64decode(body["public_key_base64"]).hex() == body["public_key_hex"]
    assert body["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "X-Webhook-Signature" in body["headers"]


def test_an_import_delivers_customer_created_signed_with_the_published_key(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = import_one(kit)
    assert rx.received == []  # nothing leaves before a dispatch

    fired = dispatch(kit)

    assert [(f["event_type"], f["outcome"], f["status_code"]) for f in fired] == [(CUSTOMER_CREATED, "delivered", 200)]
    [hook] = rx.received
    assert hook.method == "POST"
    assert hook.path == "/hooks"
    assert hook.header("Content-Type") == "application/json"
    event = hook.json()
    assert set(event) >= {"id", "type", "created", "api_version", "data"}
    assert len(event["id"]) == 27
    assert event["type"] == CUSTOMER_CREATED
    assert event["api_version"] == "1.0.0"
    assert abs(event["created"] - kit.control.clock()["epoch"]) < 5
    assert event["data"]["object"] == {
        "customer_id": row["customer_id"],
        "name": "Olivia Bennett (from Sumsub)",
        "customer_type": "individual",
    }
    assert hook.header("X-Dakota-Event-ID") == event["id"]
    assert hook.header("X-Dakota-Event-Type") == CUSTOMER_CREATED
    ts = hook.header("X-Webhook-Timestamp") or ""
    assert ts.isdigit()
    assert abs(int(ts) - time.time()) < 300  # wall clock, so receivers can enforce the 5-minute window
    sig = hook.header("X-Webhook-Signature") or ""
    assert len(base64.b64decode(sig)) == 64

    pk = public_key(kit)
    assert hook.verify_dakota(pk)
    assert ed25519_ok(pk, ts, hook.body, sig)
    tampered = hook.body.replace(b"Olivia", b"Oliver")
    assert not ed25519_ok(pk, ts, tampered, sig)
    assert not ed25519_ok(pk, str(int(ts) + 1), hook.body, sig)  # the timestamp is signed too
    assert not ed25519_ok("7a2f771f3a7ac9ae2a95066df35dc0261d7ce354214736cc232d70b3c66f8a5f", ts, hook.body, sig)


def test_the_signature_timestamp_is_wall_time_even_with_the_simulated_clock_ahead(
    kit: Kit, rx: WebhookReceiver
) -> None:
    """The timestamp header is wall time even when the simulated clock is days ahead."""
    target_for(kit, rx.url)
    advance(kit, 3 * 24 * 3600)
    import_one(kit)
    dispatch(kit)
    [hook] = rx.received
    assert abs(int(hook.header("X-Webhook-Timestamp") or 0) - time.time()) < 300
    assert hook.json()["created"] > time.time() + 2 * 24 * 3600  # the event itself is on the simulated clock
    assert hook.verify_dakota(public_key(kit))


def test_targets_filtered_by_event_type_get_only_those_types(
    kit: Kit, rx: WebhookReceiver, rx2: WebhookReceiver
) -> None:
    target_for(kit, rx.url)
    target_for(kit, rx2.url, ["customer.kyb_application.submitted", "recipient.created"])
    row = import_one(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    simulate(kit, row["application_id"], "kyb_approve")

    dispatch(kit)

    everything = types_of(rx.received)
    assert everything[0] == CUSTOMER_CREATED
    assert {"customer.updated", "customer.kyb_application.submitted", "customer.kyb_status.created"} <= set(everything)
    assert sorted(types_of(rx2.received)) == ["customer.kyb_application.submitted", "recipient.created"]
    assert all(r.verify_dakota(public_key(kit)) for r in [*rx.received, *rx2.received])


def test_progress_through_review_arrives_as_webhooks(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = import_one(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    dispatch(kit)
    submitted = next(rx.of_type("customer.kyb_application.submitted")).json()
    assert submitted["data"]["object"]["customer_id"] == row["customer_id"]
    assert submitted["data"]["object"]["type"] == "individual"

    simulate(kit, row["application_id"], "kyc_approve")
    before = len(rx.received)
    dispatch(kit)
    [approved] = rx.received[before:]
    body = approved.json()
    assert body["type"] == "customer.updated"
    assert body["data"]["object"]["kyc_status"] == "approved"
    assert body["data"]["object"]["application_status"] == "approved"
    assert body["data"]["previous_attributes"] == {"kyc_status": "pending", "application_status": "submitted"}


def test_events_lists_the_delivered_envelopes_newest_first(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = import_one(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    dispatch(kit)

    listed = events(kit)

    delivered = [r.json() for r in rx.received]
    assert listed["data"] == list(reversed(delivered))
    assert listed["meta"] == {"total_count": len(delivered), "has_more_after": False, "has_more_before": False}
    page = events(kit, limit=2)
    assert page["data"] == listed["data"][:2]
    assert page["meta"]["has_more_after"] is True
    after = events(kit, starting_after=page["data"][-1]["id"], limit=100)
    assert after["data"] == listed["data"][2:]
    bad = kit.http.get(f"{kit.base_url}/events", params={"limit": 101}, headers=headers(idempotency=False))
    assert bad.status_code == 400


def test_events_are_recorded_without_any_target(kit: Kit) -> None:
    row = import_one(kit)
    assert [(e["type"], e["data"]["object"]["customer_id"]) for e in events(kit)["data"]] == [
        (CUSTOMER_CREATED, row["customer_id"])
    ]
    assert dispatch(kit) == []
    assert outbox(kit) == []


def test_webhook_history_shows_status_and_attempts(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.script(503)
    import_one(kit)
    [pending] = history(kit)["data"]
    assert pending["status"] == "pending"
    assert pending["attempts"] == 0
    assert pending["endpoint_url"] == rx.url
    assert pending["event_type"] == CUSTOMER_CREATED

    dispatch(kit)
    [failed_once] = history(kit)["data"]
    assert failed_once["status"] == "pending"
    assert failed_once["attempts"] == 1
    assert failed_once["last_error"] == "receiver answered HTTP 503"
    assert failed_once["delivered_at"] is None

    advance(kit, 61)
    [done] = history(kit)["data"]
    assert done["status"] == "delivered"
    assert done["attempts"] == 2
    assert done["delivered_at"] is not None
    assert [entry["status_code"] for entry in done["log"]] == [503, 200]
    assert done["payload"] == rx.received[-1].json()
    assert history(kit, status="delivered")["data"] == [done]
    assert history(kit, status="failed")["data"] == []
    one = kit.http.get(f"{kit.base_url}/webhooks/{done['event_id']}", headers=headers(idempotency=False))
    assert one.status_code == 200
    assert one.json()["id"] == done["id"]


def test_webhook_history_pages_with_a_cursor_newest_first(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    for _ in range(3):
        import_one(kit)
        advance(kit, 1)  # distinct creation times: the order is by time
    whole = history(kit)
    assert [d["created_at"] for d in whole["data"]] == sorted((d["created_at"] for d in whole["data"]), reverse=True)
    assert len(whole["data"]) == 3 and whole["has_more"] is False and whole["cursor"] is None
    first = history(kit, limit=2)
    assert first["data"] == whole["data"][:2]
    assert first["has_more"] is True and first["cursor"] == whole["data"][1]["id"]
    rest = history(kit, limit=2, cursor=first["cursor"])
    assert rest["data"] == whole["data"][2:]
    assert rest["has_more"] is False and rest["cursor"] is None
    assert (
        kit.http.get(
            f"{kit.base_url}/webhooks", params={"cursor": "nope"}, headers=headers(idempotency=False)
        ).status_code
        == 400
    )


def test_replay_redelivers_the_same_event_marked_as_a_replay(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    import_one(kit)
    dispatch(kit)
    [original] = rx.received
    event_id = original.json()["id"]

    resp = replay(kit, event_id)

    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "queued"
    assert out["replayed_to_count"] == 1
    dispatch(kit)
    [_, again] = rx.received
    assert again.body == original.body
    assert again.header("X-Webhook-Replay") == "true"
    assert original.header("X-Webhook-Replay") is None
    assert again.header("X-Dakota-Event-ID") == event_id
    assert again.verify_dakota(public_key(kit))
    replays = [d for d in history(kit)["data"] if d["is_replay"]]
    assert len(replays) == 1
    assert replays[0]["id"] == out["webhook_id"]
    assert replays[0]["replay_count"] == 1


def test_an_event_can_be_replayed_ten_times_and_no_more(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    import_one(kit)
    event_id = events(kit)["data"][0]["id"]
    for _ in range(MAX_REPLAYS):
        assert replay(kit, event_id).status_code == 200
    eleventh = replay(kit, event_id)
    assert eleventh.status_code == 409
    assert "Replay limit" in eleventh.json()["detail"]
    dispatch(kit)
    assert len(rx.received) == 1 + MAX_REPLAYS
    assert sum(1 for r in rx.received if r.header("X-Webhook-Replay") == "true") == MAX_REPLAYS


def test_replay_needs_a_known_event_of_ones_own_and_an_operator(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    import_one(kit)
    event_id = events(kit)["data"][0]["id"]
    assert replay(kit, "3Mc4tWnLigjgDKIqwDnjMlud0LF").status_code == 404
    assert replay(kit, event_id, key=OTHER_ORG_KEY).status_code == 404
    assert replay(kit, event_id, key=VIEWER_KEY).status_code == 403
    dispatch(kit)
    assert len(rx.received) == 1


# ====================================================================== retries
def test_a_failed_delivery_is_retried_60_seconds_later_on_the_simulated_clock(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.script(500)
    import_one(kit)

    first = dispatch(kit)

    assert [(f["outcome"], f["status_code"], f["attempt"]) for f in first] == [("retry_scheduled", 500, 1)]
    [item] = outbox(kit)
    assert item["kind"] == "dakota"
    assert item["status"] == "pending"
    assert item["attempts"] == 1
    assert item["last_status_code"] == 500
    due = datetime.fromisoformat(item["next_attempt_at"].replace("Z", "+00:00")).timestamp()
    assert abs(due - (kit.control.clock()["epoch"] + DAKOTA_RETRY_DELAYS[0])) < 3

    assert dispatch(kit) == []  # not due yet
    assert advance(kit, 58) == []
    assert len(rx.received) == 1

    fired = advance(kit, 3)

    assert [(f["id"], f["outcome"], f["attempt"]) for f in fired] == [(item["id"], "delivered", 2)]
    first_try, second_try = rx.wait_for(2)
    assert (first_try.answered, second_try.answered) == (500, 200)
    # At least once: the same event, same id, both signed.
    assert first_try.body == second_try.body
    assert first_try.header("X-Dakota-Event-ID") == second_try.header("X-Dakota-Event-ID")
    assert second_try.verify_dakota(public_key(kit))
    assert outbox(kit, status="delivered")[0]["id"] == item["id"]
    assert advance(kit, 3600) == []


def test_an_unreachable_receiver_counts_as_a_failed_attempt(kit: Kit) -> None:
    with WebhookReceiver() as gone:
        url = gone.url
    target_for(kit, url)
    import_one(kit)
    [attempt] = dispatch(kit)
    assert attempt["outcome"] == "retry_scheduled"
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("ConnectionError")
    assert outbox(kit)[0]["status"] == "pending"


def test_a_delivery_that_keeps_failing_ends_failed_after_the_last_attempt(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.always(500)
    import_one(kit)
    outcomes = [f["outcome"] for f in dispatch(kit)]
    for delay in DAKOTA_RETRY_DELAYS:
        outcomes += [f["outcome"] for f in advance(kit, delay + 1)]

    attempts = len(DAKOTA_RETRY_DELAYS) + 1
    assert outcomes == ["retry_scheduled"] * (attempts - 1) + ["failed"]
    assert len(rx.received) == attempts
    [item] = outbox(kit, status="failed")
    assert item["attempts"] == item["max_attempts"] == attempts
    assert len(item["log"]) == attempts
    assert outbox(kit, status="pending") == []
    assert history(kit, status="failed")["data"][0]["attempts"] == attempts
    assert advance(kit, 7 * 24 * 3600) == []
    # A replay still works once the receiver is healthy again.
    rx.always(200)
    assert replay(kit, item["event_id"]).status_code == 200
    assert [f["outcome"] for f in dispatch(kit)] == ["delivered"]


def test_a_target_records_when_it_was_last_attempted_and_healthy(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    rx.script(500)
    import_one(kit)
    advance(kit, 10)
    dispatch(kit)
    url = f"{kit.base_url}/webhooks/targets/{t['id']}"
    after_failure = kit.http.get(url, headers=headers(idempotency=False)).json()
    assert after_failure["time_last_attempted"] >= t["time_last_attempted"] + 10
    assert after_failure["time_last_healthy"] == t["time_last_healthy"]
    advance(kit, 61)
    healthy = kit.http.get(url, headers=headers(idempotency=False)).json()
    assert healthy["time_last_healthy"] == healthy["time_last_attempted"] > after_failure["time_last_attempted"]


@pytest.fixture
def slow_kit(
    sandbox_settings: Settings, vendor_contract: OpenApiContract, own_contracts: dict[str, OpenApiContract]
) -> Iterator[Kit]:
    """The suite's sandbox, but giving receivers only one second to answer."""
    app: Flask = create_app(replace(sandbox_settings, webhook_timeout_seconds=1))
    if not sandbox_settings.database_url.startswith("sqlite"):
        app.extensions["kyc_sandbox"].reset()
    http, base = in_process_session(app)
    kit = make_kit(http, base, vendor_contract)
    check_own_contracts(http, kit.contract_problems, own_contracts)
    yield kit
    app.extensions["kyc_sandbox"].close()
    assert not kit.contract_problems, "\n".join(str(p) for p in kit.contract_problems)


def test_a_receiver_that_times_out_is_a_failed_attempt_and_is_retried(slow_kit: Kit, rx: WebhookReceiver) -> None:
    target_for(slow_kit, rx.url)
    rx.script((200, 3.0))
    import_one(slow_kit)

    started = time.monotonic()
    [attempt] = dispatch(slow_kit)

    assert time.monotonic() - started < 2.5  # the sandbox stopped waiting after its one-second timeout
    assert attempt["outcome"] == "retry_scheduled"
    assert attempt["status_code"] is None
    assert attempt["error"] == "timed out after 1s"
    [item] = outbox(slow_kit)
    assert item["status"] == "pending"
    assert item["attempts"] == 1

    [retry] = advance(slow_kit, 61)
    assert retry["outcome"] == "delivered"
    hooks = rx.wait_for(2)
    assert hooks[0].body == hooks[1].body
    assert outbox(slow_kit)[0]["status"] == "delivered"


def test_the_outbox_filters_are_validated(kit: Kit) -> None:
    for bad in ({"status": "lost"}, {"kind": "stripe"}):
        resp = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/outbox", params=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["error"]["field"] == next(iter(bad)), bad


# ====================================================================== Sumsub webhooks
def configure_sumsub(kit: Kit, body: dict[str, Any]) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/_sandbox/sumsub/webhooks", json=body)


def donor_applicant(kit: Kit, external_user_id: str = "wh-user-1") -> str:
    created = kit.donor.create_applicant(
        "basic-kyc-level",
        {
            "externalUserId": external_user_id,
            "email": "jane.doe@mailbox.co.uk",
            "fixedInfo": {"firstName": "Jane", "lastName": "Doe", "dob": "1990-02-03", "nationality": "GBR"},
        },
    )
    assert created.status_code == 200, created.text
    applicant_id = str(created.json()["id"])
    meta = {"idDocType": "PASSPORT", "country": "GBR", "firstName": "JANE", "lastName": "DOE", "number": "123456789"}
    assert kit.donor.add_id_doc(applicant_id, meta, fake_image("wh")).status_code == 200
    return applicant_id


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("HMAC_SHA256_HEX", hashlib.sha256), ("HMAC_SHA512_HEX", hashlib.sha512)],
    ids=["sha256", "sha512"],
)
def test_sumsub_webhooks_carry_a_payload_digest_of_the_raw_body(
    kit: Kit, rx: WebhookReceiver, alg: str, digest: Any
) -> None:
    conf = configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url, "alg": alg})
    assert conf.status_code == 200, conf.text
    secret = conf.json()["secret"]
    assert conf.json()["alg"] == alg
    assert len(secret) >= 16

    applicant_id = donor_applicant(kit)
    assert kit.donor.test_completed(applicant_id).json() == {"ok": 1}
    dispatch(kit)

    created, reviewed = rx.wait_for(2)
    assert created.json()["type"] == "applicantCreated"
    assert reviewed.json()["type"] == "applicantReviewed"
    for hook in (created, reviewed):
        assert hook.header("x-payload-digest-alg") == alg
        expected = hmac.new(secret.encode(), hook.body, digest).hexdigest()
        assert hook.header("x-payload-digest") == expected
        assert hook.verify_sumsub(secret)
        assert not hook.verify_sumsub(secret + "x")
        assert hook.header("X-Webhook-Signature") is None  # not Dakota's scheme
    body = reviewed.json()
    assert body["applicantId"] == applicant_id
    assert body["externalUserId"] == "wh-user-1"
    assert body["levelName"] == "basic-kyc-level"
    assert body["clientId"] == DONOR_ID
    assert body["applicantType"] == "individual"
    assert body["sandboxMode"] is True
    assert body["reviewStatus"] == "completed"
    assert body["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert body["correlationId"].startswith("req-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", body["createdAtMs"])
    assert "reviewResult" not in created.json()
    assert "reuseScope" not in created.json() and "reuseScope" not in body
    # Exactly the bytes that were signed, with no personal data in them.
    assert b"Jane" not in reviewed.body and b"jane.doe" not in reviewed.body


def test_a_red_review_is_reported_with_its_labels(kit: Kit, rx: WebhookReceiver) -> None:
    configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url})
    applicant_id = donor_applicant(kit, "wh-red")
    kit.donor.test_completed(applicant_id, "RED", ["FORGERY"], reviewRejectType="FINAL")
    dispatch(kit)
    reviewed = next(r for r in rx.received if r.json()["type"] == "applicantReviewed").json()
    assert reviewed["reviewResult"]["reviewAnswer"] == "RED"
    assert reviewed["reviewResult"]["rejectLabels"] == ["FORGERY"]


def test_requesting_a_check_sends_applicant_pending(kit: Kit, rx: WebhookReceiver) -> None:
    configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url})
    applicant_id = donor_applicant(kit, "wh-pending")
    selfie = kit.donor.add_id_doc(applicant_id, {"idDocType": "SELFIE", "country": "GBR"}, fake_image("wh-selfie"))
    assert selfie.status_code == 200, selfie.text
    assert kit.donor.request("POST", f"/resources/applicants/{applicant_id}/status/pending").status_code == 200
    dispatch(kit)
    pending = next(r for r in rx.wait_for(2) if r.json()["type"] == "applicantPending").json()
    assert pending["applicantId"] == applicant_id
    assert pending["reviewStatus"] == "pending"
    assert "reviewResult" not in pending


def test_a_chosen_sumsub_secret_is_used_and_kept(kit: Kit, rx: WebhookReceiver) -> None:
    conf = configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url, "secret": "whsec-test-123"})
    assert conf.json()["secret"] == "whsec-test-123"
    again = configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url, "alg": "HMAC_SHA512_HEX"})
    assert again.json()["secret"] == "whsec-test-123"
    listed = kit.http.get(f"{kit.base_url}/_sandbox/sumsub/webhooks").json()["clients"]
    assert {"client_id": DONOR_ID, "url": rx.url, "secret": "whsec-test-123", "alg": "HMAC_SHA512_HEX"} in listed
    donor_applicant(kit)
    dispatch(kit)
    [hook] = rx.received
    assert hook.verify_sumsub("whsec-test-123")


def test_sumsub_webhooks_stop_when_the_url_is_cleared(kit: Kit, rx: WebhookReceiver) -> None:
    configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url})
    assert configure_sumsub(kit, {"client_id": DONOR_ID, "url": None}).json()["url"] is None
    donor_applicant(kit)
    assert dispatch(kit) == []
    assert rx.received == []


BAD_SUMSUB_WEBHOOKS: list[tuple[dict[str, Any], int, str]] = [
    ({"client_id": "nobody_1", "url": "https://x.io/h"}, 404, "client_id"),
    ({"url": "https://x.io/h"}, 404, "client_id"),
    ({"client_id": DONOR_ID, "url": "ftp://x.io/h"}, 400, "url"),
    ({"client_id": DONOR_ID, "url": 5}, 400, "url"),
    ({"client_id": DONOR_ID, "url": "https://x.io/h", "alg": "HMAC_MD5_HEX"}, 400, "alg"),
    ({"client_id": DONOR_ID, "url": "https://x.io/h", "secret": ""}, 400, "secret"),
]


def test_sumsub_webhook_configuration_is_validated(kit: Kit) -> None:
    for body, status, field in BAD_SUMSUB_WEBHOOKS:
        resp = configure_sumsub(kit, body)
        assert resp.status_code == status, body
        assert resp.json()["error"]["field"] == field, body
    listed = kit.http.get(f"{kit.base_url}/_sandbox/sumsub/webhooks").json()["clients"]
    assert all(c["url"] is None for c in listed)


def test_the_first_webhook_for_an_imported_applicant_carries_reuse_scope(kit: Kit, rx: WebhookReceiver) -> None:
    conf = configure_sumsub(kit, {"client_id": DAKOTA_CLIENT_ID, "url": rx.url})
    secret = conf.json()["secret"]
    row = import_one(kit)
    dispatch(kit)

    [first] = rx.received
    body = first.json()
    assert first.verify_sumsub(secret)
    assert body["clientId"] == DAKOTA_CLIENT_ID
    assert body["levelName"] == "id-only"
    assert body["type"] == "applicantReviewed"
    assert body["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert isinstance(body["reuseScope"], str) and body["reuseScope"]
    # It is the applicant Dakota recorded as provider_applicant_id.
    token = kit.admin.application_token(row["customer_id"])
    app = kit.admin.get_application(row["application_id"], token, include="entities").json()
    provider_id = app["entities"]["primary_individual"]["sumsub_verification"]["provider_applicant_id"]
    assert body["applicantId"] == provider_id

    # Only the first one: a later webhook for the same applicant has no reuseScope.
    assert kit.dakota_sumsub.test_completed(provider_id).json() == {"ok": 1}
    dispatch(kit)
    [_, later] = rx.received
    assert later.json()["applicantId"] == provider_id
    assert "reuseScope" not in later.json()


def test_a_weaker_level_import_announces_itself_then_reports_the_review_when_dakota_closes_it(
    kit: Kit, rx: WebhookReceiver
) -> None:
    configure_sumsub(kit, {"client_id": DAKOTA_CLIENT_ID, "url": rx.url})
    row = import_one(kit, "weaker-level")
    token = kit.admin.application_token(row["customer_id"])
    url = f"{kit.base_url}/applications/{row['application_id']}"
    app = kit.admin.get_application(row["application_id"], token, include="entities").json()
    individual_id = app["entities"]["primary_individual"]["id"]
    doc = {
        "type": "passport",
        "file_type": "png",
        "file_content": base64.b64encode(fake_image("pp")).decode(),
        "id_number": "YA1234567",
        "country": "IT",
    }
    up = kit.http.post(
        f"{url}/associated-individuals/{individual_id}/documents",
        json=doc,
        headers={"X-Application-Token": token, "x-idempotency-key": str(uuid.uuid4())},
    )
    assert up.status_code == 201, up.text
    dispatch(kit)

    first, second = rx.wait_for(2)
    assert first.json()["type"] == "applicantCreated"
    assert first.json()["reuseScope"]
    assert second.json()["type"] == "applicantReviewed"
    assert second.json()["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert "reuseScope" not in second.json()


def test_a_failed_sumsub_webhook_is_retried_after_five_minutes(kit: Kit, rx: WebhookReceiver) -> None:
    configure_sumsub(kit, {"client_id": DONOR_ID, "url": rx.url})
    rx.script(500)
    donor_applicant(kit)
    [attempt] = dispatch(kit)
    assert (attempt["kind"], attempt["outcome"]) == ("sumsub", "retry_scheduled")
    assert advance(kit, SUMSUB_RETRY_DELAYS[0] - 2) == []
    [retry] = advance(kit, 3)
    assert retry["outcome"] == "delivered"
    first, second = rx.wait_for(2)
    assert first.body == second.body
    assert json.loads(second.body)["type"] == "applicantCreated"


# ====================================================================== found while writing these tests
def test_deliveries_caused_by_a_simulation_carry_its_simulation_id(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = import_one(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    simulate(kit, row["application_id"], "kyb_approve", simulation_id="sim-provision-1")
    dispatch(kit)

    caused = history(kit, simulation_id="sim-provision-1", limit=100)["data"]

    assert sorted(d["event_type"] for d in caused) == [
        "customer.kyb_status.created",
        "customer.kyb_status.created",
        "customer.updated",
        "recipient.created",
    ]
    assert all(d["simulation_id"] == "sim-provision-1" for d in caused)
    others = [d for d in history(kit, limit=100)["data"] if d["id"] not in {c["id"] for c in caused}]
    assert others and all(d["simulation_id"] is None for d in others)


def test_a_patch_cannot_leave_a_target_listening_to_nothing(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)  # global, no event types
    url = f"{kit.base_url}/webhooks/targets/{t['id']}"
    resp = kit.http.patch(url, json={"global": False}, headers=headers())
    assert resp.status_code == 400, resp.text
    assert field_errors(resp) == ["event_types"]
    assert kit.http.get(url, headers=headers(idempotency=False)).json() == t
    ok = kit.http.patch(url, json={"global": False, "event_types": ["customer.created"]}, headers=headers())
    assert ok.status_code == 200
    assert ok.json()["global"] is False


def test_deleting_a_target_stops_its_pending_retries(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    rx.script(500)
    import_one(kit)
    dispatch(kit)
    assert len(rx.received) == 1

    deleted = kit.http.delete(f"{kit.base_url}/webhooks/targets/{t['id']}", headers=headers(idempotency=False))
    assert deleted.status_code == 204

    assert advance(kit, 3600) == []
    assert len(rx.received) == 1
    [item] = outbox(kit)
    assert item["status"] == "failed"
    assert "deleted" in item["last_error"]


def _write_transactions(app: Flask) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []
    engine = app.extensions["kyc_sandbox"].rt.store.engine

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("sandbox_immediate"):  # `Store.write`, on either store
            seen.append("write transaction")

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in statement:
            seen.append(statement)

    return seen


def test_an_idle_dispatcher_tick_takes_no_write_transaction(kit: Kit, app: Flask, rx: WebhookReceiver) -> None:
    """The dispatcher polls twice a second; with nothing due it only reads, so it never holds up writers."""
    target_for(kit, rx.url)
    import_one(kit)
    sb = app.extensions["kyc_sandbox"]
    assert len(sb.tick()) == 1  # the import's customer.created goes out
    writes = _write_transactions(app)
    assert sb.tick(kicked=True) == [] and sb.tick(kicked=True) == []
    assert writes == []
    import_one(kit)  # now something is due: the next tick claims and delivers it
    assert len(sb.tick(kicked=True)) == 1 and writes


def test_only_a_request_that_queued_work_wakes_the_dispatcher(kit: Kit, app: Flask, rx: WebhookReceiver) -> None:
    queued = app.extensions["kyc_sandbox"].outbox.work_queued
    queued.clear()
    import_one(kit)  # no webhook target yet: nothing to deliver
    assert not queued.is_set()
    target_for(kit, rx.url)
    queued.clear()
    import_one(kit)  # customer.created is queued for the target
    assert queued.is_set()
