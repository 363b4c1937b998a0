"""Step 3, attestations: e_sign first, timestamped in order, by the application's own individual.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support import Kit, field_errors
from tests.support.onboarding import imported


def test_attestations_must_start_with_e_sign(kit: Kit) -> None:
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    resp = ob.attest("terms_of_service", now)
    assert resp.status_code == 400
    assert field_errors(resp) == ["attestation_type"]
    assert resp.json()["errors"][0]["code"] == "e_sign_required"
    assert ob.get("attestations")["attestations"] == {}


def test_later_attestations_must_be_timestamped_after_e_sign(kit: Kit) -> None:
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    assert ob.attest("e_sign", now - 50).status_code == 204
    for ts in (now - 50, now - 51):
        resp = ob.attest("privacy_policy", ts)
        assert resp.status_code == 400
        assert field_errors(resp) == ["timestamp"]
    assert ob.attest("privacy_policy", now - 49).status_code == 204


def test_the_attestor_must_be_the_applications_individual(kit: Kit) -> None:
    ob = imported(kit)
    other = imported(kit, "us-ssn")
    now = int(kit.control.clock()["epoch"])
    for wrong in (other.individual_id, ob.customer_id, ob.application_id):
        resp = ob.attest("e_sign", now, applicant_id=wrong)
        assert resp.status_code == 400
        assert field_errors(resp) == ["applicant_id"]
    assert ob.get("attestations")["attestations"] == {}


BAD_ATTESTATIONS: list[tuple[dict[str, Any], str]] = [
    ({"attestation_type": "blood_oath"}, "attestation_type"),
    ({"attestation_type": None}, "attestation_type"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": True}, "timestamp"),
    ({"timestamp": -5}, "timestamp"),
    ({"timestamp": 4_000_000_000}, "timestamp"),  # far in the future
    ({"applicant_id": None}, "applicant_id"),
]


def test_attestation_bodies_are_validated(kit: Kit) -> None:
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    for change, field in BAD_ATTESTATIONS:
        full = {"attestation_type": "e_sign", "timestamp": now, "applicant_id": ob.individual_id, **change}
        resp = ob.post("/attestations", {k: v for k, v in full.items() if v is not None})
        assert resp.status_code == 400, change
        assert field_errors(resp) == [field], change
    assert ob.post("/attestations", ["e_sign"]).status_code == 400
    assert ob.get("attestations")["attestations"] == {}


def test_attestations_answer_204_and_show_in_the_application_and_its_validation(kit: Kit) -> None:
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    resp = ob.attest("e_sign", now - 10)
    assert resp.status_code == 204
    assert resp.content == b""
    assert ob.attest("terms_of_service", now - 5).status_code == 204

    app = ob.get("attestations,validation")
    assert set(app["attestations"]) == {"e_sign", "terms_of_service"}
    e_sign = app["attestations"]["e_sign"]
    assert e_sign["attested_by"] == "Olivia Bennett"
    assert e_sign["attested_at"] == datetime.fromtimestamp(now - 10, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    atts = app["validation"]["attestations"]
    assert [c["type"] for c in atts["completed"]] == ["e_sign", "terms_of_service"]
    assert atts["missing"] == ["privacy_policy", "information_accuracy"]
    assert "entities" not in app  # only what was included
