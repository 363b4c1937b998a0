"""Sumsub's webhooks: the payload queued to a client's webhook URL, and how deliveries are signed and retried."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from simulator.core.clock import sumsub_datetime
from simulator.core.events import Channel, Delivery, Outbox, Outgoing
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.sumsub.auth import Workspaces
from simulator.sumsub.queries import ApplicantRow
from simulator.sumsub.signing import sumsub_digest

KIND = "sumsub"
# Sumsub retries 4 times: after 5 minutes, 1 hour, 5 hours and 18 hours.
RETRY_DELAYS = (300, 3600, 18000, 64800)
# `reuseScope` on the first webhook about a redeemed applicant: the one value Sumsub documents (Copy Applicant's),
# sent for every redemption path (import, reuse, Dakota's import), since none other is documented.
REUSE_SCOPE = "importApiShareToken"


class Notifier:
    def __init__(self, rt: Runtime, workspaces: Workspaces, outbox: Outbox) -> None:
        self.rt = rt
        self.workspaces = workspaces
        self.outbox = outbox

    def notify(self, tx: Tx, a: ApplicantRow, event_type: str, reuse_scope: str | None = None) -> None:
        """Queue a webhook to the applicant's workspace, if that client configured a webhook URL."""
        client = self.workspaces.client(tx, a.client_id)
        if client is None or not client.webhook_url:
            return
        now = self.rt.clock.now(tx)
        correlation = f"req-{self.rt.ids.uuid4()}"
        review = a.review or {}
        payload: dict[str, Any] = {
            "applicantId": a.id,
            "inspectionId": a.inspection_id,
            "applicantType": a.type,
            "correlationId": correlation,
            "externalUserId": a.external_user_id,
            "levelName": a.level_name,
            "type": event_type,
            "sandboxMode": True,
            "reviewStatus": review.get("reviewStatus", "init"),
            "createdAtMs": sumsub_datetime(now) + f".{int((now % 1) * 1000):03d}",
            "clientId": a.client_id,
        }
        if review.get("reviewResult") and event_type == "applicantReviewed":
            payload["reviewResult"] = review["reviewResult"]
        if reuse_scope:
            payload["reuseScope"] = reuse_scope
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        self.outbox.queue(tx, [Outgoing(KIND, client.client_id, correlation, event_type, client.webhook_url, body)])

    def channel(self) -> Channel:
        """Deliveries signed with the client's webhook secret, in the digest algorithm it chose."""

        def sign(delivery: Delivery, body: bytes) -> Mapping[str, str]:
            client = self.workspaces.client(None, delivery.owner)
            secret = client.webhook_secret if client and client.webhook_secret else ""
            alg = (client.webhook_alg if client else None) or "HMAC_SHA256_HEX"
            return {"x-payload-digest": sumsub_digest(secret, body, alg), "x-payload-digest-alg": alg}

        return Channel(RETRY_DELAYS, sign)
