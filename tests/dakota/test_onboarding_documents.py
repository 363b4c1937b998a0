"""Step 3, documents: uploads are validated, stored once, and counted under their own purpose.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from simulator.harness.openapi import OpenApiContract
from tests.support import Kit, field_errors
from tests.support.onboarding import JPEG, PDF, b64, imported, sim_today

BAD_UPLOADS: list[tuple[dict[str, Any], str, str]] = [
    ({"file_content": "not base64 at all!"}, "file_content", "invalid"),
    ({"file_content": ""}, "file_content", "required"),
    ({"file_content": "===="}, "file_content", "invalid"),
    ({"file_type": "pdf"}, "file_content", "type_mismatch"),  # a PNG declared as a PDF
    ({"file_type": "png", "file_content": b64(PDF)}, "file_content", "type_mismatch"),
    ({"file_type": "gif"}, "file_type", "invalid"),
    ({"type": "selfie"}, "type", "invalid"),
    ({"type": "passport", "country": "GB"}, "id_number", "required"),
    ({"type": "passport", "id_number": "533401372", "country": "GBR"}, "country", "invalid"),
    ({"type": "passport", "id_number": "533401372", "country": "ZZ"}, "country", "invalid"),
    ({"type": "passport", "id_number": "533401372", "country": None}, "country", "required"),
    ({"valid_until": "2001-01-01"}, "valid_until", "expired"),
    ({"valid_until": "soon"}, "valid_until", "invalid"),
]


def test_document_upload_with_a_bad_field_is_refused_and_stores_nothing(kit: Kit) -> None:
    ob = imported(kit)
    before = ob.validation()["primary_individual"]["documents"]

    for fields, field, code in BAD_UPLOADS:
        case = f"{field}/{code}: {str(fields)[:80]}"
        resp = ob.upload(**{"country": "GB", **fields})

        assert resp.status_code == 400, case
        errors = resp.json()["errors"]
        assert field_errors(resp) == [field], case
        assert errors[0]["code"] == code, case
        assert ob.validation()["primary_individual"]["documents"] == before, case


def test_a_document_valid_until_yesterday_on_the_simulated_clock_is_expired(kit: Kit) -> None:
    ob = imported(kit)
    yesterday = (sim_today(kit) - timedelta(days=1)).isoformat()
    today = sim_today(kit).isoformat()
    assert field_errors(ob.upload(country="GB", valid_until=yesterday)) == ["valid_until"]
    assert ob.upload(country="GB", valid_until=today).status_code == 201


def test_a_document_over_10_mb_is_refused_with_413(kit: Kit) -> None:
    ob = imported(kit)
    big = b"%PDF-1.7\n" + b"\x00" * (10 * 1024 * 1024)
    resp = ob.upload(file_type="pdf", file_content=b64(big), country="GB")
    assert resp.status_code == 413, resp.text[:300]
    assert resp.json()["status"] == 413
    assert ob.validation()["primary_individual"]["documents"]["uploaded_documents"][0]["document_type"] == "passport"
    assert len(ob.validation()["primary_individual"]["documents"]["uploaded_documents"]) == 1


def test_a_document_for_another_individual_id_is_404(kit: Kit) -> None:
    ob = imported(kit)
    other = imported(kit, "us-ssn")
    for wrong in (other.individual_id, ob.customer_id, "nope"):
        resp = ob.upload(individual_id=wrong, country="GB")
        assert resp.status_code == 404, wrong
    assert "individual_source_of_wealth" in [
        d["purpose"] for d in ob.validation()["primary_individual"]["documents"]["missing_documents"]
    ]


@pytest.mark.parametrize(
    ("fields", "expected_type"),
    [
        ({"type": "source_of_wealth", "file_type": "pdf", "file_content": b64(PDF)}, "source_of_wealth"),
        ({"type": "payslip", "file_type": "jpeg", "file_content": b64(JPEG)}, "source_of_wealth"),
        ({"type": "bank_statement", "file_type": "png"}, "bank_statement"),
        (
            {"type": "drivers_license_front", "id_number": "D1", "valid_until": "2099-01-01", "filename": "a/b/dl.png"},
            "drivers_license_front",
        ),
    ],
)
def test_document_upload_returns_201_with_its_id_and_lists_it(
    kit: Kit, fields: dict[str, Any], expected_type: str
) -> None:
    ob = imported(kit)
    resp = ob.upload(country="GB", **fields)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"document_id"}
    assert len(body["document_id"]) == 27
    uploaded = ob.validation()["primary_individual"]["documents"]["uploaded_documents"]
    mine = [d for d in uploaded if d["document_id"] == body["document_id"]]
    assert len(mine) == 1
    assert mine[0]["document_type"] == expected_type
    assert mine[0]["status"] == "uploaded"


def test_a_source_of_wealth_document_closes_that_gap_and_proof_of_address_changes_poa_status(kit: Kit) -> None:
    ob = imported(kit)
    assert ob.get()["poa_status"] == "missing"
    assert ob.upload(country="GB").status_code == 201
    assert ob.upload(type="utility_bill", country="GB").status_code == 201
    app = ob.get()
    docs = app["validation"]["primary_individual"]["documents"]
    assert docs["ready"] is True
    assert [d["purpose"] for d in docs["missing_documents"]] == []
    assert app["poa_status"] == "submitted_pending_review"


# Dakota's IndividualDocumentType enum by purpose (reference/dakota-api-notes.md, "Attestations and documents").
DOCUMENT_PURPOSES = {
    "individual_identity": [
        "passport",
        "drivers_license_front",
        "drivers_license_back",
        "residence_permit_front",
        "residence_permit_back",
    ],
    "individual_proof_of_address": ["proof_of_address", "bank_statement", "utility_bill"],
    "individual_source_of_wealth": [
        "source_of_wealth",
        "payslip",
        "employment_contract",
        "income_verification_letter",
        "savings_statement",
        "crypto_statement",
        "investment_statement",
    ],
}


PURPOSE_OF = {t: purpose for purpose, types in DOCUMENT_PURPOSES.items() for t in types}


def vendor_enum(vendor_contract: OpenApiContract, *path: str) -> list[str]:
    node: Any = vendor_contract.spec["components"]["schemas"]
    for key in path:
        node = node[key]
    return list(node["enum"])


def test_the_document_purposes_cover_every_individual_document_type_of_the_spec(
    vendor_contract: OpenApiContract,
) -> None:
    assert sorted(PURPOSE_OF) == sorted(vendor_enum(vendor_contract, "IndividualDocumentType"))


@pytest.mark.parametrize("doc_type", sorted(PURPOSE_OF))
def test_an_uploaded_document_is_listed_and_counted_under_its_own_purpose(
    kit: Kit, vendor_contract: OpenApiContract, doc_type: str
) -> None:
    ob = imported(kit)  # the imported passport covers identity; proof of address and source of wealth are missing
    identity = PURPOSE_OF[doc_type] == "individual_identity"
    extra = {"id_number": "X1234567", "valid_until": "2099-01-01"} if identity else {}
    resp = ob.upload(type=doc_type, country="GB", **extra)
    assert resp.status_code == 201, resp.text

    docs = ob.validation()["primary_individual"]["documents"]
    listed = next(d for d in docs["uploaded_documents"] if d["document_id"] == resp.json()["document_id"])
    # The spec's UploadedDocument enum lacks most address and wealth types: those are listed as the enum's type of
    # the same purpose, never as another purpose's.
    assert PURPOSE_OF[listed["document_type"]] == PURPOSE_OF[doc_type]
    if doc_type in vendor_enum(vendor_contract, "UploadedDocument", "properties", "document_type"):
        assert listed["document_type"] == doc_type
    missing = {d["purpose"] for d in docs["missing_documents"]}
    assert missing == {"individual_proof_of_address", "individual_source_of_wealth"} - {PURPOSE_OF[doc_type]}
    assert (ob.get("")["poa_status"] != "missing") is (PURPOSE_OF[doc_type] == "individual_proof_of_address")


def test_proof_of_address_is_never_listed_as_source_of_wealth(kit: Kit) -> None:
    ob = imported(kit)
    assert ob.upload(type="utility_bill", country="GB").status_code == 201
    docs = ob.validation()["primary_individual"]["documents"]
    assert [d["document_type"] for d in docs["uploaded_documents"] if d["document_type"] != "passport"] == [
        "bank_statement"
    ]
    assert [d["purpose"] for d in docs["missing_documents"]] == ["individual_source_of_wealth"]


def test_missing_documents_accept_every_type_of_their_purpose(kit: Kit) -> None:
    docs = imported(kit).validation()["primary_individual"]["documents"]["missing_documents"]
    accepted = {d["purpose"]: d["accepted_types"] for d in docs}
    assert accepted == {
        "individual_proof_of_address": DOCUMENT_PURPOSES["individual_proof_of_address"],
        "individual_source_of_wealth": DOCUMENT_PURPOSES["individual_source_of_wealth"],
    }
