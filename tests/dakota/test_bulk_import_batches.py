"""`POST /customers/bulk-import-sumsub-tokens` with many rows: input order, totals, rows independent of each
other, odd token strings failing only their row, and the limit of 100 tokens.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

import re

import pytest

from tests.support import Kit, token_state
from tests.support.bulk import application_count, assert_failed_row, customer_count

KSUID = re.compile(r"^[0-9A-Za-z]{27}$")


def test_results_are_in_input_order_and_totals_add_up(kit: Kit) -> None:
    olivia, james, ana = kit.token("gb-passport"), kit.token("us-ssn"), kit.token("residence-permit")
    business = kit.token("business")
    body = kit.bulk([olivia, "garbage", james, business, ana, olivia])
    results = body["results"]
    assert body["total"] == len(results) == 6
    assert body["succeeded"] == sum(r["success"] for r in results) == 3
    assert body["failed"] == sum(not r["success"] for r in results) == 3
    assert [r["success"] for r in results] == [True, False, True, False, True, False]
    assert results[0]["name"] == "Olivia Bennett (from Sumsub)"
    assert results[1]["name"] == "Unknown"
    assert results[2]["name"] == "James Carter (from Sumsub)"
    assert results[4]["name"] == "Ana García (from Sumsub)"
    assert_failed_row(results[5], "Tokens are single-use")
    for r in results:
        if r["success"]:
            assert KSUID.match(r["customer_id"]) and KSUID.match(r["application_id"])
            assert "error" not in r
    assert len({r.get("customer_id") for r in results if r["success"]}) == 3


def test_failed_rows_never_roll_back_successful_ones(kit: Kit) -> None:
    good1, bad_business, bad_card, good2 = (
        kit.token("gb-passport"),
        kit.token("business"),
        kit.token("id-card-only"),
        kit.token("us-ssn"),
    )
    body = kit.bulk([good1, bad_business, bad_card, good2])
    assert (body["succeeded"], body["failed"]) == (2, 2)
    for r in (body["results"][0], body["results"][3]):
        resp = kit.admin.get_customer(r["customer_id"])
        assert resp.status_code == 200
        assert resp.json()["application_id"] == r["application_id"]
    assert customer_count(kit) == 2
    assert application_count(kit) == 2
    assert [token_state(kit, t) for t in (good1, bad_business, bad_card, good2)] == [
        "redeemed",
        "active",
        "active",
        "redeemed",
    ]


@pytest.mark.parametrize(
    "token",
    [
        "x" * 100_000,
        "_act-sbx-jwt-" + "A" * 5000 + "." + "B" * 5000 + ".",
        "🙂 ünïcödé token ✓",
        "\u0000nul\u0000",
        "line\nbreak\r\n",
        "_act-sbx-jwt-!!!.###.",
        "' OR 1=1 --",
        "%00%ff",
    ],
)
def test_bulk_import_odd_token_strings_fail_their_row_never_500(kit: Kit, token: str) -> None:
    body = kit.bulk([token, "ok-shaped-but-unknown"])
    assert body["total"] == 2
    for row in body["results"]:
        assert_failed_row(row, "Failed to redeem share token: ")
    assert customer_count(kit) == 0


def test_bulk_import_accepts_exactly_100_tokens(kit: Kit) -> None:
    real = kit.token("gb-passport")
    body = kit.bulk([real] + [f"garbage-{i}" for i in range(99)])
    assert (body["total"], body["succeeded"], body["failed"]) == (100, 1, 99)
    assert body["results"][0]["success"] is True
    assert all(r["name"] == "Unknown" for r in body["results"][1:])
    assert customer_count(kit) == 1
