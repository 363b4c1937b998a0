"""Step 3 and after: completing, submitting and reviewing imported (and manual) individual applications.

Everything runs in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask

from simulator.harness.openapi import OpenApiContract
from simulator.sumsub.profiles import fake_image
from tests.support import ADMIN_KEY, OTHER_ORG_KEY, VIEWER_KEY, Kit

ATTESTATIONS = ["e_sign", "terms_of_service", "privacy_policy", "information_accuracy"]
DAKOTA_FIELDS = ["employment_status", "purpose_of_account", "source_of_wealth"]
PDF = b"%PDF-1.7\n% a tiny pdf\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Onboarding:
    """One individual application, driven through its X-Application-Token like the customer's browser does."""

    kit: Kit
    customer_id: str
    application_id: str
    token: str
    # A manual application has no individual on file yet: its entity is not read (see the spec test below).
    manual: bool = False
    _individual_id: str = ""

    @property
    def url(self) -> str:
        return f"{self.kit.base_url}/applications/{self.application_id}"

    def get(self, include: str = "all") -> dict[str, Any]:
        resp = self.kit.admin.get_application(self.application_id, self.token, include=include)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    @property
    def individual(self) -> dict[str, Any]:
        ind: dict[str, Any] = self.get("entities")["entities"]["primary_individual"]
        return ind

    @property
    def individual_id(self) -> str:
        if not self._individual_id:
            self._individual_id = str(self.validation()["primary_individual"]["id"])
        return self._individual_id

    def validation(self) -> dict[str, Any]:
        v: dict[str, Any] = self.get("validation")["validation"]
        return v

    def post(self, path: str, body: Any, idempotency_key: str | None = None) -> requests.Response:
        headers = {"X-Application-Token": self.token, "x-idempotency-key": idempotency_key or str(uuid.uuid4())}
        return self.kit.http.post(self.url + path, json=body, headers=headers)

    def put_details(self, body: Any) -> requests.Response:
        return self.kit.http.put(
            self.url + "/individual-details", json=body, headers={"X-Application-Token": self.token}
        )

    def upload(self, individual_id: str | None = None, **fields: Any) -> requests.Response:
        body = {
            "type": "source_of_wealth",
            "file_type": "png",
            "file_content": b64(fake_image("sow")),
            "country": "GB",
            **fields,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return self.post(f"/associated-individuals/{individual_id or self.individual_id}/documents", body)

    def attest(self, kind: str, timestamp: int, applicant_id: str | None = None) -> requests.Response:
        body = {"attestation_type": kind, "timestamp": timestamp, "applicant_id": applicant_id or self.individual_id}
        return self.post("/attestations", body)

    def submit(self, idempotency_key: str | None = None) -> requests.Response:
        return self.post("/submissions", {}, idempotency_key)

    # ---------------------------------------------------------------- the whole of Step 3
    def details(self, **overrides: Any) -> dict[str, Any]:
        """A valid IndividualRequest from what is on file plus Dakota's own fields; `None` drops a key."""
        ind = {} if self.manual else self.individual
        body: dict[str, Any] = {
            "roles": ["individual"],
            "name": {"first": ind.get("first_name") or "Ada", "last": ind.get("last_name") or "Lovelace"},
            "date_of_birth": ind.get("date_of_birth") or "1990-01-01",
            "nationalities": ind.get("nationalities") or ["GB"],
            "address": ind.get("address")
            if (ind.get("address") or {}).get("country") not in (None, "", "ZZ")
            else {"street1": "1 Main Street", "city": "Berlin", "country": "DE"},
            "email_address": ind.get("email_address") or "ada@mailbox.co.uk",
            "employment_status": "employed",
            "purpose_of_account": ["investing"],
            "source_of_wealth": ["employment"],
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    def attest_all(self) -> None:
        now = int(self.kit.control.clock()["epoch"])
        for i, kind in enumerate(ATTESTATIONS):
            resp = self.attest(kind, now - 100 + i)
            assert resp.status_code == 204, resp.text

    def complete(self, **overrides: Any) -> None:
        """Fill in everything submit needs: details, a source-of-wealth document, the attestations."""
        resp = self.put_details(self.details(**overrides))
        assert resp.status_code == 200, resp.text
        resp = self.upload()
        assert resp.status_code == 201, resp.text
        self.attest_all()

    def submitted(self) -> dict[str, Any]:
        self.complete()
        resp = self.submit()
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def imported(kit: Kit, profile: str = "gb-passport") -> Onboarding:
    row = kit.bulk([kit.token(profile)])["results"][0]
    assert row["success"], row
    return Onboarding(kit, row["customer_id"], row["application_id"], kit.admin.application_token(row["customer_id"]))


def manual(kit: Kit, name: str = "Ada Lovelace") -> Onboarding:
    resp = create_customer(kit, {"name": name, "customer_type": "individual"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token = body["application_url"].split("token=", 1)[1]
    return Onboarding(kit, body["id"], body["application_id"], token, manual=True)


def create_customer(kit: Kit, body: Any, key: str = ADMIN_KEY, idempotency_key: str | None = None) -> requests.Response:
    headers = {"x-api-key": key, "x-idempotency-key": idempotency_key or str(uuid.uuid4())}
    return kit.http.post(f"{kit.base_url}/customers", json=body, headers=headers)


def simulate(
    kit: Kit, application_id: str, kind: str, key: str = ADMIN_KEY, idempotency_key: str | None = None, **extra: Any
) -> requests.Response:
    body = {"type": kind, "applicant_id": application_id, "simulation_id": f"sim-{uuid.uuid4().hex[:8]}", **extra}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"x-api-key": key, "x-idempotency-key": idempotency_key or str(uuid.uuid4())}
    return kit.http.post(f"{kit.base_url}/sandbox/simulate/onboarding", json=body, headers=headers)


def customer(kit: Kit, customer_id: str) -> dict[str, Any]:
    resp = kit.admin.get_customer(customer_id)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def field_errors(resp: requests.Response) -> list[str]:
    """The fields a problem names, without item indexes (`event_types[0]` names `event_types`)."""
    return [re.sub(r"\[\d+\]", "", e["field"]) for e in resp.json().get("errors", [])]


def events_of(kit: Kit) -> list[dict[str, Any]]:
    resp = kit.http.get(f"{kit.base_url}/events", headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


def sim_today(kit: Kit) -> date:
    return datetime.fromtimestamp(kit.control.clock()["epoch"], tz=UTC).date()


# ====================================================================== submit of a fresh import: not ready
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


# ====================================================================== PUT individual-details
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


# ====================================================================== document upload
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


# ====================================================================== attestations
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


# ====================================================================== submit and review
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
        headers = {"x-api-key": ADMIN_KEY, "x-idempotency-key": str(uuid.uuid4())}
        resp = kit.http.post(f"{kit.base_url}/sandbox/simulate/onboarding", json=body, headers=headers)
        assert resp.status_code == 400, change
        assert field_errors(resp) == [field], change
    assert ob.get()["application_status"] == "submitted"


# ====================================================================== auto approval
def test_auto_approval_fires_after_the_configured_delay_on_the_simulated_clock(kit: Kit) -> None:
    settings = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 300})
    assert settings.status_code == 200, settings.text
    assert settings.json() == {"auto_approve_after_seconds": 300}
    ob = imported(kit)
    ob.submitted()

    early = kit.control.advance(299).json()
    assert [f for f in early["fired"] if f.get("kind") == "auto_approval"] == []
    assert ob.get()["application_status"] == "submitted"

    late = kit.control.advance(2).json()
    assert {"kind": "auto_approval", "application_id": ob.application_id, "outcome": "approved"} in late["fired"]
    app = ob.get()
    assert app["application_status"] == "approved"
    assert app["application_decision"] == "approved"
    assert app["decision_method"] == "auto"
    assert customer(kit, ob.customer_id)["kyc_status"] == "approved"
    # Fired once: it is no longer due.
    assert [f for f in kit.control.advance(600).json()["fired"] if f.get("kind") == "auto_approval"] == []


def test_without_auto_approval_a_submitted_application_waits_for_a_decision(kit: Kit) -> None:
    assert kit.http.get(f"{kit.base_url}/_sandbox/settings").json() == {"auto_approve_after_seconds": None}
    ob = imported(kit)
    ob.submitted()
    kit.control.advance(7 * 24 * 3600)
    assert ob.get()["application_status"] == "submitted"


def test_a_manual_decision_before_the_delay_cancels_auto_approval(kit: Kit) -> None:
    kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 60})
    ob = imported(kit)
    ob.submitted()
    assert simulate(kit, ob.application_id, "kyc_reject").ok
    fired = kit.control.advance(120).json()["fired"]
    assert [f for f in fired if f.get("kind") == "auto_approval"] == []
    assert ob.get()["application_status"] == "declined"


