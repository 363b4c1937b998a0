"""`POST /customers`: a manual customer and its empty application, completed through the standard flow.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

import uuid
from typing import Any

from simulator.sumsub.profiles import fake_image
from tests.support import ADMIN_KEY, Kit, create_customer, customer, events, field_errors, simulate
from tests.support.onboarding import ATTESTATIONS, b64, manual


def test_create_customer_returns_its_application_with_a_nanosecond_expiry(kit: Kit) -> None:
    before_ns = int(kit.control.clock()["epoch"] * 1e9)
    resp = create_customer(kit, {"name": "Ada Lovelace", "customer_type": "individual", "external_id": "crm-1"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"id", "kyb_links", "application_id", "application_url", "application_expires_at"}
    assert len(body["id"]) == len(body["application_id"]) == 27
    assert body["kyb_links"] == []
    path, token = body["application_url"].split("?token=", 1)
    assert path.endswith(f"/applications/{body['application_id']}")
    assert len(token) >= 32
    # The token in the URL opens the application.
    assert kit.admin.get_application(body["application_id"], token).status_code == 200
    expires = body["application_expires_at"]
    assert isinstance(expires, int)
    assert before_ns + 29 * 86400 * 10**9 < expires < before_ns + 31 * 86400 * 10**9
    c = customer(kit, body["id"])
    assert c["name"] == "Ada Lovelace"
    assert c["application_id"] == body["application_id"]
    assert c["application_status"] == "pending"
    assert c["kyc_status"] == "pending"
    assert kit.admin.list_customers(external_id="crm-1").json()["meta"]["total_count"] == 1
    assert kit.admin.list_customers(external_id="crm-2").json()["meta"]["total_count"] == 0
    assert kit.admin.list_customers(external_id="CRM-1").json()["meta"]["total_count"] == 0  # exact match


BAD_CUSTOMERS: list[tuple[dict[str, Any], str]] = [
    ({"name": "Al", "customer_type": "individual"}, "name"),
    ({"name": "     ", "customer_type": "individual"}, "name"),
    ({"name": "x" * 101, "customer_type": "individual"}, "name"),
    ({"name": 123, "customer_type": "individual"}, "name"),
    ({"customer_type": "individual"}, "name"),
    ({"name": "Ada Lovelace"}, "customer_type"),
    ({"name": "Ada Lovelace", "customer_type": "robot"}, "customer_type"),
    ({"name": "Ada Lovelace", "customer_type": "individual", "external_id": 7}, "external_id"),
]


def test_create_customer_validates_and_creates_nothing(kit: Kit) -> None:
    for body, field in BAD_CUSTOMERS:
        resp = create_customer(kit, body)
        assert resp.status_code == 400, body
        assert field_errors(resp) == [field], body
    assert kit.admin.list_customers().json()["meta"]["total_count"] == 0
    assert events(kit)["data"] == []


def test_create_customer_accepts_names_of_3_to_100_characters(kit: Kit) -> None:
    for name in ("Ada", "x" * 100, "  Ada  "):
        resp = create_customer(kit, {"name": name, "customer_type": "individual"})
        assert resp.status_code == 201, name
        assert customer(kit, resp.json()["id"])["name"] == name.strip()
    assert [e["type"] for e in events(kit)["data"]] == ["customer.created"] * 3


def test_create_customer_needs_an_api_key_and_an_idempotency_key(kit: Kit) -> None:
    body = {"name": "Ada Lovelace", "customer_type": "individual"}
    no_key = kit.http.post(f"{kit.base_url}/customers", json=body, headers={"x-idempotency-key": str(uuid.uuid4())})
    assert no_key.status_code == 401
    no_idem = kit.http.post(f"{kit.base_url}/customers", json=body, headers={"x-api-key": ADMIN_KEY})
    assert no_idem.status_code == 400
    key = str(uuid.uuid4())
    first = create_customer(kit, body, idempotency_key=key)
    again = create_customer(kit, body, idempotency_key=key)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert kit.admin.list_customers().json()["meta"]["total_count"] == 1


def test_the_empty_manual_application_lists_every_field_as_missing(kit: Kit) -> None:
    ob = manual(kit)
    v = ob.validation()
    assert v["ready"] is False
    assert v["primary_individual"]["details"]["missing_fields"] == [
        "first_name",
        "last_name",
        "date_of_birth",
        "email_address",
        "nationalities",
        "address.street1",
        "address.city",
        "address.country",
        "employment_status",
        "purpose_of_account",
        "source_of_wealth",
    ]
    purposes = [d["purpose"] for d in v["primary_individual"]["documents"]["missing_documents"] if d["required"]]
    assert purposes == ["individual_identity", "individual_source_of_wealth"]
    assert v["attestations"]["missing"] == ATTESTATIONS
    refused = ob.submit().json()
    assert refused["code"] == "application_not_ready"
    assert len(refused["incomplete_applicants"][0]["missing_fields"]) == 11


def test_a_manual_application_can_attest_only_once_a_name_is_on_file(kit: Kit) -> None:
    ob = manual(kit)
    now = int(kit.control.clock()["epoch"])
    early = ob.attest("e_sign", now)
    assert early.status_code == 400
    assert field_errors(early) == ["applicant_id"]
    assert ob.put_details(ob.details()).status_code == 200
    assert ob.attest("e_sign", now).status_code == 204


def test_a_manual_application_completes_through_the_standard_flow(kit: Kit) -> None:
    ob = manual(kit)
    ob.complete(name={"first": "Ada", "middle": "King", "last": "Lovelace"})
    passport = ob.upload(type="passport", id_number="P123", country="GB", file_content=b64(fake_image("pp")))
    assert passport.status_code == 201
    resp = ob.submit()
    assert resp.status_code == 200, resp.text
    assert resp.json()["entities"]["primary_individual"]["first_name"] == "Ada"
    assert simulate(kit, ob.application_id, "kyc_approve").ok
    c = customer(kit, ob.customer_id)
    assert c["kyc_status"] == "approved"
    assert c["email"] == "ada@mailbox.co.uk"


def test_the_empty_manual_application_has_no_individual_until_details_are_on_file(kit: Kit) -> None:
    """Dakota's IndividualEntity requires a date of birth, nationalities, an address and an email: an application
    with nothing on file yet shows no primary_individual rather than an entity that breaks the spec."""
    ob = manual(kit)
    resp = kit.admin.get_application(ob.application_id, ob.token, include="entities,validation")
    assert resp.status_code == 200
    assert resp.json()["entities"] == {}
    assert "first_name" in resp.json()["validation"]["primary_individual"]["details"]["missing_fields"]
    assert kit.contract_problems == [], [str(p) for p in kit.contract_problems]
    ob.complete(name={"first": "Ada", "last": "Lovelace"})
    entity = kit.admin.get_application(ob.application_id, ob.token, include="entities").json()["entities"]
    assert entity["primary_individual"]["first_name"] == "Ada"
    assert "sumsub_verification" not in entity["primary_individual"]
