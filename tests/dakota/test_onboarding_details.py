"""Step 3, the individual's details: what a fresh import still misses, and `PUT .../individual-details`.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from simulator.sumsub.profiles import fake_image
from tests.support import Kit, customer, field_errors
from tests.support.onboarding import ATTESTATIONS, DAKOTA_FIELDS, JPEG, Onboarding, b64, imported, manual, sim_today


@pytest.mark.parametrize(
    ("profile", "missing_fields", "missing_documents"),
    [
        ("gb-passport", DAKOTA_FIELDS, ["individual_source_of_wealth"]),
        ("us-no-ssn", [*DAKOTA_FIELDS, "ssn"], ["individual_source_of_wealth"]),
        ("us-ssn", DAKOTA_FIELDS, ["individual_source_of_wealth"]),
        ("no-address", ["address", *DAKOTA_FIELDS], ["individual_source_of_wealth"]),
        ("weaker-level", DAKOTA_FIELDS, ["individual_identity", "individual_source_of_wealth"]),
    ],
)
def test_submit_of_a_fresh_import_lists_exactly_what_is_missing(
    kit: Kit, profile: str, missing_fields: list[str], missing_documents: list[str]
) -> None:
    ob = imported(kit, profile)
    resp = ob.submit()

    assert resp.status_code == 400, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["code"] == "application_not_ready"
    assert body["application_id"] == ob.application_id
    assert body["status_message"].startswith("Waiting on:")
    assert sorted(body["missing_attestations"]) == sorted(ATTESTATIONS)
    [entity] = body["incomplete_applicants"]
    assert entity["applicant_id"] == ob.individual_id
    assert entity["ready"] is False
    assert sorted(entity["missing_fields"]) == sorted(missing_fields)
    assert len(entity["missing_fields"]) == len(set(entity["missing_fields"]))
    purposes = [d["purpose"] for d in entity["document_info"]["missing_documents"]]
    assert sorted(purposes) == sorted(missing_documents)
    for name in [*missing_fields, *missing_documents, *ATTESTATIONS]:
        assert name in body["status_message"]
    # Nothing changed: still the draft, and the validation view agrees with the refusal.
    app = ob.get()
    assert app["application_status"] == "pending"
    assert app["application_submitted_at"] is None
    v = app["validation"]
    assert v["ready"] is False
    assert sorted(v["primary_individual"]["details"]["missing_fields"]) == sorted(missing_fields)
    assert v["attestations"]["missing"] == ATTESTATIONS


def test_us_ssn_import_carries_the_ssn_so_it_is_not_missing(kit: Kit) -> None:
    ob = imported(kit, "us-ssn")
    assert ob.individual["ssn"] == "123-45-6789"
    assert "ssn" not in ob.validation()["primary_individual"]["details"]["missing_fields"]


def test_weaker_level_import_is_closed_by_uploading_a_passport_through_dakota(kit: Kit) -> None:
    ob = imported(kit, "weaker-level")
    assert ob.individual["sumsub_verification"]["sumsub_review_status"] == "documents_requested"

    resp = ob.upload(type="passport", file_type="jpeg", file_content=b64(JPEG), id_number="YA1234567", country="IT")

    assert resp.status_code == 201, resp.text
    verification = ob.individual["sumsub_verification"]
    assert verification["sumsub_review_status"] == "approved"
    assert verification["review"]["review_status"] == "completed"
    assert verification["review"]["review_result"] == {"review_answer": "GREEN"}
    purposes = [d["purpose"] for d in ob.validation()["primary_individual"]["documents"]["missing_documents"]]
    assert "individual_identity" not in purposes
    # The applicant on Dakota's Sumsub account is GREEN too.
    applicant_id = verification["provider_applicant_id"]
    status = kit.dakota_sumsub.review_status(applicant_id).json()
    assert status["reviewStatus"] == "completed"
    assert status["reviewResult"]["reviewAnswer"] == "GREEN"


def test_weaker_level_import_submits_once_the_identity_gap_is_closed(kit: Kit) -> None:
    ob = imported(kit, "weaker-level")
    ob.complete()
    assert ob.submit().json()["incomplete_applicants"][0]["document_info"]["missing_documents"][0]["purpose"] == (
        "individual_identity"
    )
    assert (
        ob.upload(type="passport", file_content=b64(fake_image("p")), id_number="YA1", country="IT").status_code == 201
    )
    assert ob.submit().status_code == 200


def _under_18(ob: Onboarding) -> dict[str, Any]:
    today = sim_today(ob.kit)
    return {"date_of_birth": (today - timedelta(days=17 * 365)).isoformat()}


BAD_DETAILS: list[tuple[str, Callable[[Onboarding], dict[str, Any]]]] = [
    ("date_of_birth", _under_18),
    ("date_of_birth", lambda ob: {"date_of_birth": "12/04/1990"}),
    ("nationalities", lambda ob: {"nationalities": ["GBR"]}),
    ("nationalities", lambda ob: {"nationalities": ["XX"]}),
    ("nationalities", lambda ob: {"nationalities": []}),
    ("address.country", lambda ob: {"address": {**ob.individual["address"], "country": "ZZ"}}),
    ("address.street1", lambda ob: {"address": {"city": "London", "country": "GB"}}),
    ("email_address", lambda ob: {"email_address": "olivia@example.com"}),
    ("email_address", lambda ob: {"email_address": "olivia@mail.test"}),
    ("email_address", lambda ob: {"email_address": "not-an-email"}),
    ("ssn", lambda ob: {"ssn": "123456789"}),
    ("roles", lambda ob: {"roles": ["individual", "ubo"]}),
    ("roles", lambda ob: {"roles": ["ubo"]}),
    ("roles", lambda ob: {"roles": None}),
    ("title", lambda ob: {"title": "ceo"}),
    ("employment_status", lambda ob: {"employment_status": None}),
    ("employment_status", lambda ob: {"employment_status": "astronaut"}),
    ("purpose_of_account", lambda ob: {"purpose_of_account": []}),
    ("source_of_wealth", lambda ob: {"source_of_wealth": ["bank_robbery"]}),
    ("name.last", lambda ob: {"name": {"first": "Olivia"}}),
]


def test_individual_details_with_one_bad_field_are_refused_naming_it_and_change_nothing(kit: Kit) -> None:
    ob = imported(kit, "gb-passport")
    before = ob.get()

    for i, (field, change) in enumerate(BAD_DETAILS):
        case = f"case {i}: {field} {change(ob)}"
        resp = ob.put_details(ob.details(**change(ob)))

        assert resp.status_code == 400, case
        assert resp.headers["Content-Type"].startswith("application/problem+json"), case
        assert field_errors(resp) == [field], case
        assert resp.json()["status"] == 400, case
        after = ob.get()
        assert after["entities"] == before["entities"], case
        assert after["application_updated_at"] == before["application_updated_at"], case


def test_individual_details_body_must_be_a_json_object(kit: Kit) -> None:
    ob = imported(kit)
    assert ob.put_details(["roles"]).status_code == 400
    bad_json = kit.http.put(
        ob.url + "/individual-details",
        data=b"{nope",
        headers={"X-Application-Token": ob.token, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400


def test_age_is_judged_on_the_simulated_clock(kit: Kit) -> None:
    assert kit.control.set_clock(now="2040-06-15T12:00:00Z").status_code == 200
    ob = imported(kit)

    seventeen = ob.put_details(ob.details(date_of_birth="2022-06-16"))
    assert seventeen.status_code == 400
    assert field_errors(seventeen) == ["date_of_birth"]
    assert seventeen.json()["errors"][0]["code"] == "too_young"
    # Eighteen today on the simulated clock, though only a child by the wall clock.
    eighteen = ob.put_details(ob.details(date_of_birth="2022-06-15"))
    assert eighteen.status_code == 200, eighteen.text
    assert eighteen.json()["individual"]["date_of_birth"] == "2022-06-15"


def test_several_bad_fields_are_all_reported(kit: Kit) -> None:
    ob = imported(kit)
    resp = ob.put_details(ob.details(email_address="a@example.com", employment_status=None, title="cfo"))
    assert resp.status_code == 400
    assert sorted(field_errors(resp)) == ["email_address", "employment_status", "title"]


def test_valid_individual_details_return_the_individual_and_fill_the_gaps(kit: Kit) -> None:
    ob = imported(kit)
    body = ob.details(purpose_of_account=["investing", "storage_of_funds_or_digital_assets"])

    resp = ob.put_details(body)

    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert set(out) == {"application_id", "application_status", "application_decision", "individual"}
    assert out["application_id"] == ob.application_id
    assert out["application_status"] == "pending"
    assert out["application_decision"] is None
    ind = out["individual"]
    assert ind["id"] == ob.individual_id
    assert ind["first_name"] == "Olivia" and ind["last_name"] == "Bennett"
    assert ind["employment_status"] == "employed"
    assert ind["purpose_of_account"] == ["investing", "storage_of_funds_or_digital_assets"]
    assert ind["source_of_wealth"] == ["employment"]
    assert ind["phone_number"] == "+447700900123"  # kept from Sumsub although the request has no phone field
    assert ind["sumsub_verification"]["sumsub_review_status"] == "approved"
    assert ob.individual == ind
    details = ob.validation()["primary_individual"]["details"]
    assert details == {"ready": True, "missing_fields": []}
    assert customer(kit, ob.customer_id)["email"] == "olivia.bennett@mailbox.co.uk"


def test_a_carried_ssn_is_kept_when_ssn_is_omitted(kit: Kit) -> None:
    ob = imported(kit, "us-ssn")
    resp = ob.put_details(ob.details())
    assert resp.status_code == 200, resp.text
    assert resp.json()["individual"]["ssn"] == "123-45-6789"
    replaced = ob.put_details(ob.details(ssn="987-65-4321"))
    assert replaced.json()["individual"]["ssn"] == "987-65-4321"


def test_a_us_person_without_any_ssn_must_send_one(kit: Kit) -> None:
    ob = imported(kit, "us-no-ssn")
    missing = ob.put_details(ob.details())
    assert missing.status_code == 400
    assert field_errors(missing) == ["ssn"]
    assert missing.json()["errors"][0]["code"] == "required"
    sent = ob.put_details(ob.details(ssn="123-45-6789"))
    assert sent.status_code == 200, sent.text
    assert sent.json()["individual"]["ssn"] == "123-45-6789"


def test_moving_a_non_us_person_to_a_us_address_makes_the_ssn_required(kit: Kit) -> None:
    ob = imported(kit, "gb-passport")
    us_address = {"street1": "1 Market St", "city": "San Francisco", "region": "California", "country": "US"}
    resp = ob.put_details(ob.details(address=us_address))
    assert resp.status_code == 400
    assert field_errors(resp) == ["ssn"]


def test_individual_details_need_the_applications_own_token(kit: Kit) -> None:
    ob = imported(kit)
    other = imported(kit, "us-ssn")
    body = ob.details()
    no_token = kit.http.put(ob.url + "/individual-details", json=body)
    assert no_token.status_code == 401
    wrong = kit.http.put(ob.url + "/individual-details", json=body, headers={"X-Application-Token": other.token})
    assert wrong.status_code == 401
    assert ob.individual.get("employment_status") is None


def test_a_kosovar_imported_as_xk_can_complete_step_3(kit: Kit) -> None:
    """Sumsub's XKX becomes XK on import; Dakota's own validation must accept the same code back."""
    ob = manual(kit)
    resp = ob.put_details(ob.details(nationalities=["XK"]))
    assert resp.status_code == 200, resp.text
    assert resp.json()["individual"]["nationalities"] == ["XK"]
    assert ob.put_details(ob.details(nationalities=["ZZ"])).status_code == 400
