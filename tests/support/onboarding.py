"""Step 3 and after: one individual application driven through its X-Application-Token like the customer's browser."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests

from simulator.sumsub.profiles import fake_image
from tests.support.dakota import create_customer, mint_and_import
from tests.support.kit import Kit

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
    # A manual application has no individual on file yet: its entity is not read (test_manual_customers.py).
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
    """The application of a donor of `profile` imported at Dakota (`mint_and_import`)."""
    row = mint_and_import(kit, profile)
    return Onboarding(kit, row["customer_id"], row["application_id"], kit.admin.application_token(row["customer_id"]))


def manual(kit: Kit, name: str = "Ada Lovelace") -> Onboarding:
    """The empty application of a customer created with `POST /customers`."""
    resp = create_customer(kit, {"name": name, "customer_type": "individual"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token = body["application_url"].split("token=", 1)[1]
    return Onboarding(kit, body["id"], body["application_id"], token, manual=True)


def complete_and_submit(kit: Kit, customer_id: str, application_id: str) -> None:
    """Step 3 for an imported application (details, a source-of-wealth document, the attestations), then submit."""
    Onboarding(kit, customer_id, application_id, kit.admin.application_token(customer_id)).submitted()


def sim_today(kit: Kit) -> date:
    return datetime.fromtimestamp(kit.control.clock()["epoch"], tz=UTC).date()
