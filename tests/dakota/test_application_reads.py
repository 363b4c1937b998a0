"""`GET /applications` and `GET /applications/{id}` (by the application's X-Application-Token) over imports.
`three_customers`: tests/dakota/conftest.py.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ADMIN_KEY, Kit, mint_and_import
from tests.support.bulk import assert_problem


def test_list_applications_filters_by_status(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    pending = kit.admin.list_applications(status="pending").json()
    assert {a["application_id"] for a in pending["data"]} == {r["application_id"] for r in three_customers}
    assert all(a["application_status"] == "pending" and a["application_type"] == "individual" for a in pending["data"])
    assert kit.admin.list_applications(status="submitted").json()["data"] == []
    assert kit.admin.list_applications(status="completed").json()["meta"]["total_count"] == 0
    names = {(a["individuals"][0]["first_name"], a["individuals"][0]["last_name"]) for a in pending["data"]}
    assert names == {("Olivia", "Bennett"), ("James", "Carter"), ("Ana", "García")}


def test_list_applications_pages_are_slices_of_the_whole_list(kit: Kit, three_customers: list[dict[str, Any]]) -> None:
    # Pages are cut from a list of ids and then loaded: each item must be whole and in its place.
    whole = kit.admin.list_applications().json()
    assert len(whole["data"]) == 3
    page1 = kit.admin.list_applications(limit=2).json()
    assert page1["data"] == whole["data"][:2]
    assert page1["meta"] == {"total_count": 3, "has_more_after": True, "has_more_before": False}
    page2 = kit.admin.list_applications(limit=2, starting_after=page1["data"][-1]["application_id"]).json()
    assert page2["data"] == whole["data"][2:]
    assert page2["meta"] == {"total_count": 3, "has_more_after": False, "has_more_before": True}


@pytest.mark.parametrize("params", [{"status": "approved"}, {"status": "PENDING"}, {"type": "company"}])
def test_list_applications_invalid_filter_is_400(kit: Kit, params: dict[str, str]) -> None:
    assert_problem(kit.admin.list_applications(**params), 400)


def test_get_application_by_its_token_with_include_sections(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    app_id = row["application_id"]
    token = kit.admin.application_token(row["customer_id"])

    def get(include: str | None) -> dict[str, Any]:
        params = None if include is None else {"include": include}
        resp = kit.http.get(
            f"{kit.base_url}/applications/{app_id}", params=params, headers={"X-Application-Token": token}
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        assert body["application_id"] == app_id
        return body

    # No include: the entities (the spec's example of this operation carries them); include naming nothing: none.
    assert set(get(None)) & {"entities", "validation", "attestations"} == {"entities"}
    assert get(None)["entities"] == get("entities")["entities"]
    bare = get("")
    assert not {"entities", "validation", "attestations"} & set(bare)
    assert set(get("validation")) & {"entities", "validation", "attestations"} == {"validation"}
    assert set(get("entities")) & {"entities", "validation", "attestations"} == {"entities"}
    assert get("attestations")["attestations"] == {}
    both = get("entities,validation")
    assert {"entities", "validation"} <= set(both) and "attestations" not in both
    everything = get("all")
    assert {"entities", "validation", "attestations"} <= set(everything)
    assert everything["validation"]["attestations"]["missing"] == [
        "e_sign",
        "terms_of_service",
        "privacy_policy",
        "information_accuracy",
    ]


@pytest.mark.parametrize("include", ["bogus", "entities,bogus", "ALL"])
def test_get_application_unknown_include_is_400(kit: Kit, include: str) -> None:
    row = mint_and_import(kit, "gb-passport")
    token = kit.admin.application_token(row["customer_id"])
    body = assert_problem(kit.admin.get_application(row["application_id"], token, include=include), 400)
    assert body["errors"][0]["field"] == "include"


def test_get_application_with_wrong_token_is_401(kit: Kit) -> None:
    rows = kit.bulk([kit.token("gb-passport"), kit.token("us-ssn")])["results"]
    token_a = kit.admin.application_token(rows[0]["customer_id"])
    assert_problem(kit.admin.get_application(rows[0]["application_id"], "not-the-token"), 401)
    # A real token, but for another application.
    assert_problem(kit.admin.get_application(rows[1]["application_id"], token_a), 401)


def test_get_application_with_only_an_api_key_is_403(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    resp = kit.http.get(f"{kit.base_url}/applications/{row['application_id']}", headers={"x-api-key": ADMIN_KEY})
    body = assert_problem(resp, 403)
    assert "X-Application-Token" in body["detail"]


def test_get_application_without_any_credentials_is_401(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    assert_problem(kit.http.get(f"{kit.base_url}/applications/{row['application_id']}"), 401)


def test_get_unknown_application_with_a_valid_token_is_404(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    token = kit.admin.application_token(row["customer_id"])
    assert_problem(kit.admin.get_application("2hNoSuchApplication00000000", token), 404)
