"""Dakota's deliveries: signed Event envelopes for imports and review progress, filtered by event type, and
`GET /events`.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

import base64
import re
import time

from simulator.harness.receiver import WebhookReceiver
from tests.support import Kit, dakota_headers, events, mint_and_import, simulate, target_for
from tests.support.onboarding import complete_and_submit
from tests.support.webhooks import (
    CUSTOMER_CREATED,
    advance,
    dispatch,
    ed25519_ok,
    history,
    outbox,
    public_key,
    types_of,
)


def test_the_public_key_is_published_in_three_encodings(kit: Kit) -> None:
    body = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/public-key").json()
    assert body["algorithm"] == "ed25519"
    assert re.fullmatch(r"[0-9a-f]{64}", body["public_key_hex"])
    assert base64.b64decode(body["public_key_base64"]).hex() == body["public_key_hex"]
    assert body["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "X-Webhook-Signature" in body["headers"]


def test_an_import_delivers_customer_created_signed_with_the_published_key(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = mint_and_import(kit)
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
    mint_and_import(kit)
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
    row = mint_and_import(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    assert simulate(kit, row["application_id"], "kyb_approve").status_code == 200

    dispatch(kit)

    everything = types_of(rx.received)
    assert everything[0] == CUSTOMER_CREATED
    assert {"customer.updated", "customer.kyb_application.submitted", "customer.kyb_status.created"} <= set(everything)
    assert sorted(types_of(rx2.received)) == ["customer.kyb_application.submitted", "recipient.created"]
    assert all(r.verify_dakota(public_key(kit)) for r in [*rx.received, *rx2.received])


def test_progress_through_review_arrives_as_webhooks(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = mint_and_import(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    dispatch(kit)
    submitted = next(rx.of_type("customer.kyb_application.submitted")).json()
    assert submitted["data"]["object"]["customer_id"] == row["customer_id"]
    assert submitted["data"]["object"]["type"] == "individual"

    assert simulate(kit, row["application_id"], "kyc_approve").status_code == 200
    before = len(rx.received)
    dispatch(kit)
    [approved] = rx.received[before:]
    body = approved.json()
    assert body["type"] == "customer.updated"
    assert body["data"]["object"]["kyc_status"] == "approved"
    assert body["data"]["object"]["application_status"] == "approved"
    assert body["data"]["previous_attributes"] == {"kyc_status": "pending", "application_status": "submitted"}


def test_deliveries_caused_by_a_simulation_carry_its_simulation_id(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = mint_and_import(kit)
    complete_and_submit(kit, row["customer_id"], row["application_id"])
    assert simulate(kit, row["application_id"], "kyb_approve", simulation_id="sim-provision-1").status_code == 200
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


def test_events_lists_the_delivered_envelopes_newest_first(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    row = mint_and_import(kit)
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
    bad = kit.http.get(f"{kit.base_url}/events", params={"limit": 101}, headers=dakota_headers(idempotency=False))
    assert bad.status_code == 400


def test_events_are_recorded_without_any_target(kit: Kit) -> None:
    row = mint_and_import(kit)
    assert [(e["type"], e["data"]["object"]["customer_id"]) for e in events(kit)["data"]] == [
        (CUSTOMER_CREATED, row["customer_id"])
    ]
    assert dispatch(kit) == []
    assert outbox(kit) == []
