"""The request journal records every request, hostile ones included; one entry never costs the others."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy.exc import DataError

from simulator.core import journal
from tests.support import DAKOTA_CLIENT_ID, Kit


def test_a_rejected_request_with_a_lone_surrogate_leaves_the_journal_whole(kit: Kit) -> None:
    """The audit: three GETs, then a signed share-token request with `forClientId: "\\ud800"` (400); reading the
    journal answered 500 and the three GETs were never recorded."""
    for _ in range(3):
        assert kit.control.health().status_code == 200
    resp = kit.donor.request(
        "POST", "/resources/accessTokens/shareToken", data=b'{"applicantId": "x", "forClientId": "\\ud800"}'
    )
    assert resp.status_code == 400, resp.text
    listed = kit.control.journal(limit=20)
    assert listed.status_code == 200, listed.text
    entries = listed.json()["entries"]
    assert [e["path"] for e in entries[-4:]] == ["/_sandbox/health"] * 3 + ["/resources/accessTokens/shareToken"]
    assert entries[-1]["status"] == 400


def test_journal_text_is_made_storable_not_dropped() -> None:
    buffer = journal.JournalBuffer(10)
    buffer.add(path="/x\ud800y", note="nul\x00here", status=400)
    (entry,) = buffer.take()
    assert entry == {"path": "/x\ufffdy", "note": "nul\ufffdhere", "status": 400}


def test_an_entry_the_store_refuses_costs_only_itself(
    app: Flask, kit: Kit, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sb = app.extensions["kyc_sandbox"]
    real = journal.write_many

    def refuse_the_poisoned(tx: object, size: int, rows: list[dict[str, object]]) -> None:
        if any(r.get("note") == "poison" for r in rows):
            raise DataError("INSERT INTO sandbox_journal ...", {}, Exception("the store refused a value"))
        real(tx, size, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(journal, "write_many", refuse_the_poisoned)
    sb.flush_journal()
    for i in range(3):
        sb.journal.add(at=0.0, api="control", method="GET", path=f"/p{i}", status=200, duration_ms=1.0,
                       request_id=f"r{i}", note="poison" if i == 1 else None)  # fmt: skip
    with caplog.at_level(logging.WARNING):
        sb.flush_journal()
    monkeypatch.setattr(journal, "write_many", real)
    paths = [e["path"] for e in kit.control.journal(limit=50).json()["entries"]]
    assert "/p0" in paths and "/p2" in paths and "/p1" not in paths
    assert "journal entry dropped" in caplog.text


def test_a_share_token_for_a_surrogate_client_is_refused_before_anything_is_minted(kit: Kit) -> None:
    applicant = kit.control.create_donor("gb-passport").json()["applicant_id"]
    resp = kit.donor.generate_share_token(applicant, "\ud800")
    assert resp.status_code == 400
    assert "forClientId: must be valid Unicode text" in resp.json()["description"]
    assert kit.donor.generate_share_token(applicant, DAKOTA_CLIENT_ID).status_code == 200
