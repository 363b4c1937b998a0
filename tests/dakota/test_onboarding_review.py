"""Submitting a complete application, and its review: simulated decisions and information requests.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support import OTHER_ORG_KEY, VIEWER_KEY, Kit, customer, dakota_headers, field_errors, simulate
from tests.support.onboarding import imported


def test_submit_succeeds_once_complete(kit: Kit) -> None:
    ob = imported(kit)
    ob.complete()
    assert ob.validation()["ready"] is True

    resp = ob.submit()

    assert resp.status_code == 200, resp.text
    app = resp.json()
    assert app["application_id"] == ob.application_id
    assert app["application_status"] == "submitted"
    submitted_at = datetime.fromisoformat(app["application_submitted_at"].replace("Z", "+00:00")).timestamp()
    assert abs(submitted_at - kit.control.clock()["epoch"]) < 5
    assert app["application_decision"] is None
    assert app["validation"]["ready"] is True
    c = customer(kit, ob.customer_id)
    assert c["kyc_status"] == "pending"
    assert c["application_status"] == "submitted"
    listed = kit.admin.list_applications(status="submitted").json()["data"]
    assert [a["application_id"] for a in listed] == [ob.application_id]
    assert listed[0]["submitted_at"] == app["application_submitted_at"]


def test_a_submitted_application_cannot_be_modified(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    before = ob.get()

    put = ob.put_details(ob.details(employment_status="retired"))
    upload = ob.upload(country="GB")
    attest = ob.attest("funds_transfer_agreement", int(kit.control.clock()["epoch"]))

    for resp in (put, upload, attest):
        assert resp.status_code == 409, resp.text
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert "submitted" in resp.json()["detail"]
    after = ob.get()
    assert after["entities"] == before["entities"]
    assert after["attestations"] == before["attestations"]
    assert after["validation"] == before["validation"]


def test_a_second_submit_is_not_ready_because_already_submitted(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    resp = ob.submit()
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "application_not_ready"
    assert "already submitted" in body["status_message"]
    assert body["incomplete_applicants"] == []
    assert body["missing_attestations"] == []
    assert ob.get()["application_status"] == "submitted"


@pytest.mark.parametrize(
    ("kind", "status", "decision", "kyc_status", "kyb_status"),
    [
        ("kyc_approve", "approved", "approved", "approved", "pending"),
        ("kyc_reject", "declined", "declined", "rejected", "rejected"),
        ("kyc_info_request", "request_for_information", None, "pending", "pending"),
        ("kyb_approve", "approved", "approved", "approved", "active"),
    ],
)
def test_simulated_review_decides_the_submitted_application(
    kit: Kit, kind: str, status: str, decision: str | None, kyc_status: str, kyb_status: str
) -> None:
    ob = imported(kit)
    ob.submitted()

    resp = simulate(kit, ob.application_id, kind, simulation_id="sim-42")

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["simulation_id"] == "sim-42"
    assert body["applicant_id"] == ob.application_id
    assert body["previous_state"] == "pending"
    assert body["new_state"] == kyb_status
    app = ob.get()
    assert app["application_status"] == status
    assert app["application_decision"] == decision
    if decision is not None:
        assert app["decision_method"] == "manual"
        assert app["entities"]["primary_individual"]["decision"] == decision
    c = customer(kit, ob.customer_id)
    assert c["kyc_status"] == kyc_status
    assert c["kyb_status"] == kyb_status
    assert c["application_status"] == status
    assert c.get("decision") == decision


def test_an_information_request_makes_the_application_editable_and_submittable_again(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    assert simulate(kit, ob.application_id, "kyc_info_request", info_request_fields=["source_of_wealth"]).ok

    put = ob.put_details(ob.details(source_of_wealth=["savings", "inheritance"]))
    assert put.status_code == 200, put.text
    assert put.json()["application_status"] == "request_for_information"
    assert ob.upload(type="savings_statement", country="GB").status_code == 201
    resubmitted = ob.submit()
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["application_status"] == "submitted"
    assert simulate(kit, ob.application_id, "kyc_approve").ok
    assert customer(kit, ob.customer_id)["kyc_status"] == "approved"


def test_a_resubmitted_application_has_no_decision_until_it_is_reviewed_again(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    assert simulate(kit, ob.application_id, "kyc_reject").ok
    assert simulate(kit, ob.application_id, "kyc_info_request", info_request_fields=["source_of_wealth"]).ok
    assert ob.put_details(ob.details(source_of_wealth=["savings"])).status_code == 200

    resubmitted = ob.submit()

    assert resubmitted.status_code == 200, resubmitted.text
    app = resubmitted.json()
    assert app["application_status"] == "submitted"
    assert app["application_decision"] is None
    assert app["decision_method"] is None
    c = customer(kit, ob.customer_id)
    assert c["kyc_status"] == "pending"
    assert "decision" not in c
    assert simulate(kit, ob.application_id, "kyc_approve").ok
    assert customer(kit, ob.customer_id)["kyc_status"] == "approved"


def test_simulating_a_review_of_an_unsubmitted_application_is_400(kit: Kit) -> None:
    ob = imported(kit)
    resp = simulate(kit, ob.application_id, "kyc_approve")
    assert resp.status_code == 400
    assert field_errors(resp) == ["applicant_id"]
    assert ob.get()["application_status"] == "pending"
    assert customer(kit, ob.customer_id)["kyc_status"] == "pending"


def test_simulating_a_review_of_an_unknown_or_foreign_application_is_404(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    assert simulate(kit, "3Mc4tWnLigjgDKIqwDnjMlud0LF", "kyc_approve").status_code == 404
    assert simulate(kit, ob.customer_id, "kyc_approve").status_code == 404
    assert simulate(kit, ob.application_id, "kyc_approve", key=OTHER_ORG_KEY).status_code == 404
    assert ob.get()["application_status"] == "submitted"


def test_a_viewer_key_cannot_simulate_reviews(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    resp = simulate(kit, ob.application_id, "kyc_approve", key=VIEWER_KEY)
    assert resp.status_code == 403
    assert ob.get()["application_status"] == "submitted"


BAD_SIMULATIONS: list[tuple[dict[str, Any], str]] = [
    ({"simulation_id": None}, "simulation_id"),
    ({"simulation_id": ""}, "simulation_id"),
    ({"simulation_id": "x" * 129}, "simulation_id"),
    ({"type": "kyc_maybe"}, "type"),
    ({"applicant_id": None}, "applicant_id"),
    ({"info_request_fields": "ssn"}, "info_request_fields"),
]


def test_simulation_bodies_are_validated(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    for change, field in BAD_SIMULATIONS:
        body = {"type": "kyc_approve", "applicant_id": ob.application_id, "simulation_id": "s1", **change}
        body = {k: v for k, v in body.items() if v is not None}
        headers = dakota_headers()
        resp = kit.http.post(f"{kit.base_url}/sandbox/simulate/onboarding", json=body, headers=headers)
        assert resp.status_code == 400, change
        assert field_errors(resp) == [field], change
    assert ob.get()["application_status"] == "submitted"
