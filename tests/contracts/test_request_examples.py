"""Every request example in the contracts is a request the sandbox accepts: valid against its own operation, and,
for the control plane and Step 3's individual details, accepted by the service that owns the rest of the rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from simulator.apispec.loader import APIS, load_contract
from simulator.apispec.validation import Contract
from simulator.dakota.individuals import validate_individual
from tests.support import Kit


def _examples() -> list[tuple[str, str, str, Any]]:
    found = []
    for api in APIS:
        doc = load_contract(api)
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict):
                    continue
                media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                if "example" in media:
                    found.append((api, method.upper(), path, media["example"]))
    return found


EXAMPLES = _examples()


def test_the_contracts_have_request_examples() -> None:
    assert {api for api, *_ in EXAMPLES} == set(APIS)


@pytest.mark.parametrize(("api", "method", "path", "example"), EXAMPLES, ids=[f"{m} {p}" for _a, m, p, _e in EXAMPLES])
def test_each_example_is_valid_against_its_operation(api: str, method: str, path: str, example: Any) -> None:
    contract = Contract(api, load_contract(api))
    op = next(o for o in contract.operations() if o.method == method and o.template == path)
    assert op.body is not None
    errors = [e.message for e in op.body.iter_errors(example)]
    assert errors == [], f"{method} {path}: its own example breaks its schema: {errors}"


CONTROL = [(m, p, e) for a, m, p, e in EXAMPLES if a == "control"]


@pytest.mark.parametrize(("method", "path", "example"), CONTROL, ids=[f"{m} {p}" for m, p, _e in CONTROL])
def test_each_control_example_is_accepted_by_the_sandbox(kit: Kit, method: str, path: str, example: Any) -> None:
    """Accepted: not refused as a bad request. Examples naming an applicant the fresh sandbox does not hold may be
    404 (the id is the caller's to fill in); every other one succeeds."""
    resp = kit.http.request(method, kit.base_url + path, json=example)
    refused = f"{method} {path} refused its own example: {resp.status_code} {resp.text}"
    if resp.status_code == 404:
        assert "applicant" in resp.text.lower(), refused
    else:
        assert 200 <= resp.status_code < 300, refused


def test_the_fault_example_injects_what_it_says(kit: Kit) -> None:
    """The drift the audit found: `latency_ms: 250` was answered "a rule needs latency, status or reset"."""
    example = next(e for a, m, p, e in EXAMPLES if p == "/_sandbox/faults")
    resp = kit.http.post(kit.base_url + "/_sandbox/faults", json=example)
    assert resp.status_code == 200, resp.text
    assert resp.json()["rules"][0]["latency"] == {"ms": 250, "distribution": "fixed"}


def test_a_fault_rule_with_an_unknown_field_is_refused_by_name(kit: Kit) -> None:
    rule = {"id": "slow", "api": "dakota", "latency_ms": 250}
    resp = kit.http.post(kit.base_url + "/_sandbox/faults", json={"rules": [rule]})
    assert resp.status_code == 400
    assert resp.json()["error"]["field"] == "rules[0]"
    assert "latency_ms" in resp.json()["error"]["message"]
    assert kit.http.get(kit.base_url + "/_sandbox/faults").json()["rules"] == []


def test_the_individual_details_example_passes_the_domain_rules() -> None:
    example = next(e for a, m, p, e in EXAMPLES if p.endswith("/individual-details"))
    _clean, errors = validate_individual(example, date(2026, 12, 4), None)
    assert errors == []


def test_the_individual_enums_are_the_contracts() -> None:
    """The service names these lists in its messages; the contract enforces them. They must be the same lists."""
    from simulator.dakota import individuals

    schema = load_contract("dakota")["components"]["schemas"]["IndividualRequest"]
    props = schema["properties"]
    assert "individual" in props["roles"]["items"]["enum"]  # the one role an individual application takes
    assert tuple(props["employment_status"]["enum"]) == individuals.EMPLOYMENT
    assert tuple(props["purpose_of_account"]["items"]["enum"]) == individuals.PURPOSES
    assert tuple(props["source_of_wealth"]["items"]["enum"]) == individuals.WEALTH
