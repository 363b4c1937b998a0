"""Sumsub's webhooks: configured per client, signed with a payload digest of the raw body, retried.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from typing import Any

import pytest
import requests

from simulator.harness.receiver import WebhookReceiver
from simulator.sumsub.notify import RETRY_DELAYS as SUMSUB_RETRY_DELAYS
from simulator.sumsub.profiles import fake_image
from tests.support import DAKOTA_CLIENT_ID, DONOR_ID, Kit, mint_and_import
from tests.support.webhooks import advance, dispatch


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
    row = mint_and_import(kit)
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
    row = mint_and_import(kit, "weaker-level")
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
