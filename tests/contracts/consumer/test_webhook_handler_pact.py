"""Message pacts: the webhook payloads an integrator's handler relies on (Dakota Event envelopes and Sumsub webhooks).

The provider side produces each message by driving the sandbox and capturing the webhook it really delivers.
"""

from __future__ import annotations

from typing import Any

from pact import Pact, match

from tests.support.pact import KSUID, hex24, ksuid
from tests.support.webhook_handler import Action, handle_dakota_event, handle_sumsub_webhook

JSON = "application/json"
SUMSUB_MS = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$"


def envelope(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ksuid(),
        "type": event_type,
        "created": match.int(1764000000),
        "api_version": match.like("1.0.0"),
        "data": {"object": obj},
    }


def collect(handler: Any, into: list[Action]) -> Any:
    def run(body: str, metadata: dict[str, Any] | None) -> None:
        into.append(handler(body, metadata))

    return run


def test_customer_created_event(dakota_events_pact: Pact) -> None:
    (
        dakota_events_pact.upon_receiving("a customer.created event", "Async")
        .with_body(
            envelope(
                "customer.created",
                {
                    "customer_id": ksuid(),
                    "name": match.regex("Olivia Bennett (from Sumsub)", regex=r"^.+ \(from Sumsub\)$"),
                    "customer_type": "individual",
                },
            ),
            JSON,
        )
        .with_metadata({"X-Dakota-Event-Type": "customer.created"})
    )
    seen: list[Action] = []
    assert dakota_events_pact.verify(collect(handle_dakota_event, seen), "Async") is None
    assert seen == [Action("track_customer", KSUID, "Olivia Bennett (from Sumsub)")]


def test_kyb_application_submitted_event(dakota_events_pact: Pact) -> None:
    (
        dakota_events_pact.upon_receiving("a customer.kyb_application.submitted event", "Async")
        .with_body(
            envelope(
                "customer.kyb_application.submitted",
                {"customer_id": ksuid(), "type": "individual", "application_id": ksuid()},
            ),
            JSON,
        )
        .with_metadata({"X-Dakota-Event-Type": "customer.kyb_application.submitted"})
    )
    seen: list[Action] = []
    dakota_events_pact.verify(collect(handle_dakota_event, seen), "Async")
    assert seen == [Action("await_review", KSUID, KSUID)]


def sumsub_hook(**extra: Any) -> dict[str, Any]:
    return {
        "applicantId": hex24(),
        "inspectionId": hex24(),
        "applicantType": "individual",
        "correlationId": match.like("req-6f1c2a4e-3b5d-4c7e-9f80-1a2b3c4d5e6f"),
        "externalUserId": match.like("user-001"),
        "type": "applicantReviewed",
        "reviewStatus": "completed",
        "reviewResult": {"reviewAnswer": "GREEN"},
        "createdAtMs": match.regex("2026-01-02 03:04:05.678", regex=SUMSUB_MS),
        "clientId": match.like("dakota.xyz_158913"),
        **extra,
    }


def test_applicant_reviewed_webhook_after_reuse(sumsub_webhooks_pact: Pact) -> None:
    (
        sumsub_webhooks_pact.upon_receiving("an applicantReviewed webhook for a reused applicant", "Async").with_body(
            sumsub_hook(
                levelName="id-only",
                reuseScope="importApiShareToken",
            ),
            JSON,
        )
    )
    seen: list[Action] = []
    sumsub_webhooks_pact.verify(collect(handle_sumsub_webhook, seen), "Async")
    assert seen == [Action("reused_applicant_reviewed", "5f1e3b2a9c8d7e6f5a4b3c2d", "GREEN")]


def test_applicant_reviewed_webhook_of_donor(sumsub_webhooks_pact: Pact) -> None:
    (
        sumsub_webhooks_pact.upon_receiving("an applicantReviewed webhook for a donor applicant", "Async")
        .with_body(sumsub_hook(levelName=match.like("basic-kyc-level"), clientId=match.like("acme-wallet_20419")), JSON)
        .with_metadata({"x-payload-digest-alg": "HMAC_SHA256_HEX"})
    )
    seen: list[Action] = []
    sumsub_webhooks_pact.verify(collect(handle_sumsub_webhook, seen), "Async")
    assert seen == [Action("applicant_reviewed", "5f1e3b2a9c8d7e6f5a4b3c2d", "GREEN")]
