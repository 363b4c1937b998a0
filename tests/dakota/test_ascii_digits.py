"""ASCII digits only wherever the sandbox reads a number or a digit pattern out of a string.

Python's `\\d`, `str.isdigit()`, `int()` and `float()` also accept other scripts' digits ("١٢٣" is 123 to `int`);
Dakota's patterns are ECMA-262 regexes, where `\\d` is [0-9]. The audit found an SSN in Arabic-Indic digits
answered 200 by `PUT individual-details`.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.apispec.validation import ecma_regex
from tests.support import ADMIN_KEY, Kit

ARABIC_INDIC_SSN = "\u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669"
FULLWIDTH_SSN = "\uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19"


def _imported(kit: Kit) -> tuple[str, str]:
    row = kit.bulk([kit.token("us-ssn")])["results"][0]
    assert row["success"], row
    return row["application_id"], kit.admin.application_token(row["customer_id"])


def _details(ssn: str) -> dict[str, Any]:
    return {
        "roles": ["individual"],
        "name": {"first": "Ada", "last": "Lovelace"},
        "date_of_birth": "1990-01-01",
        "nationalities": ["US"],
        "address": {"street1": "1 Main Street", "city": "Austin", "country": "US"},
        "email_address": "ada@mailbox.co.uk",
        "employment_status": "employed",
        "purpose_of_account": ["investing"],
        "source_of_wealth": ["employment"],
        "ssn": ssn,
    }


@pytest.mark.parametrize("ssn", [ARABIC_INDIC_SSN, FULLWIDTH_SSN, "\u066123-45-6789"])
def test_an_ssn_in_other_scripts_digits_is_refused_and_changes_nothing(kit: Kit, ssn: str) -> None:
    app_id, token = _imported(kit)
    url = f"{kit.base_url}/applications/{app_id}/individual-details"
    before = kit.admin.get_application(app_id, token, include="entities").json()
    resp = kit.http.put(url, json=_details(ssn), headers={"X-Application-Token": token})
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["ssn"]
    assert kit.admin.get_application(app_id, token, include="entities").json() == before


def test_an_ssn_in_ascii_digits_is_accepted(kit: Kit) -> None:
    app_id, token = _imported(kit)
    url = f"{kit.base_url}/applications/{app_id}/individual-details"
    resp = kit.http.put(url, json=_details("123-45-6789"), headers={"X-Application-Token": token})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("limit", ["\u0661\u0660", "\uff11\uff10", "\u00b2"])
def test_an_integer_query_parameter_in_other_scripts_digits_is_refused(kit: Kit, limit: str) -> None:
    resp = kit.http.get(f"{kit.base_url}/customers", params={"limit": limit}, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"^\d{3}$", "123", True),
        (r"^\d{3}$", "\u0661\u0662\u0663", False),
        (r"^[\d-]+$", "1-2", True),
        (r"^[\d-]+$", "\u0661", False),
        (r"^\w+$", "abc_1", True),
        (r"^\w+$", "\u00e9", False),
        (r"^\D$", "x", True),
        (r"^\\d$", "\\d", True),  # an escaped backslash is not a class
    ],
)
def test_contract_patterns_have_ecma_262_ascii_classes(pattern: str, text: str, matches: bool) -> None:
    assert bool(ecma_regex(pattern).search(text)) is matches


def test_the_ssn_format_is_refused_with_the_contracts_own_words(kit: Kit) -> None:
    app_id, token = _imported(kit)
    url = f"{kit.base_url}/applications/{app_id}/individual-details"
    resp = kit.http.put(url, json=_details("123456789"), headers={"X-Application-Token": token})
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"field": "ssn", "message": "ssn must have the format XXX-XX-XXXX", "code": "invalid"}
    ]
