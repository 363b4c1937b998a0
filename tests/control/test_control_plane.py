"""The /_sandbox control plane."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from simulator.app import create_app
from simulator.settings import Settings
from tests.support import DAKOTA_CLIENT_ID, TEST_STORE, Kit


def test_health_reports_store_version_and_clock(kit: Kit) -> None:
    body = kit.control.health().json()
    assert body["status"] == "ok"
    assert body["store"] == TEST_STORE
    assert body["dakota_client_id"] == DAKOTA_CLIENT_ID
    assert set(body["clock"]) == {"now", "epoch", "offset_seconds", "frozen"}


def test_credentials_have_the_documented_shape(kit: Kit) -> None:
    creds = kit.control.credentials()
    clients = creds["sumsub"]["clients"]
    assert creds["sumsub"]["base_url"] and creds["dakota"]["base_url"]
    dakota = next(c for c in clients if c["client_id"] == DAKOTA_CLIENT_ID)
    assert dakota["role"] == "recipient" and dakota["app_token"].startswith("sbx:") and dakota["secret_key"]
    donors = [c for c in clients if c["role"] == "donor"]
    assert len(donors) >= 2
    assert all(DAKOTA_CLIENT_ID in d["shares_with"] for d in donors)
    roles = {k["role"]: k for k in creds["dakota"]["api_keys"]}
    assert roles["admin"]["permissions"] == ["manage_compliance_applications"]
    assert roles["viewer"]["permissions"] == []
    assert {"id-only", "basic-kyc-level"} <= set(creds["sumsub"]["levels"])


def test_reset_removes_everything_created_and_restores_the_clock(kit: Kit) -> None:
    token = kit.token()
    kit.bulk([token])
    kit.control.advance(3600)
    assert kit.admin.list_customers().json()["meta"]["total_count"] == 1
    assert kit.control.reset().json()["reset"] is True
    assert kit.admin.list_customers().json()["meta"]["total_count"] == 0
    assert kit.control.token_status(token).status_code == 404
    assert abs(kit.control.clock()["offset_seconds"]) < 1
    # Seeded credentials survive a reset.
    assert kit.bulk([kit.token()])["succeeded"] == 1


def test_clock_advance_moves_time_forward_only(kit: Kit) -> None:
    before = kit.control.clock()["epoch"]
    resp = kit.control.advance(90)
    assert resp.status_code == 200
    assert resp.json()["epoch"] - before >= 90
    for bad in (-1, "10", None, True, 1e12):
        r = kit.control.http.post(f"{kit.base_url}/_sandbox/clock/advance", json={"seconds": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["field"] == "seconds"


def test_clock_freeze_holds_time_and_set_jumps_forward(kit: Kit) -> None:
    frozen = kit.control.set_clock(frozen=True).json()
    assert frozen["frozen"] is True
    again = kit.control.clock()
    assert again["epoch"] == frozen["epoch"]
    kit.control.advance(10)
    assert kit.control.clock()["epoch"] == pytest.approx(frozen["epoch"] + 10)
    jumped = kit.control.set_clock(now="2030-01-01T00:00:00Z").json()
    assert jumped["now"] == "2030-01-01T00:00:00Z" and jumped["frozen"] is True
    back = kit.control.set_clock(now="2029-01-01T00:00:00Z")
    assert back.status_code == 400 and "only moves forward" in back.json()["error"]["message"]
    assert kit.control.set_clock(now="not a time").status_code == 400
    assert kit.control.set_clock(now="2031-01-01T00:00:00").status_code == 400  # no timezone
    thawed = kit.control.set_clock(frozen=False).json()
    assert thawed["frozen"] is False and thawed["now"].startswith("2030-01-01")


def test_donor_shortcut_creates_a_verified_applicant_and_token(kit: Kit) -> None:
    resp = kit.control.create_donor("us-ssn", share_with=DAKOTA_CLIENT_ID, ttl_in_secs=60)
    assert resp.status_code == 201
    body = resp.json()
    assert re.fullmatch(r"[0-9a-f]{24}", body["applicant_id"])
    assert body["review_status"] == "completed" and body["review_answer"] == "GREEN"
    assert body["share_token"]["ttl_in_secs"] == 60
    status = kit.control.token_status(body["share_token"]["token"]).json()
    assert status["state"] == "active" and status["applicant_id"] == body["applicant_id"]
    # The applicant is real: the donor reads it over the signed API.
    assert kit.donor.get_applicant(body["applicant_id"]).json()["externalUserId"] == body["external_user_id"]


def test_donor_shortcut_rejects_unknown_profiles_and_clients(kit: Kit) -> None:
    r = kit.control.create_donor("nobody")
    assert r.status_code == 400 and r.json()["error"]["field"] == "profile"
    r = kit.control.create_donor("gb-passport", client_id="nope")
    assert r.status_code == 404
    r = kit.control.http.post(
        f"{kit.base_url}/_sandbox/donors", data="[1,2", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert kit.admin.list_customers().json()["meta"]["total_count"] == 0


def test_profiles_lists_every_fixture(kit: Kit) -> None:
    names = {p["name"] for p in kit.http.get(f"{kit.base_url}/_sandbox/profiles").json()["profiles"]}
    assert {"gb-passport", "id-card-only", "weaker-level", "business", "not-approved"} <= names


def test_journal_records_requests_with_status_and_error_text(kit: Kit) -> None:
    kit.viewer.bulk_import_sumsub_tokens(["x"])
    entries = kit.control.journal(api="dakota").json()["entries"]
    last = entries[-1]
    assert last["method"] == "POST" and last["path"] == "/customers/bulk-import-sumsub-tokens"
    assert last["status"] == 401 and "manage_compliance_applications" in last["note"]
    assert kit.control.journal(limit=0).status_code == 400


def test_journal_is_bounded() -> None:
    app: Flask = create_app(Settings(database_url="sqlite://", journal_size=20))
    client = app.test_client()
    for _ in range(120):
        client.get("/_sandbox/health")
    entries = client.get("/_sandbox/journal?limit=1000").json["entries"]
    assert len(entries) <= 20 + 50  # pruned in batches of 50
    assert entries[-1]["path"] == "/_sandbox/health"


def test_unknown_control_route_answers_in_the_control_envelope(kit: Kit) -> None:
    r = kit.http.get(f"{kit.base_url}/_sandbox/nope")
    assert r.status_code == 404
    assert r.json()["error"]["status"] == 404