def test_auto_approval_setting_is_validated(kit: Kit) -> None:
    for bad in (-1, "300", True, {"s": 1}):
        resp = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": bad})
        assert resp.status_code == 400, bad
        assert resp.json()["error"]["field"] == "auto_approve_after_seconds", bad
    unknown = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_reject": True})
    assert unknown.status_code == 400
    assert kit.http.get(f"{kit.base_url}/_sandbox/settings").json() == {"auto_approve_after_seconds": None}


# ====================================================================== idempotency on the Step 3 POSTs
def test_submit_twice_with_one_idempotency_key_replays_the_first_response(kit: Kit) -> None:
    ob = imported(kit)
    ob.complete()
    key = str(uuid.uuid4())

    first = ob.submit(idempotency_key=key)
    kit.control.advance(5)
    second = ob.submit(idempotency_key=key)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    # A fresh key is a new submission attempt: already submitted.
    assert ob.submit().status_code == 400


def test_a_not_ready_submit_is_not_remembered_under_its_idempotency_key(kit: Kit) -> None:
    ob = imported(kit)
    key = str(uuid.uuid4())
    assert ob.submit(idempotency_key=key).status_code == 400
    ob.complete()
    retried = ob.submit(idempotency_key=key)
    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers


def test_an_upload_replayed_with_its_key_stores_one_document(kit: Kit) -> None:
    ob = imported(kit)
    body = {"type": "source_of_wealth", "file_type": "png", "file_content": b64(fake_image("x")), "country": "GB"}
    key = str(uuid.uuid4())
    path = f"/associated-individuals/{ob.individual_id}/documents"
    first = ob.post(path, body, key)
    second = ob.post(path, body, key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    uploaded = ob.validation()["primary_individual"]["documents"]["uploaded_documents"]
    assert [d["document_type"] for d in uploaded].count("source_of_wealth") == 1
    # The same key with another body is refused.
    other = ob.post(path, {**body, "country": "FR"}, key)
    assert other.status_code == 422
    assert field_errors(other) == ["x-idempotency-key"]


def test_an_attestation_replayed_with_its_key_answers_204_again(kit: Kit) -> None:
    ob = imported(kit)
    key = str(uuid.uuid4())
    now = int(kit.control.clock()["epoch"])
    body = {"attestation_type": "e_sign", "timestamp": now, "applicant_id": ob.individual_id}
    first = ob.post("/attestations", body, key)
    second = ob.post("/attestations", body, key)
    assert first.status_code == second.status_code == 204
    assert second.content == b""
    assert second.headers.get("Idempotent-Replayed") == "true"


def test_a_simulation_replayed_with_its_key_is_not_applied_twice(kit: Kit) -> None:
    ob = imported(kit)
    ob.submitted()
    key = str(uuid.uuid4())
    body = {"type": "kyb_approve", "applicant_id": ob.application_id, "simulation_id": "sim-once"}
    headers = {"x-api-key": ADMIN_KEY, "x-idempotency-key": key}
    url = f"{kit.base_url}/sandbox/simulate/onboarding"
    first = kit.http.post(url, json=body, headers=headers)
    second = kit.http.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["previous_state"] == "pending"
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert sum(1 for e in events_of(kit) if e["type"] == "recipient.created") == 1


def test_step3_posts_need_a_uuid_idempotency_key(kit: Kit) -> None:
    # (On /submissions the spec declares only ApplicationNotReadyError for 400, so the check is shown here.)
    ob = imported(kit)
    now = int(kit.control.clock()["epoch"])
    body = {"attestation_type": "e_sign", "timestamp": now, "applicant_id": ob.individual_id}
    for key in (None, "", "not-a-uuid"):
        headers = {"X-Application-Token": ob.token}
        if key is not None:
            headers["x-idempotency-key"] = key
        resp = kit.http.post(ob.url + "/attestations", json=body, headers=headers)
        assert resp.status_code == 400, key
        assert field_errors(resp) == ["x-idempotency-key"], key
    assert ob.get("attestations")["attestations"] == {}


# ====================================================================== POST /customers (manual)
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
    assert events_of(kit) == []


def test_create_customer_accepts_names_of_3_to_100_characters(kit: Kit) -> None:
    for name in ("Ada", "x" * 100, "  Ada  "):
        resp = create_customer(kit, {"name": name, "customer_type": "individual"})
        assert resp.status_code == 201, name
        assert customer(kit, resp.json()["id"])["name"] == name.strip()
    assert [e["type"] for e in events_of(kit)] == ["customer.created"] * 3


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


# ====================================================================== found while writing these tests
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


def test_several_due_applications_are_auto_approved_in_one_advance(kit: Kit) -> None:
    kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 30})
    apps = [imported(kit, profile) for profile in ("gb-passport", "us-ssn", "no-address")]
    for ob in apps:
        ob.submitted()
    fired = kit.control.advance(31).json()["fired"]
    assert sorted(f["application_id"] for f in fired if f.get("kind") == "auto_approval") == sorted(
        ob.application_id for ob in apps
    )
    assert all(ob.get("")["application_status"] == "approved" for ob in apps)


def test_a_kosovar_imported_as_xk_can_complete_step_3(kit: Kit) -> None:
    """Sumsub's XKX becomes XK on import; Dakota's own validation must accept the same code back."""
    ob = manual(kit)
    resp = ob.put_details(ob.details(nationalities=["XK"]))
    assert resp.status_code == 200, resp.text
    assert resp.json()["individual"]["nationalities"] == ["XK"]
    assert ob.put_details(ob.details(nationalities=["ZZ"])).status_code == 400


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
