"""`GET /customers/{id}` and `GET /applications/{id}` read without the ORM; they agree with the list and the
ORM read in every state of onboarding.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from flask import Flask

from tests.support import Kit, create_customer, customer, simulate
from tests.support.onboarding import imported, manual


def test_get_customer_matches_the_customer_list_in_every_state(kit: Kit) -> None:
    """GET /customers/{id} reads in one statement without the ORM; the list builds the same object with it."""
    pending = imported(kit)
    approved = imported(kit)
    approved.submitted()
    assert simulate(kit, approved.application_id, "kyc_approve").status_code == 200
    rejected = imported(kit)
    rejected.submitted()
    assert simulate(kit, rejected.application_id, "kyc_reject").status_code == 200
    by_hand = manual(kit, "Grace Hopper")
    business = create_customer(kit, {"name": "Acme Ltd", "customer_type": "business"})
    assert business.status_code == 201, business.text
    ids = {pending.customer_id, approved.customer_id, rejected.customer_id, by_hand.customer_id, business.json()["id"]}

    listed = {c["id"]: c for c in kit.admin.list_customers(limit=100).json()["data"]}
    assert set(listed) == ids
    for customer_id in ids:
        assert customer(kit, customer_id) == listed[customer_id]
    assert {listed[i]["kyc_status"] for i in ids} >= {"pending", "approved", "rejected"}


def test_get_application_matches_the_orm_read_in_every_state(kit: Kit, app: Flask) -> None:
    """GET /applications/{id} reads one row without the ORM; the ORM read of the same row gives the same object."""
    sb = app.extensions["kyc_sandbox"]
    pending = imported(kit)
    attested = imported(kit)
    attested.attest_all()
    approved = imported(kit)
    approved.submitted()
    assert simulate(kit, approved.application_id, "kyc_approve").status_code == 200
    by_hand = manual(kit, "Grace Hopper")
    for ob in (pending, attested, approved, by_hand):
        for include in ({"all"}, {"entities", "validation"}, set()):
            view = sb.dakota.applications.application_view(ob.application_id, ob.token, include)
            with sb.rt.store.read() as tx:
                row = sb.dakota.applications.application_by_token(tx, ob.application_id, ob.token)
                assert view == sb.dakota.applications.application_dict(row, include)
    assert approved.get()["application_decision"] == "approved"
    assert attested.get(include="attestations")["attestations"]
