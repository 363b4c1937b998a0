"""A deliberately broken serializer must be caught: by the response validation of the kit and by the property run."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from schemathesis.core.failures import FailureGroup

from simulator.dakota.applications import Applications
from simulator.harness.openapi import OpenApiContract
from simulator.sumsub.applicants import Applicants
from tests.support import ADMIN_KEY, ROOT, Kit, mint_and_import
from tests.support.property import DakotaAuth, contract_schema
from tests.support.sumsub import SumsubSigner


@pytest.fixture
def dakota_contract() -> OpenApiContract:
    return OpenApiContract.load(ROOT / "contracts" / "openapi" / "dakota.yaml")


def broken_customer_shape(original: Any) -> Any:
    """Dakota's Customer object without its required `name` (every customer read builds it through this)."""

    def serialize(self: Applications, customer: Any, application: Any) -> dict[str, Any]:
        out: dict[str, Any] = original(self, customer, application)
        out.pop("name")
        return out

    return serialize


def test_response_validation_reports_a_serializer_that_drops_a_required_field(
    kit: Kit, dakota_contract: OpenApiContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = mint_and_import(kit)
    monkeypatch.setattr(Applications, "customer_shape", broken_customer_shape(Applications.customer_shape))
    resp = kit.admin.get_customer(row["customer_id"])
    assert resp.status_code == 200 and "name" not in resp.json()
    problems = dakota_contract.validate_response(
        "GET", f"/customers/{row['customer_id']}", 200, resp.headers["Content-Type"], resp.json()
    )
    assert [p.message for p in problems] == ["'name' is a required property"]
    # The kit saw it too (against both contracts); empty the list so the fixture's own assertion does not fire.
    own = [p for p in kit.contract_problems if p.operation.startswith("[contracts/openapi]")]
    assert own and all(p.message == "'name' is a required property" for p in own)
    kit.contract_problems.clear()


def test_property_run_reports_a_serializer_that_drops_a_required_field(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = mint_and_import(kit)
    monkeypatch.setattr(Applications, "customer_shape", broken_customer_shape(Applications.customer_shape))
    session = requests.Session()
    session.adapters = kit.http.adapters
    session.auth = DakotaAuth(ADMIN_KEY, "unused")
    case = contract_schema("dakota")["/customers/{customer_id}"]["GET"].Case(
        path_parameters={"customer_id": row["customer_id"]}
    )
    response = case.call(session=session, base_url=kit.base_url)
    assert response.status_code == 200 and "name" not in response.json()
    # The schema violation itself, not just any failure mentioning "name" (the body has a "name" key elsewhere).
    with pytest.raises(FailureGroup, match=r'Response violates schema\s+"name" is a required property'):
        case.validate_response(response)
    kit.contract_problems.clear()


def test_property_run_reports_a_sumsub_field_of_the_wrong_type(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    donor = kit.control.create_donor("gb-passport").json()
    original = Applicants.to_dict

    def broken(self: Applicants, tx: Any, applicant: Any, **kw: Any) -> dict[str, Any]:
        out: dict[str, Any] = original(self, tx, applicant, **kw)
        out["createdAt"] = 1_700_000_000  # a number where Sumsub sends 'YYYY-MM-DD HH:MM:SS'
        return out

    monkeypatch.setattr(Applicants, "to_dict", broken)
    session = requests.Session()
    session.adapters = kit.http.adapters
    client = kit.donor
    session.auth = SumsubSigner(client.app_token, client.secret_key)
    case = contract_schema("sumsub")["/resources/applicants/{applicantId}/one"]["GET"].Case(
        path_parameters={"applicantId": donor["applicant_id"]}
    )
    response = case.call(session=session, base_url=kit.base_url)
    assert response.status_code == 200
    # The schema violation itself: the body always has a createdAt key, so any failure would mention it.
    with pytest.raises(FailureGroup, match=r'Response violates schema\s+1700000000 is not of type "string"'):
        case.validate_response(response)
