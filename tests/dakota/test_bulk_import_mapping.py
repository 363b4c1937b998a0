"""What an imported customer looks like: the Sumsub applicant mapped onto Dakota's customer and individual
application, per fixture profile, and the applicant copied into Dakota's Sumsub workspace.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

import re
import uuid

from tests.support import DAKOTA_CLIENT_ID, Kit, fixture_donor, mint_and_import, only_row
from tests.support.bulk import imported_application, individual, missing_fields, uploaded_types

HEX24 = re.compile(r"^[0-9a-f]{24}$")


def test_imported_customer_is_named_from_sumsub_with_pending_kyc_and_application(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    resp = kit.admin.get_customer(row["customer_id"])
    assert resp.status_code == 200
    customer = resp.json()
    assert customer["id"] == row["customer_id"]
    assert customer["name"] == row["name"] == "Olivia Bennett (from Sumsub)"
    assert customer["customer_type"] == "individual"
    assert customer["kyc_status"] == "pending"
    assert customer["application_status"] == "pending"
    assert customer["application_id"] == row["application_id"]
    assert customer["email"] == "olivia.bennett@mailbox.co.uk"
    assert f"/applications/{row['application_id']}?token=" in customer["application_url"]


def test_gb_passport_import_maps_identity_address_contact_and_passport(kit: Kit) -> None:
    _, app = imported_application(kit, "gb-passport")
    assert app["application_status"] == "pending"
    assert app["application_type"] == "individual"
    ind = individual(app)
    assert (ind["first_name"], ind["last_name"]) == ("Olivia", "Bennett")
    assert ind["date_of_birth"] == "1990-04-12"
    assert ind["nationalities"] == ["GB"]
    assert ind["address"] == {
        "street1": "Baker Street 221B",
        "city": "London",
        "postal_code": "NW1 6XE",
        "country": "GB",
    }
    assert ind["email_address"] == "olivia.bennett@mailbox.co.uk"
    assert ind["phone_number"] == "+447700900123"
    assert "ssn" not in ind
    assert uploaded_types(app) == ["passport"]
    assert ind["sumsub_verification"]["sumsub_review_status"] == "approved"
    # Dakota-specific step-3 fields are still to do; identity data is not.
    assert missing_fields(app) == ["employment_status", "purpose_of_account", "source_of_wealth"]


def test_us_ssn_import_carries_ssn_california_and_drivers_license_sides(kit: Kit) -> None:
    _, app = imported_application(kit, "us-ssn")
    ind = individual(app)
    assert ind["ssn"] == "123-45-6789"
    assert ind["nationalities"] == ["US"]
    assert ind["address"]["region"] == "California"
    assert ind["address"]["street1"] == "Market Street 1455"
    assert ind["address"]["street2"] == "Suite 600"
    assert ind["address"]["country"] == "US"
    assert uploaded_types(app) == ["drivers_license_back", "drivers_license_front"]
    assert "ssn" not in missing_fields(app)


def test_us_person_without_a_nine_digit_tin_has_no_ssn_and_validation_asks_for_it(kit: Kit) -> None:
    _, app = imported_application(kit, "us-no-ssn")
    ind = individual(app)
    assert "ssn" not in ind
    assert ind["address"]["region"] == "Texas"
    assert "ssn" in missing_fields(app)
    assert app["validation"]["ready"] is False


def test_donor_without_address_gets_placeholder_country_and_address_is_missing(kit: Kit) -> None:
    _, app = imported_application(kit, "no-address")
    ind = individual(app)
    assert ind["address"]["country"] == "ZZ"
    assert ind["nationalities"] == ["DE"]
    assert "address" in missing_fields(app)


def test_stricter_edd_donor_imports_only_the_identity_document(kit: Kit) -> None:
    _, app = imported_application(kit, "stricter-edd")
    assert uploaded_types(app) == ["passport"]  # no selfie, no utility bill, no questionnaire data
    ind = individual(app)
    assert ind["sumsub_verification"]["sumsub_review_status"] == "approved"
    assert ind["address"]["city"] == "Copenhagen"
    assert ind["address"]["street2"] == "2. tv"
    assert "source_of_wealth" not in ind
    assert "poa_status" in app and app["poa_status"] == "missing"


def test_weaker_level_donor_is_still_imported_with_documents_requested(kit: Kit) -> None:
    row, app = imported_application(kit, "weaker-level")
    assert row["name"] == "Sofia Rossi (from Sumsub)"
    ind = individual(app)
    verification = ind["sumsub_verification"]
    assert verification["sumsub_review_status"] == "documents_requested"
    assert verification["review"]["review_status"] == "init"
    assert uploaded_types(app) == []
    purposes = [d["purpose"] for d in app["validation"]["primary_individual"]["documents"]["missing_documents"]]
    assert "individual_identity" in purposes


def test_non_ascii_document_names_are_title_cased_from_transliteration(kit: Kit) -> None:
    row, app = imported_application(kit, "non-ascii")
    ind = individual(app)
    assert (ind["first_name"], ind["last_name"]) == ("Zoe", "Mueller-Luedenscheidt")
    assert row["name"] == "Zoe Mueller-Luedenscheidt (from Sumsub)"
    assert ind["address"]["city"] == "Zurich"
    assert ind["nationalities"] == ["CH"]


def test_residence_permit_import_maps_front_and_back(kit: Kit) -> None:
    row, app = imported_application(kit, "residence-permit")
    assert uploaded_types(app) == ["residence_permit_back", "residence_permit_front"]
    ind = individual(app)
    assert row["name"] == "Ana García (from Sumsub)"
    assert ind["nationalities"] == ["AR"]
    assert ind["address"]["country"] == "ES"
    assert ind["address"]["region"] == "Madrid"


def test_provider_applicant_id_is_a_new_sumsub_applicant_readable_by_dakota_only(kit: Kit) -> None:
    made = fixture_donor(kit, "gb-passport")
    row = only_row(kit.bulk([made["share_token"]["token"]]))
    app = kit.application(row["customer_id"], row["application_id"])
    provider_id = individual(app)["sumsub_verification"]["provider_applicant_id"]
    assert HEX24.match(provider_id)
    assert provider_id != made["applicant_id"]
    status = kit.control.token_status(made["share_token"]["token"]).json()
    assert status["redeemed_applicant_id"] == provider_id
    on_dakota = kit.dakota_sumsub.get_applicant(provider_id)
    assert on_dakota.status_code == 200, on_dakota.text
    assert on_dakota.json()["id"] == provider_id
    assert on_dakota.json()["clientId"] == DAKOTA_CLIENT_ID
    assert on_dakota.json()["review"]["levelName"] == "id-only"
    assert kit.donor.get_applicant(provider_id).status_code == 404


def test_invalid_calendar_dob_from_sumsub_is_not_carried_into_dakota(kit: Kit) -> None:
    """Sumsub stores `dob` as given; Dakota's `date_of_birth` is `format: date`, so 1990-02-30 must be dropped."""
    created = kit.donor.create_applicant(
        "basic-kyc-level",
        {
            "externalUserId": f"bad-dob-{uuid.uuid4()}",
            "email": "eve@mailbox.co.uk",
            "fixedInfo": {"firstName": "Eve", "lastName": "Stone", "dob": "1990-02-30", "nationality": "GBR"},
        },
    )
    assert created.status_code == 200, created.text
    applicant_id = created.json()["id"]
    upload = kit.donor.add_id_doc(applicant_id, {"idDocType": "PASSPORT", "country": "GBR"}, b"\x89PNG eve")
    assert upload.status_code == 200, upload.text
    assert kit.donor.test_completed(applicant_id, "GREEN").status_code == 200
    minted = kit.control.mint(applicant_id, share_with=DAKOTA_CLIENT_ID)
    row = only_row(kit.bulk([minted.json()["token"]]))
    assert row["success"] is True, row
    # Read validation only: the spec's IndividualEntity *requires* date_of_birth, which this applicant lacks
    # (a known spec/design conflict reported separately), so include=entities would break the contract check.
    app = kit.application(row["customer_id"], row["application_id"], include="validation")
    assert "date_of_birth" in missing_fields(app)
    assert app["validation"]["primary_individual"]["individual_name"] == "Eve Stone"
