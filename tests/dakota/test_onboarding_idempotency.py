"""x-idempotency-key on the Step 3 POSTs (submissions, documents, attestations) and on simulated reviews.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

import uuid

from simulator.sumsub.profiles import fake_image
from tests.support import ADMIN_KEY, Kit, events, field_errors
from tests.support.onboarding import b64, imported


def test_submit_twice_with_one_idempotency_key_replays_the_first_response(kit: Kit) -> None:
    ob = imported(kit)
    ob.complete()
    key = str(uuid.uuid4())

    first = ob.submit(idempotency_key=key)
    kit.control.advance(5)
    second = ob.submit(idempotency_key=key)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    # A fresh key is a new submission attempt: already submitted.
    assert ob.submit().status_code == 400


def test_a_not_ready_submit_is_not_remembered_under_its_idempotency_key(kit: Kit) -> None:
    ob = imported(kit)
    key = str(uuid.uuid4())
    assert ob.submit(idempotency_key=key).status_code == 400
    ob.complete()
    retried = ob.submit(idempotency_key=key)
    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers


def test_an_upload_replayed_with_its_key_stores_one_document(kit: Kit) -> None:
    ob = imported(kit)
    body = {"type": "source_of_wealth", "file_type": "png", "file_content": b64(fake_image("x")), "country": "GB"}
    key = str(uuid.uuid4())
    path = f"/associated-individuals/{ob.individual_id}/documents"
    first = ob.post(path, body, key)
    second = ob.post(path, body, key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    uploaded = ob.validation()["primary_individual"]["documents"]["uploaded_documents"]
    assert [d["document_type"] for d in uploaded].count("source_of_wealth") == 1
    # The same key with another body is refused.
    other = ob.post(path, {**body, "country": "FR"}, key)
    assert other.status_code == 422
    assert field_errors(other) == ["x-idempotency-key"]


def test_an_attestation_replayed_with_its_key_answers_204_again(kit: Kit) -> None:
    ob = imported(kit)
    key = str(uuid.uuid4())
    now = int(kit.control.clock()["epoch"])
    body = {"attestation_type": "e_sign", "timestamp": now, "applicant_id": ob.individual_id}
    first = ob.post("/attestations", body, key)
    second = ob.post("/attestations", body, key)
    assert first.status_code == second.status_code == 204
    assert second.content == b""
    assert second.headers.get("Idempotent-Replayed") == "true"


def test_a_simulation_replayed_with_its_key_is_not_applied_twice(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    key = str(uuid.uuid4())
    body = {"type": "kyb_approve", "applicant_id": ob.application_id, "simulation_id": "sim-once"}
    headers = {"x-api-key": ADMIN_KEY, "x-idempotency-key": key}
    url = f"{kit.base_url}/sandbox/simulate/onboarding"
    first = kit.http.post(url, json=body, headers=headers)
    second = kit.http.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["previous_state"] == "pending"
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert sum(1 for e in events(kit)["data"] if e["type"] == "recipient.created") == 1


def test_step3_posts_need_a_uuid_idempotency_key(kit: Kit) -> None:
    # (On /submissions the spec declares only ApplicationNotReadyError for 400, so the check is shown here.)
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    body = {"attestation_type": "e_sign", "timestamp": now, "applicant_id": ob.individual_id}
    for key in (None, "", "not-a-uuid"):
        headers = {"X-Application-Token": ob.token}
        if key is not None:
            headers["x-idempotency-key"] = key
        resp = kit.http.post(ob.url + "/attestations", json=body, headers=headers)
        assert resp.status_code == 400, key
        assert field_errors(resp) == ["x-idempotency-key"], key
    assert ob.get("attestations")["attestations"] == {}
