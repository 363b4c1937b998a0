"""`POST /customers/bulk-import-sumsub-tokens` refused as a whole (401, 400): credentials first, then the body
and the idempotency key; nothing is created and no token is spent.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

import pytest

from tests.support import Kit, token_state
from tests.support.bulk import assert_bulk_problem, customer_count, post_bulk_raw, tokens_body

PERMISSION_DETAIL = "Token import requires manage_compliance_applications"


def test_bulk_import_with_viewer_key_is_401_permission_problem_and_spends_nothing(kit: Kit) -> None:
    token = kit.token()
    resp = kit.viewer.bulk_import_sumsub_tokens([token])
    body = assert_bulk_problem(resp, 401)
    assert body["detail"] == PERMISSION_DETAIL
    assert token_state(kit, token) == "active"
    assert customer_count(kit) == 0


@pytest.mark.parametrize("api_key", [None, "", "dk_sandbox_no_such_key", "x" * 500])
def test_bulk_import_without_a_valid_api_key_is_401(kit: Kit, api_key: str | None) -> None:
    token = kit.token()
    resp = post_bulk_raw(kit, tokens_body([token]), api_key=api_key)
    body = assert_bulk_problem(resp, 401)
    assert body["detail"] != PERMISSION_DETAIL
    assert token_state(kit, token) == "active"


def test_bulk_import_auth_is_checked_before_the_body(kit: Kit) -> None:
    assert_bulk_problem(post_bulk_raw(kit, b"not json", api_key="nope"), 401)
    assert assert_bulk_problem(post_bulk_raw(kit, b"not json", api_key=kit.viewer.api_key), 401)["detail"] == (
        PERMISSION_DETAIL
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "tokens"),
        (b"   ", "tokens"),
        (b"{not json", "body"),
        (b"\xff\xfe\xfa", "body"),
        (b"[]", "body"),
        (b'["_act-sbx-jwt-x"]', "body"),
        (b'"tokens"', "body"),
        (b"null", "body"),
        (b"{}", "tokens"),
        (b'{"token": ["x"]}', "tokens"),
        (b'{"tokens": "x"}', "tokens"),
        (b'{"tokens": {"0": "x"}}', "tokens"),
        (b'{"tokens": null}', "tokens"),
        (b'{"tokens": []}', "tokens"),
        (tokens_body(["t"] * 101), "tokens"),
        (b'{"tokens": ["x", 5]}', "tokens[1]"),
        (b'{"tokens": [null]}', "tokens[0]"),
        (b'{"tokens": [["x"]]}', "tokens[0]"),
        (b'{"tokens": [{"token": "x"}]}', "tokens[0]"),
        (b'{"tokens": [true]}', "tokens[0]"),
        (b'{"tokens": [NaN]}', "tokens[0]"),
    ],
)
def test_bulk_import_bad_body_is_400_naming_the_field_and_creates_nothing(kit: Kit, raw: bytes, field: str) -> None:
    resp = post_bulk_raw(kit, raw)
    body = assert_bulk_problem(resp, 400)
    assert body["title"] == "Invalid Request"
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["detail"]
    assert customer_count(kit) == 0


def test_bulk_import_empty_token_array_detail_matches_the_guide(kit: Kit) -> None:
    body = assert_bulk_problem(post_bulk_raw(kit, b'{"tokens": []}'), 400)
    assert body["detail"] == "Request body must contain at least one item"


def test_bulk_import_with_a_bad_item_spends_none_of_the_good_tokens(kit: Kit) -> None:
    good = kit.token()
    assert_bulk_problem(post_bulk_raw(kit, tokens_body([good, 42])), 400)
    assert token_state(kit, good) == "active"
    over = tokens_body([good] + ["x"] * 100)
    assert_bulk_problem(post_bulk_raw(kit, over), 400)
    assert token_state(kit, good) == "active"
    assert customer_count(kit) == 0


def test_bulk_import_deeply_nested_json_is_400_not_500(kit: Kit) -> None:
    raw = b'{"tokens": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    resp = post_bulk_raw(kit, raw)
    body = assert_bulk_problem(resp, 400)
    assert [e["field"] for e in body["errors"]] == ["body"]


def test_bulk_import_without_idempotency_key_is_400_and_spends_nothing(kit: Kit) -> None:
    token = kit.token()
    resp = post_bulk_raw(kit, tokens_body([token]), send_idempotency_key=False)
    body = assert_bulk_problem(resp, 400)
    assert [e["field"] for e in body["errors"]] == ["x-idempotency-key"]
    assert token_state(kit, token) == "active"


@pytest.mark.parametrize(
    "key", ["", "not-a-uuid", "1234", "123e4567-e89b-12d3-a456-42661417400Z", "g" * 36, "x" * 5000]
)
def test_bulk_import_with_non_uuid_idempotency_key_is_400(kit: Kit, key: str) -> None:
    token = kit.token()
    resp = post_bulk_raw(kit, tokens_body([token]), idempotency_key=key)
    body = assert_bulk_problem(resp, 400)
    assert [e["field"] for e in body["errors"]] == ["x-idempotency-key"]
    assert token_state(kit, token) == "active"
