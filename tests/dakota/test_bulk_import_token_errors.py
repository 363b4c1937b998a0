"""`POST /customers/bulk-import-sumsub-tokens`: the guide's error table, row by row, and token expiry on the
simulated clock. A failed row creates nothing and, unless the token itself is spent or expired, spends nothing.

Every Dakota response here also passes through the `kit` contract check against Dakota's published spec.
"""

from __future__ import annotations

import pytest

from tests.support import OTHER_RECIPIENT_ID, Kit, fixture_donor, only_row, token_state
from tests.support.bulk import application_count, assert_failed_row, customer_count


@pytest.mark.parametrize(
    "token",
    [
        "not-a-share-token",
        "_act-sbx-jwt-eyJhbGciOiJub25lIn0.eyJqdGkiOiJfYWN0LXNieC1ub3BlIn0.",
        "_act-sbx-jwt-",
        "",
        "   ",
    ],
)
def test_bulk_import_invalid_or_malformed_token_fails_row_with_failed_to_redeem(kit: Kit, token: str) -> None:
    body = kit.bulk([token])
    row = only_row(body)
    assert row["name"] == "Unknown"
    error = assert_failed_row(row, "Failed to redeem share token: ")
    assert len(error) > len("Failed to redeem share token: ")
    assert (body["succeeded"], body["failed"]) == (0, 1)
    assert customer_count(kit) == 0


def test_bulk_import_expired_token_fails_row_and_keeps_others(kit: Kit) -> None:
    expired = kit.token("gb-passport")
    kit.control.advance(1201).raise_for_status()
    fresh = kit.token("us-ssn")
    body = kit.bulk([expired, fresh])
    assert (body["total"], body["succeeded"], body["failed"]) == (2, 1, 1)
    first, second = body["results"]
    assert first["name"] == "Unknown"
    assert_failed_row(first, "Failed to redeem share token: ", "Share token expired")
    assert second["success"] is True
    assert second["name"] == "James Carter (from Sumsub)"
    assert token_state(kit, expired) == "expired"
    assert customer_count(kit) == 1


def test_bulk_import_already_redeemed_token_fails_with_single_use(kit: Kit) -> None:
    token = kit.token()
    assert only_row(kit.bulk([token]))["success"] is True
    row = only_row(kit.bulk([token]))
    assert_failed_row(row, "Tokens are single-use")
    assert customer_count(kit) == 1


def test_bulk_import_same_token_twice_in_one_batch_succeeds_once(kit: Kit) -> None:
    token = kit.token()
    body = kit.bulk([token, token])
    assert (body["total"], body["succeeded"], body["failed"]) == (2, 1, 1)
    assert body["results"][0]["success"] is True
    assert_failed_row(body["results"][1], "Tokens are single-use")
    assert customer_count(kit) == 1
    assert token_state(kit, token) == "redeemed"


@pytest.mark.parametrize("param", ["share_with", "for_client_id"])
def test_bulk_import_token_minted_for_another_client_fails_and_is_not_spent(kit: Kit, param: str) -> None:
    created = kit.control.create_donor("gb-passport")
    assert created.status_code == 201, created.text
    minted = kit.control.mint(created.json()["applicant_id"], **{param: OTHER_RECIPIENT_ID})
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    assert minted.json()["forClientId"] == OTHER_RECIPIENT_ID
    row = only_row(kit.bulk([token]))
    assert row["name"] == "Unknown"
    assert_failed_row(row, "Failed to redeem share token: ")
    assert customer_count(kit) == 0
    assert token_state(kit, token) == "active"  # still the other recipient's to redeem


def test_bulk_import_incompatible_id_card_donor_fails_with_10513_and_creates_nothing(kit: Kit) -> None:
    token = kit.token("id-card-only")
    row = only_row(kit.bulk([token]))
    error = assert_failed_row(row, "10513")
    assert "isn't compatible with Dakota's requirements" in error
    assert "no applicant" in error
    assert customer_count(kit) == 0
    assert application_count(kit) == 0
    status = kit.control.token_status(token).json()
    assert status["state"] == "active"
    assert status["redeemed_applicant_id"] is None  # no applicant on Dakota's Sumsub side either


def test_bulk_import_business_applicant_fails_individual_only_and_creates_nothing(kit: Kit) -> None:
    token = kit.token("business")
    row = only_row(kit.bulk([token]))
    assert_failed_row(row, "individual applicants only")
    assert row["name"] in ("Unknown", "Northwind Trading Ltd (from Sumsub)")
    assert customer_count(kit) == 0
    assert application_count(kit) == 0
    status = kit.control.token_status(token).json()
    assert status["state"] == "active"  # the row rolled back: the token is not spent
    assert status["redeemed_applicant_id"] is None


def test_bulk_import_not_approved_donor_fails_with_10507_and_succeeds_once_approved(kit: Kit) -> None:
    made = fixture_donor(kit, "not-approved")
    token = made["share_token"]["token"]
    row = only_row(kit.bulk([token]))
    assert_failed_row(row, "Failed to redeem share token: ", "10507")
    assert customer_count(kit) == 0
    assert token_state(kit, token) == "active"
    # A transient failure: once the donor approves the applicant, the very same token imports in a new batch.
    assert kit.donor.test_completed(made["applicant_id"], "GREEN").status_code == 200
    again = only_row(kit.bulk([token]))
    assert again["success"] is True, again
    assert again["name"] == "Noah Williams (from Sumsub)"
    assert customer_count(kit) == 1


def test_token_redeemed_one_second_before_ttl_succeeds_and_exactly_at_ttl_fails(kit: Kit) -> None:
    assert kit.control.set_clock(frozen=True).status_code == 200
    early = kit.token("gb-passport")
    late = kit.token("us-ssn")
    assert kit.control.token_status(early).json()["ttl_seconds"] == 1200
    kit.control.advance(1199).raise_for_status()
    assert only_row(kit.bulk([early]))["success"] is True
    kit.control.advance(1).raise_for_status()  # now == created + ttl: expired (now >= expires_at)
    assert token_state(kit, late) == "expired"
    row = only_row(kit.bulk([late]))
    assert_failed_row(row, "Failed to redeem share token: ", "Share token expired")


def test_custom_ttl_in_secs_sets_the_expiry_boundary(kit: Kit) -> None:
    assert kit.control.set_clock(frozen=True).status_code == 200
    early = kit.token("gb-passport", ttl_in_secs=60)
    late = kit.token("gb-passport", ttl_in_secs=60)
    long_lived = kit.token("gb-passport", ttl_in_secs=7200)
    assert kit.control.token_status(early).json()["ttl_seconds"] == 60
    kit.control.advance(59).raise_for_status()
    assert only_row(kit.bulk([early]))["success"] is True
    kit.control.advance(1).raise_for_status()
    assert_failed_row(only_row(kit.bulk([late])), "Share token expired")
    kit.control.advance(3000).raise_for_status()  # 3060 s: past the default TTL, inside its own
    assert only_row(kit.bulk([long_lived]))["success"] is True


def test_expired_token_stays_expired_and_is_never_spent(kit: Kit) -> None:
    token = kit.token()
    kit.control.advance(1200).raise_for_status()
    assert_failed_row(only_row(kit.bulk([token])), "Share token expired")
    assert token_state(kit, token) == "expired"
    assert kit.control.token_status(token).json()["redeemed_at"] is None
