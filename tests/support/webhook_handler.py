"""An integrator's webhook handlers, as the consumer of the message pacts: they read only what they rely on.

Signature checks (Ed25519 for Dakota, x-payload-digest for Sumsub) happen before these run and are tested with
real deliveries elsewhere (tests/webhooks); a message pact covers the payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Action:
    """What the integrator's system does with a webhook."""

    kind: str
    ref: str
    detail: str = ""


def _json(body: str | bytes) -> dict[str, Any]:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("webhook body must be a JSON object")
    return data


def handle_dakota_event(body: str | bytes, metadata: dict[str, Any] | None = None) -> Action:
    """Dakota Event envelope → track the customer, or note a submitted application."""
    event = _json(body)
    event_type = event["type"]
    if metadata and metadata.get("X-Dakota-Event-Type") not in (None, event_type):
        raise ValueError("X-Dakota-Event-Type disagrees with the body")
    if not isinstance(event["id"], str) or not isinstance(event["created"], int):
        raise ValueError("event id must be a string and created an epoch integer")
    obj = event["data"]["object"]
    if event_type == "customer.created":
        return Action("track_customer", obj["customer_id"], obj["name"])
    if event_type == "customer.kyb_application.submitted":
        return Action("await_review", obj["application_id"], obj["customer_id"])
    return Action("ignore", event["id"], event_type)


def handle_sumsub_webhook(body: str | bytes, _metadata: dict[str, Any] | None = None) -> Action:
    """Sumsub webhook → record the review answer of the (reused) applicant."""
    hook = _json(body)
    if hook["type"] != "applicantReviewed":
        return Action("ignore", hook["applicantId"], hook["type"])
    answer = hook["reviewResult"]["reviewAnswer"]
    if answer not in ("GREEN", "RED"):
        raise ValueError(f"unexpected reviewAnswer {answer!r}")
    kind = "reused_applicant_reviewed" if hook.get("reuseScope") else "applicant_reviewed"
    return Action(kind, hook["applicantId"], answer)
