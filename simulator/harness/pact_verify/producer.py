"""Message (webhook) interactions: the real payload, produced by driving a sandbox through its public endpoints and
capturing the webhook it delivers to a local receiver."""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from simulator.harness.clients import ControlApi, DakotaApi, SumsubApi, harness_session
from simulator.harness.receiver import Received, WebhookReceiver

ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")
DAKOTA_CHAIN = (
    "customer.created",
    "customer.kyb_application.submitted",
    "customer.updated",
    "customer.kyb_status.created",
    "recipient.created",
)
SUMSUB_TYPES = ("applicantCreated", "applicantReviewed")


class ProducerError(Exception):
    """The sandbox cannot produce the message a pact expects."""


class WebhookProducer:
    """Produces real webhook payloads by driving a sandbox through its public endpoints.

    Dakota Event envelopes: a webhook target pointing at a local receiver, a token import (`customer.created`),
    Step 3 and a submission (`customer.kyb_application.submitted`, `customer.updated`), a simulated approval
    (`customer.kyb_status.created`, `recipient.created`). Sumsub webhook payloads: the client's webhook URL set to
    the receiver, then an applicant created (`applicantCreated`) and reviewed (`applicantReviewed`), or a share token
    redeemed (`applicantReviewed` with `reuseScope`, through the endpoint the expected `reuseScope` names).
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = harness_session()
        self.control = ControlApi(self.base_url, session=self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WebhookProducer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _creds(self) -> dict[str, Any]:
        return self.control.credentials()

    def _admin(self) -> DakotaApi:
        key = next(k["key"] for k in self._creds()["dakota"]["api_keys"] if k["role"] == "admin")
        return DakotaApi(self.base_url, key, session=self.http)

    def _sumsub(self, client_id: str) -> SumsubApi:
        c = next(c for c in self._creds()["sumsub"]["clients"] if c["client_id"] == client_id)
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def _ok(self, resp: requests.Response, what: str) -> Any:
        if resp.status_code >= 300:
            raise ProducerError(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def _deliver(self, rx: WebhookReceiver, want: Callable[[dict[str, Any]], bool], what: str) -> Received:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self._ok(self.http.post(f"{self.base_url}/_sandbox/webhooks/dispatch", json={}, timeout=30), "dispatch")
            for r in list(rx.received):
                with contextlib.suppress(ValueError):
                    if want(r.json()):
                        return r
            time.sleep(0.05)
        seen = ", ".join(str(r.json().get("type")) for r in rx.received) or "nothing"
        raise ProducerError(f"the sandbox delivered no {what} webhook within {self.timeout}s (received: {seen})")

    # ------------------------------------------------------------------------------ Dakota
    def dakota_event(self, event_type: str) -> Received:
        if event_type not in DAKOTA_CHAIN:
            raise ProducerError(f"cannot produce Dakota event {event_type!r}; supported: {', '.join(DAKOTA_CHAIN)}")
        self._ok(self.control.reset(), "reset")
        admin = self._admin()
        with WebhookReceiver() as rx:
            self._ok(
                self.http.post(
                    f"{self.base_url}/webhooks/targets",
                    json={"url": rx.url, "global": True},
                    headers={"x-api-key": admin.api_key, "x-idempotency-key": str(uuid.uuid4())},
                    timeout=30,
                ),
                "create a webhook target",
            )
            row = self._ok(admin.bulk_import_sumsub_tokens([self.control.donor_token("gb-passport")]), "bulk import")
            result = row["results"][0]
            if not result.get("success"):
                raise ProducerError(f"bulk import failed: {result}")
            if DAKOTA_CHAIN.index(event_type) >= 1:
                self._complete_and_submit(admin, result["customer_id"], result["application_id"])
            if DAKOTA_CHAIN.index(event_type) >= 3:
                self._ok(
                    self.http.post(
                        f"{self.base_url}/sandbox/simulate/onboarding",
                        json={
                            "type": "kyb_approve",
                            "applicant_id": result["application_id"],
                            "simulation_id": f"pact-{uuid.uuid4().hex[:8]}",
                        },
                        headers={"x-api-key": admin.api_key, "x-idempotency-key": str(uuid.uuid4())},
                        timeout=30,
                    ),
                    "simulate an approval",
                )
            return self._deliver(rx, lambda b: b.get("type") == event_type, event_type)

    def _complete_and_submit(self, admin: DakotaApi, customer_id: str, application_id: str) -> None:
        from simulator.sumsub.profiles import fake_image

        token = admin.application_token(customer_id)
        url = f"{self.base_url}/applications/{application_id}"
        hdrs = {"X-Application-Token": token}
        app = self._ok(admin.get_application(application_id, token, include="entities"), "read the application")
        ind = app["entities"]["primary_individual"]
        details = {
            "roles": ["individual"],
            "name": {"first": ind.get("first_name") or "Ada", "last": ind.get("last_name") or "Lovelace"},
            "date_of_birth": ind.get("date_of_birth") or "1990-01-01",
            "nationalities": ind.get("nationalities") or ["GB"],
            "address": ind.get("address") or {"street1": "1 Main Street", "city": "London", "country": "GB"},
            "email_address": ind.get("email_address") or "ada@mailbox.co.uk",
            "employment_status": "employed",
            "purpose_of_account": ["investing"],
            "source_of_wealth": ["employment"],
        }
        self._ok(self.http.put(f"{url}/individual-details", json=details, headers=hdrs, timeout=30), "Step 3 details")

        def post(path: str, body: dict[str, Any], what: str) -> Any:
            h = {**hdrs, "x-idempotency-key": str(uuid.uuid4())}
            return self._ok(self.http.post(url + path, json=body, headers=h, timeout=30), what)

        doc = {
            "type": "source_of_wealth",
            "file_type": "png",
            "file_content": base64.b64encode(fake_image("pact-sow")).decode(),
            "country": "GB",
        }
        post(f"/associated-individuals/{ind['id']}/documents", doc, "upload a source-of-wealth document")
        now = int(self.control.clock()["epoch"])
        for i, kind in enumerate(ATTESTATIONS):
            body = {"attestation_type": kind, "timestamp": now - 100 + i, "applicant_id": ind["id"]}
            post("/attestations", body, f"attest {kind}")
        post("/submissions", {}, "submit the application")

    # ------------------------------------------------------------------------------ Sumsub
    def sumsub_webhook(self, event_type: str, reuse_scope: str | None = None) -> Received:
        if event_type not in SUMSUB_TYPES:
            raise ProducerError(f"cannot produce Sumsub webhook {event_type!r}; supported: {', '.join(SUMSUB_TYPES)}")
        self._ok(self.control.reset(), "reset")
        creds = self._creds()
        recipient = str(creds["sumsub"]["dakota_client_id"])
        donor = next(c["client_id"] for c in creds["sumsub"]["clients"] if c["role"] == "donor")
        with WebhookReceiver() as rx:
            client = recipient if reuse_scope else donor
            self._ok(
                self.http.post(
                    f"{self.base_url}/_sandbox/sumsub/webhooks", json={"client_id": client, "url": rx.url}, timeout=30
                ),
                "configure the Sumsub webhook",
            )
            if reuse_scope:
                # Every redemption path sends the one documented reuseScope; Dakota's import is the one this
                # sandbox is about.
                token = self.control.donor_token("gb-passport", share_with=recipient)
                self._ok(self._admin().bulk_import_sumsub_tokens([token]), "Dakota bulk import")
            else:
                api = self._sumsub(donor)
                made = self._ok(
                    api.create_applicant(
                        "basic-kyc-level",
                        {
                            "externalUserId": f"user-{uuid.uuid4().hex[:8]}",
                            "fixedInfo": {"firstName": "Jane", "lastName": "Doe"},
                        },
                    ),
                    "create an applicant",
                )
                if event_type == "applicantReviewed":
                    self._ok(api.test_completed(made["id"]), "complete the review")

            def wanted(b: dict[str, Any]) -> bool:
                return b.get("type") == event_type and (reuse_scope is None or "reuseScope" in b)

            return self._deliver(rx, wanted, event_type)

    # ------------------------------------------------------------------------------ by expectation
    def produce(self, expected: Any) -> Received:
        """The real webhook matching what a pact expects (read from the expected example's `type`)."""
        if not isinstance(expected, dict) or not isinstance(expected.get("type"), str):
            raise ProducerError("the expected message is not a JSON object with a string 'type'")
        kind = expected["type"]
        if kind in DAKOTA_CHAIN or "api_version" in expected:
            return self.dakota_event(kind)
        if kind in SUMSUB_TYPES or "applicantId" in expected:
            scope = expected.get("reuseScope")
            return self.sumsub_webhook(kind, scope if isinstance(scope, str) else None)
        raise ProducerError(f"unknown message type {kind!r}")

    def message(self, expected: Any) -> dict[str, Any]:
        """A pact-python `Message`: the delivered body and its delivery headers as metadata (signatures left out)."""
        r = self.produce(expected)
        metadata: dict[str, Any] = {"contentType": "application/json"}
        for name in ("X-Dakota-Event-Type", "X-Dakota-Event-ID", "x-payload-digest-alg"):
            value = r.header(name)
            if value is not None:
                metadata[name] = value
        return {"contents": r.body, "metadata": metadata, "content_type": "application/json"}
