"""`GET /customers` and `GET /customers/{id}` over imported customers: order, search, cursors, limits, isolation
per organisation, credentials. `three_customers`: tests/dakota/conftest.py.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Kit
from tests.support.bulk import assert_problem


def test_list_customers_returns_imported_customers_sorted_by_name(
    kit: Kit, three_customers: list[dict[str, Any]]
) -> None:
    resp = kit.admin.list_customers()
    assert resp.status_code == 200
    body = resp.json()
    assert [c["name"] for c in body["data"]] == [
        "Ana García (from Sumsub)",
        "James Carter (from Sumsub)",
        "Olivia Bennett (from Sumsub)",
    ]
    assert body["meta"] == {"total_count": 3, "has_more_after": False, "has_more_before": False}
    assert {c["id"] for c in body["data"]} == {r["customer_id"] for r in three_customers}


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("carter", ["James Carter (from Sumsub)"]),
        ("CARTER", ["James Carter (from Sumsub)"]),
        ("garcía", ["Ana García (from Sumsub)"]),
        ("from sumsub", ["Ana García (from Sumsub)", "James Carter (from Sumsub)", "Olivia Bennett (from Sumsub)"]),
        ("mailbox.co.uk", ["Olivia Bennett (from Sumsub)"]),
        ("nobody at all", []),
    ],
)
def test_list_customers_search_matches_name_or_email_case_insensitively(
    kit: Kit, three_customers: list[dict[str, Any]], search: str, names: list[str]
) -> None:
    body = kit.admin.list_customers(search=search).json()
    assert [c["name"] for c in body["data"]] == names
    assert body["meta"]["total_count"] == len(names)


def test_list_customers_paginates_with_cursors(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    ids = [c["id"] for c in kit.admin.list_customers().json()["data"]]
    page1 = kit.admin.list_customers(limit=2).json()
    assert [c["id"] for c in page1["data"]] == ids[:2]
    assert page1["meta"] == {"total_count": 3, "has_more_after": True, "has_more_before": False}
    page2 = kit.admin.list_customers(limit=2, starting_after=ids[1]).json()
    assert [c["id"] for c in page2["data"]] == ids[2:]
    assert page2["meta"] == {"total_count": 3, "has_more_after": False, "has_more_before": True}
    back = kit.admin.list_customers(limit=1, ending_before=ids[2]).json()
    assert [c["id"] for c in back["data"]] == [ids[1]]
    assert back["meta"] == {"total_count": 3, "has_more_after": True, "has_more_before": True}
    first = kit.admin.list_customers(limit=5, ending_before=ids[1]).json()
    assert [c["id"] for c in first["data"]] == [ids[0]]
    assert first["meta"]["has_more_before"] is False


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"limit": -1}])
def test_list_customers_limit_out_of_range_is_400(kit: Kit, params: dict[str, Any]) -> None:
    body = assert_problem(kit.admin.list_customers(**params), 400)
    assert [e["field"] for e in body["errors"]] == ["limit"]


def test_list_customers_limit_bounds_1_and_100_are_accepted(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    assert len(kit.admin.list_customers(limit=1).json()["data"]) == 1
    assert len(kit.admin.list_customers(limit=100).json()["data"]) == 3


def test_list_customers_unknown_cursor_or_both_cursors_is_400(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    cid = three_customers[0]["customer_id"]
    assert_problem(kit.admin.list_customers(starting_after="2hNoSuchCustomer00000000000"), 400)
    assert_problem(kit.admin.list_customers(starting_after=cid, ending_before=cid), 400)


def test_customers_are_isolated_per_organisation(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    theirs = kit.other_org.list_customers().json()
    assert theirs["data"] == [] and theirs["meta"]["total_count"] == 0
    ours = three_customers[0]["customer_id"]
    body = assert_problem(kit.other_org.get_customer(ours), 404)
    assert "not found" in body["detail"].lower()
    assert kit.admin.get_customer(ours).status_code == 200
    assert kit.other_org.list_applications().json()["meta"]["total_count"] == 0


@pytest.mark.parametrize("customer_id", ["2hNoSuchCustomer00000000000", "x" * 200, "%F0%9F%99%82"])
def test_get_unknown_customer_is_404_problem(kit: Kit, customer_id: str) -> None:
    assert_problem(kit.admin.get_customer(customer_id), 404)


def test_customer_reads_need_an_api_key(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    assert_problem(kit.http.get(kit.base_url + "/customers"), 401)
    assert_problem(kit.http.get(kit.base_url + "/customers", headers={"x-api-key": "nope"}), 401)
    cid = three_customers[0]["customer_id"]
    assert_problem(kit.http.get(f"{kit.base_url}/customers/{cid}"), 401)
    assert kit.viewer.get_customer(cid).status_code == 200  # reading needs no import permission
