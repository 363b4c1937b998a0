"""x-idempotency-key on the bulk import: replays, conflicts (422, 409), the 24-hour window, claims of a request
that stopped, and keys per API key.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from simulator.dakota.idempotency import request_digest
from tests.support import ADMIN_KEY, BULK, Kit, only_row, token_state
from tests.support.bulk import assert_bulk_problem, assert_failed_row, customer_count, post_bulk_raw, tokens_body


def test_same_idempotency_key_and_body_replays_the_first_response_without_redeeming_again(kit: Kit) -> None:
    token, other = kit.token("gb-passport"), kit.token("us-ssn")
    key = str(uuid.uuid4())
    first = kit.admin.bulk_import_sumsub_tokens([token, "garbage", other], idempotency_key=key)
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    second = kit.admin.bulk_import_sumsub_tokens([token, "garbage", other], idempotency_key=key)
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert first.json()["succeeded"] == 2
    assert customer_count(kit) == 2  # not 4, and no "single-use" rows in the replay
    redeemed_at = kit.control.token_status(token).json()["redeemed_at"]
    kit.admin.bulk_import_sumsub_tokens([token, "garbage", other], idempotency_key=key)
    assert kit.control.token_status(token).json()["redeemed_at"] == redeemed_at


def test_idempotency_key_is_canonicalised_as_a_uuid(kit: Kit) -> None:
    token = kit.token()
    key = uuid.uuid4()
    first = kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=str(key))
    again = kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=str(key).upper())
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()


def test_same_idempotency_key_with_another_body_is_422_and_changes_nothing(kit: Kit) -> None:
    first_token, second_token = kit.token("gb-passport"), kit.token("us-ssn")
    key = str(uuid.uuid4())
    assert kit.admin.bulk_import_sumsub_tokens([first_token], idempotency_key=key).status_code == 200
    resp = kit.admin.bulk_import_sumsub_tokens([second_token], idempotency_key=key)
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    body = resp.json()
    assert body["status"] == 422
    assert "x-idempotency-key" in body["detail"]
    assert body["errors"][0]["field"] == "x-idempotency-key"
    assert token_state(kit, second_token) == "active"
    assert customer_count(kit) == 1
    # The design answers 422 here; Dakota's spec declares only 200/400/401 for this operation, so the contract
    # check flags exactly this one response. Accept that single, known deviation and nothing else.
    assert [(p.status, p.message) for p in kit.contract_problems] == [
        (422, "status 422 is not declared for this operation")
    ]
    kit.contract_problems.clear()


def test_idempotency_key_expires_after_the_window_and_then_runs_again(kit: Kit) -> None:
    token = kit.token()
    key = str(uuid.uuid4())
    first = kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=key)
    assert only_row(first.json())["success"] is True
    kit.control.advance(24 * 3600 - 5).raise_for_status()
    assert kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=key).headers.get("Idempotent-Replayed")
    kit.control.advance(10).raise_for_status()
    late = kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=key)
    assert "Idempotent-Replayed" not in late.headers
    assert_failed_row(only_row(late.json()), "Tokens are single-use")  # a real second attempt
    assert customer_count(kit) == 1


def test_duplicate_while_the_first_request_is_in_flight_is_409(kit: Kit, app: Flask) -> None:
    token = kit.token()
    raw = tokens_body([token])
    key = str(uuid.uuid4())
    idempotency = app.extensions["kyc_sandbox"].dakota.importer.idempotency
    claim_in_flight(app, key, raw)  # the first request, in flight
    resp = post_bulk_raw(kit, raw, idempotency_key=key)
    assert resp.status_code == 409, resp.text
    assert resp.json()["status"] == 409
    assert token_state(kit, token) == "active"
    # The design answers 409 here; Dakota's spec declares only 200/400/401 for this operation (known deviation).
    assert [(p.status, p.message) for p in kit.contract_problems] == [
        (409, "status 409 is not declared for this operation")
    ]
    kit.contract_problems.clear()
    idempotency.give_up(ADMIN_KEY, key)  # the first request stopped without a response: a retry carries on at once
    assert only_row(post_bulk_raw(kit, raw, idempotency_key=key).json())["success"] is True


def test_a_claim_whose_worker_died_is_taken_over_once_its_lease_runs_out(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = kit.token()
    raw = tokens_body([token])
    key = str(uuid.uuid4())
    sb = app.extensions["kyc_sandbox"]
    claim_in_flight(app, key, raw)  # claimed, then the worker died
    assert post_bulk_raw(kit, raw, idempotency_key=key).status_code == 409  # its lease still holds
    kit.contract_problems.clear()  # 409 is a documented deviation (see the in-flight test above)
    wall = sb.rt.clock.wall()
    monkeypatch.setattr(sb.rt.clock, "wall", lambda: wall + sb.rt.settings.idempotency_lease_seconds + 1)
    # Past the lease the retry takes the claim over and runs; one attempt takes over, the next one waits.
    claim_in_flight(app, key, raw)
    with pytest.raises(Exception, match="still in progress"):
        claim_in_flight(app, key, raw)
    assert token_state(kit, token) == "active"


def claim_in_flight(app: Flask, key: str, raw: bytes) -> None:
    """Claim `key` for a bulk import of `raw` in a committed transaction, as a request that then stopped would."""
    sb = app.extensions["kyc_sandbox"]
    with sb.rt.store.write() as tx:
        begun = sb.dakota.importer.idempotency.begin(tx, ADMIN_KEY, key, "POST", BULK, request_digest(raw))
        assert begun.replay is None


def test_a_rejected_request_does_not_consume_its_idempotency_key(kit: Kit) -> None:
    token = kit.token()
    key = str(uuid.uuid4())
    assert_bulk_problem(post_bulk_raw(kit, tokens_body([token, None]), idempotency_key=key), 400)
    assert_bulk_problem(kit.viewer.bulk_import_sumsub_tokens([token], idempotency_key=key), 401)
    resp = kit.admin.bulk_import_sumsub_tokens([token], idempotency_key=key)
    assert resp.status_code == 200
    assert "Idempotent-Replayed" not in resp.headers
    assert only_row(resp.json())["success"] is True


def test_idempotency_keys_are_per_api_key(kit: Kit) -> None:
    ours, theirs = kit.token("gb-passport"), kit.token("us-ssn")
    key = str(uuid.uuid4())
    mine = kit.admin.bulk_import_sumsub_tokens([ours], idempotency_key=key)
    assert only_row(mine.json())["success"] is True
    # Another organisation's admin reuses the key with another body: no 422, its own import runs.
    other = kit.other_org.bulk_import_sumsub_tokens([theirs], idempotency_key=key)
    assert other.status_code == 200
    assert "Idempotent-Replayed" not in other.headers
    assert only_row(other.json())["success"] is True
    # ... and with our exact body: not a replay of our response, a real (now single-use) attempt.
    same_body = kit.other_org.bulk_import_sumsub_tokens([ours], idempotency_key=str(uuid.uuid4()))
    assert_failed_row(only_row(same_body.json()), "Tokens are single-use")
    replay_attempt = kit.other_org.bulk_import_sumsub_tokens([theirs], idempotency_key=key)
    assert replay_attempt.headers.get("Idempotent-Replayed") == "true"
    assert replay_attempt.json() == other.json()
    assert customer_count(kit) == 1
