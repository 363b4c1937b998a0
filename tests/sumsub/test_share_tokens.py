"""Reusable KYC: minting share tokens (donor side) and redeeming them (recipient side)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from simulator.app import create_app
from simulator.harness.clients import ControlApi, SumsubApi
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from simulator.sumsub.models import Applicant, IdDoc
from tests.support import CLIENTS, DAKOTA_CLIENT_ID, OTHER_RECIPIENT_ID, Kit, fixture_donor, token_state
from tests.support.sumsub import (
    PASSPORT_META,
    SERVICE_EXCEPTION,
    assert_sumsub_error,
    create_applicant,
    mint,
    png,
    verified_applicant,
)

HEX24 = re.compile(r"[0-9a-f]{24}")
COPY_EXT = re.compile(r"copy-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def assert_token_invalid(resp: Any) -> dict[str, Any]:
    """Sumsub's generic 401 for an expired, used or malformed token: no errorCode, a ServiceException type."""
    assert resp.status_code == 401, resp.text
    body: dict[str, Any] = resp.json()
    assert body["code"] == 401
    assert body["description"].startswith("Token is invalid: ")
    assert body["type"] == SERVICE_EXCEPTION
    assert "errorCode" not in body
    return body


def idoc_types(app: Flask, applicant_id: str) -> list[str]:
    """The stored document images of an applicant (what the copy really carries, not just `info`)."""
    store = app.extensions["kyc_sandbox"].rt.store
    with store.read() as tx:
        return sorted(tx.scalars(select(IdDoc.id_doc_type).where(IdDoc.applicant_id == applicant_id)))


def preview(api: SumsubApi, token: str, level: str, method: str = "POST") -> Any:
    return api.request(
        method, "/resources/api/reusableIdentity/reuse/preview", params={"shareToken": token, "levelName": level}
    )


# ---------------------------------------------------------------- minting
def test_donor_verifies_over_the_api_and_mints_a_share_token(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    assert donor["review"]["reviewStatus"] == "completed"
    resp = kit.donor.generate_share_token(donor["id"], DAKOTA_CLIENT_ID)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"token", "forClientId"}
    assert body["forClientId"] == DAKOTA_CLIENT_ID
    token = body["token"]
    assert token.startswith("_act-sbx-jwt-")
    assert len(token.encode()) < 1024
    status = kit.control.token_status(token).json()
    assert status["state"] == "active"
    assert status["ttl_seconds"] == 1200
    assert status["applicant_id"] == donor["id"]
    assert status["expires_at"] - status["created_at"] == pytest.approx(1200)


def test_each_mint_gives_a_distinct_token(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    assert len({mint(kit.donor, donor["id"]) for _ in range(5)}) == 5


def test_mint_with_the_older_query_form(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    resp = kit.donor.generate_share_token_query(donor["id"], DAKOTA_CLIENT_ID, 600)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["forClientId"] == DAKOTA_CLIENT_ID
    assert body["token"].startswith("_act-sbx-jwt-")
    assert kit.control.token_status(body["token"]).json()["ttl_seconds"] == 600
    default = kit.donor.generate_share_token_query(donor["id"], DAKOTA_CLIENT_ID)
    assert default.status_code == 200, default.text
    assert kit.control.token_status(default.json()["token"]).json()["ttl_seconds"] == 1200


def test_query_form_token_is_redeemable(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    token = kit.donor.generate_share_token_query(donor["id"], DAKOTA_CLIENT_ID).json()["token"]
    resp = kit.dakota_sumsub.reuse(token, "id-only")
    assert resp.status_code == 200, resp.text


def test_mint_for_a_non_partner_is_400_10501(kit: Kit) -> None:
    donor = verified_applicant(kit.donor2)  # Globex shares with Dakota only
    body = assert_sumsub_error(kit.donor2.generate_share_token(donor["id"], OTHER_RECIPIENT_ID), 400, 10501)
    assert body["errorName"] == "not-in-partners-list"
    assert_sumsub_error(kit.donor.generate_share_token(verified_applicant(kit.donor)["id"], "nobody_1"), 400, 10501)


def test_mint_for_another_clients_applicant_is_404(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    assert_sumsub_error(kit.donor2.generate_share_token(donor["id"], DAKOTA_CLIENT_ID), 404)
    assert_sumsub_error(kit.donor2.generate_share_token_query(donor["id"], DAKOTA_CLIENT_ID), 404)


def test_mint_for_unknown_applicant_is_404(kit: Kit) -> None:
    assert_sumsub_error(kit.donor.generate_share_token("0" * 24, DAKOTA_CLIENT_ID), 404)


@pytest.mark.parametrize("ttl", [0, -1, -1200, "ten", "", 12.5, True, [600], {"s": 1}, 2**31, 10**20])
def test_mint_with_invalid_ttl_is_400(kit: Kit, ttl: Any) -> None:
    donor = verified_applicant(kit.donor)
    resp = kit.donor.request(
        "POST",
        "/resources/accessTokens/shareToken",
        json={"applicantId": donor["id"], "forClientId": DAKOTA_CLIENT_ID, "ttlInSecs": ttl},
    )
    assert_sumsub_error(resp, 400)


@pytest.mark.parametrize("ttl", ["0", "-5", "abc", "1.5", "99999999999999999999999"])
def test_mint_query_form_with_invalid_ttl_is_400(kit: Kit, ttl: str) -> None:
    donor = verified_applicant(kit.donor)
    resp = kit.donor.request(
        "POST",
        "/resources/accessTokens/-/shareToken",
        params={"applicantId": donor["id"], "forClientId": DAKOTA_CLIENT_ID, "ttlInSecs": ttl},
    )
    assert_sumsub_error(resp, 400)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"forClientId": DAKOTA_CLIENT_ID},
        {"applicantId": "APPLICANT"},
        {"applicantId": 5, "forClientId": DAKOTA_CLIENT_ID},
    ],
)
def test_mint_without_applicant_or_recipient_is_400(kit: Kit, body: dict[str, Any]) -> None:
    if body.get("applicantId") == "APPLICANT":
        body = {"applicantId": verified_applicant(kit.donor)["id"]}
    assert_sumsub_error(kit.donor.request("POST", "/resources/accessTokens/shareToken", json=body), 400)


# ---------------------------------------------------------------- redeeming: reuse
def test_reuse_creates_a_new_approved_applicant_in_the_recipients_workspace(kit: Kit, app: Flask) -> None:
    donor = verified_applicant(kit.donor)
    token = mint(kit.donor, donor["id"])
    resp = kit.dakota_sumsub.reuse(token, "id-only")
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert HEX24.fullmatch(new["id"])
    assert new["id"] != donor["id"]
    assert new["clientId"] == DAKOTA_CLIENT_ID
    assert COPY_EXT.fullmatch(new["externalUserId"]), new["externalUserId"]
    assert new["review"]["reviewStatus"] == "completed"
    assert new["review"]["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert new["review"]["levelName"] == "id-only"
    assert new["fixedInfo"] == donor["fixedInfo"]
    assert new["email"] == donor["email"]
    assert [d["idDocType"] for d in new["info"]["idDocs"]] == ["PASSPORT"]
    assert new["info"]["idDocs"][0]["number"] == PASSPORT_META["number"]
    # Only the accepted type's images were copied: the donor's selfie stays behind.
    assert idoc_types(app, donor["id"]) == ["PASSPORT", "SELFIE"]
    assert idoc_types(app, new["id"]) == ["PASSPORT"]
    # The copy lives in Dakota's workspace only.
    got = kit.dakota_sumsub.get_applicant(new["id"])
    assert got.status_code == 200 and got.json()["id"] == new["id"]
    assert_sumsub_error(kit.donor.get_applicant(new["id"]), 404)
    st = kit.dakota_sumsub.review_status(new["id"]).json()
    assert st["reviewStatus"] == "completed" and st["reviewResult"]["reviewAnswer"] == "GREEN"
    steps = kit.dakota_sumsub.required_id_docs_status(new["id"]).json()
    assert set(steps) == {"IDENTITY"}
    assert steps["IDENTITY"]["idDocType"] == "PASSPORT"
    assert steps["IDENTITY"]["reviewResult"] == {"reviewAnswer": "GREEN"}
    status = kit.control.token_status(token).json()
    assert status["state"] == "redeemed"
    assert status["redeemed_applicant_id"] == new["id"]
    # The donor's applicant is untouched.
    assert kit.donor.get_applicant(donor["id"]).json() == donor


def test_reuse_with_user_id_sets_the_external_user_id(kit: Kit) -> None:
    token = kit.token("gb-passport")
    resp = kit.dakota_sumsub.reuse(token, "id-only", user_id="dakota-user-42")
    assert resp.status_code == 200, resp.text
    assert resp.json()["externalUserId"] == "dakota-user-42"
    by_ext = kit.dakota_sumsub.get_applicant_by_external_id("dakota-user-42")
    assert by_ext.status_code == 200 and by_ext.json()["id"] == resp.json()["id"]


def test_reuse_with_an_existing_user_id_is_409_and_leaves_the_token_usable(kit: Kit) -> None:
    existing = create_applicant(kit.dakota_sumsub, level="id-only")
    token = kit.token("gb-passport")
    resp = kit.dakota_sumsub.reuse(token, "id-only", user_id=existing["externalUserId"])
    assert_sumsub_error(resp, 409)
    assert token_state(kit, token) == "active"
    assert kit.dakota_sumsub.reuse(token, "id-only").status_code == 200


def test_reuse_gives_each_redemption_its_own_copy_id(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    a = kit.dakota_sumsub.reuse(mint(kit.donor, donor["id"]), "id-only").json()
    b = kit.dakota_sumsub.reuse(mint(kit.donor, donor["id"]), "id-only").json()
    assert a["id"] != b["id"] and a["externalUserId"] != b["externalUserId"]


def test_reuse_at_unknown_level_is_400_and_leaves_the_token_usable(kit: Kit) -> None:
    token = kit.token("gb-passport")
    assert_sumsub_error(kit.dakota_sumsub.reuse(token, "no-such-level"), 400)
    assert token_state(kit, token) == "active"


def test_reuse_without_share_token_or_level_is_400(kit: Kit) -> None:
    token = kit.token("gb-passport")
    path = "/resources/api/reusableIdentity/reuse"
    assert_sumsub_error(kit.dakota_sumsub.request("POST", path, params={"levelName": "id-only"}), 400)
    assert_sumsub_error(kit.dakota_sumsub.request("POST", path, params={"shareToken": token}), 400)
    assert token_state(kit, token) == "active"


# ---------------------------------------------------------------- redeeming: import (Copy Applicant)
def test_import_creates_a_copy_with_a_new_id(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    token = mint(kit.donor, donor["id"])
    resp = kit.dakota_sumsub.import_applicant(token)
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert HEX24.fullmatch(new["id"]) and new["id"] != donor["id"]
    assert new["clientId"] == DAKOTA_CLIENT_ID
    assert COPY_EXT.fullmatch(new["externalUserId"])
    assert new["review"]["reviewStatus"] == "completed"
    assert new["review"]["reviewResult"]["reviewAnswer"] == "GREEN"
    assert [d["idDocType"] for d in new["info"]["idDocs"]] == ["PASSPORT"]
    assert token_state(kit, token) == "redeemed"
    assert_token_invalid(kit.dakota_sumsub.import_applicant(token))


def test_import_without_share_token_is_400(kit: Kit) -> None:
    assert_sumsub_error(kit.dakota_sumsub.request("POST", "/resources/applicants/-/import"), 400)


def test_import_of_an_unapproved_donor_inherits_its_review_status(kit: Kit) -> None:
    # Copy Applicant runs no rechecks, but the copy inherits the donor's review status: not approved stays so.
    token = kit.token("not-approved")
    resp = kit.dakota_sumsub.import_applicant(token)
    assert resp.status_code == 200, resp.text
    review = resp.json()["review"]
    assert review["reviewStatus"] == "init", review
    assert "reviewResult" not in review


def test_import_of_a_rejected_donor_inherits_the_rejection(kit: Kit) -> None:
    donor = create_applicant(kit.donor)
    assert kit.donor.add_id_doc(donor["id"], PASSPORT_META, png()).status_code == 200
    assert kit.donor.test_completed(donor["id"], "RED", ["FORGERY"], reviewRejectType="FINAL").status_code == 200
    resp = kit.dakota_sumsub.import_applicant(mint(kit.donor, donor["id"]))
    assert resp.status_code == 200, resp.text
    review = resp.json()["review"]
    assert review["reviewStatus"] == "completed"
    assert review["reviewResult"] == {"reviewAnswer": "RED", "rejectLabels": ["FORGERY"], "reviewRejectType": "FINAL"}


# ---------------------------------------------------------------- redeeming: preview
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_reuse_preview_runs_the_checks_but_copies_nothing(kit: Kit, method: str) -> None:
    token = kit.token("gb-passport")
    resp = preview(kit.dakota_sumsub, token, "id-only", method)
    assert resp.status_code == 200, resp.text
    previewed = resp.json()
    assert previewed["clientId"] == DAKOTA_CLIENT_ID
    assert previewed["review"]["reviewStatus"] == "completed"
    assert token_state(kit, token) == "active"
    assert_sumsub_error(kit.dakota_sumsub.get_applicant(previewed["id"]), 404)
    assert_sumsub_error(kit.dakota_sumsub.get_applicant_by_external_id(previewed["externalUserId"]), 404)
    real = kit.dakota_sumsub.reuse(token, "id-only")
    assert real.status_code == 200, real.text


def test_reuse_preview_reports_incompatibility_without_spending_the_token(kit: Kit) -> None:
    token = kit.token("id-card-only")
    assert_sumsub_error(preview(kit.dakota_sumsub, token, "id-only"), 400, 10513)
    assert token_state(kit, token) == "active"


def test_reuse_preview_of_a_used_token_is_401(kit: Kit) -> None:
    token = kit.token("gb-passport")
    assert kit.dakota_sumsub.reuse(token, "id-only").status_code == 200
    assert_token_invalid(preview(kit.dakota_sumsub, token, "id-only"))


# ---------------------------------------------------------------- token scope and single use
def test_token_minted_for_dakota_redeemed_by_another_client_is_400_10502(kit: Kit) -> None:
    token = kit.token("gb-passport")
    body = assert_sumsub_error(kit.other_recipient.reuse(token, "id-only"), 400, 10502)
    assert body["errorName"] == "invalid-partner-id"
    assert body["type"] == SERVICE_EXCEPTION
    assert_sumsub_error(kit.other_recipient.import_applicant(token), 400, 10502)
    assert_sumsub_error(kit.donor.reuse(token, "id-only"), 400, 10502)  # not even the donor itself
    assert token_state(kit, token) == "active"
    assert kit.dakota_sumsub.reuse(token, "id-only").status_code == 200


def test_token_minted_for_initech_is_redeemable_by_initech_only(kit: Kit) -> None:
    donor = verified_applicant(kit.donor)
    token = mint(kit.donor, donor["id"], OTHER_RECIPIENT_ID)
    assert_sumsub_error(kit.dakota_sumsub.reuse(token, "id-only"), 400, 10502)
    resp = kit.other_recipient.reuse(token, "basic-kyc-level")
    assert resp.status_code == 200, resp.text
    assert resp.json()["clientId"] == OTHER_RECIPIENT_ID


def test_second_redemption_is_401_token_invalid(kit: Kit) -> None:
    token = kit.token("gb-passport")
    first = kit.dakota_sumsub.reuse(token, "id-only")
    assert first.status_code == 200, first.text
    body = assert_token_invalid(kit.dakota_sumsub.reuse(token, "id-only"))
    assert "already used" in body["description"]
    assert_token_invalid(kit.dakota_sumsub.import_applicant(token))
    assert kit.control.token_status(token).json()["redeemed_applicant_id"] == first.json()["id"]


# ---------------------------------------------------------------- TTL on the simulated clock
def test_token_is_redeemable_until_just_before_its_ttl(kit: Kit) -> None:
    assert kit.control.set_clock(frozen=True).status_code == 200
    token = kit.token("gb-passport")
    assert kit.control.advance(1199).status_code == 200
    resp = kit.dakota_sumsub.reuse(token, "id-only")
    assert resp.status_code == 200, resp.text


def test_token_at_exactly_its_ttl_is_401_expired(kit: Kit) -> None:
    assert kit.control.set_clock(now="2030-03-04T05:06:07Z", frozen=True).status_code == 200
    token = kit.token("gb-passport")
    assert kit.control.advance(1200).status_code == 200
    body = assert_token_invalid(kit.dakota_sumsub.reuse(token, "id-only"))
    assert re.search(r"created at .+ with ttl 1200 but accessed at .+", body["description"]), body
    assert "created at Mon Mar 04 05:06:07 UTC 2030 with ttl 1200" in body["description"]
    assert "accessed at Mon Mar 04 05:26:07 UTC 2030" in body["description"]
    assert token_state(kit, token) == "expired"
    assert_token_invalid(kit.dakota_sumsub.import_applicant(token))


def test_custom_ttl_of_five_seconds(kit: Kit) -> None:
    assert kit.control.set_clock(frozen=True).status_code == 200
    donor = verified_applicant(kit.donor)
    early, late = mint(kit.donor, donor["id"], ttl=5), mint(kit.donor, donor["id"], ttl=5)
    assert kit.control.advance(4).status_code == 200
    assert kit.dakota_sumsub.reuse(early, "id-only").status_code == 200
    assert kit.control.advance(1).status_code == 200
    body = assert_token_invalid(kit.dakota_sumsub.reuse(late, "id-only"))
    assert "with ttl 5 but accessed at" in body["description"]


def test_token_ttl_follows_the_simulated_clock_not_wall_time(kit: Kit) -> None:
    token = kit.token("gb-passport")  # clock running, real time
    assert kit.control.advance(3600).status_code == 200
    assert_token_invalid(kit.dakota_sumsub.reuse(token, "id-only"))


# ---------------------------------------------------------------- malformed tokens
@pytest.mark.parametrize(
    "token",
    [
        "_act-sbx-jwt-eyJhbGciOiJub25lIn0.eyJqdGkiOiJfYWN0LXNieC1ub3BlIn0.",
        "garbage",
        "_act-6f826e54-1637-45b1-9732-f526b7f15a7c",
        "x" * 1025,
        "_act-sbx-jwt-" + "A" * 2000,
        "   ",
    ],
)
def test_unknown_garbage_or_oversized_tokens_are_401(kit: Kit, token: str) -> None:
    assert_token_invalid(kit.dakota_sumsub.reuse(token, "id-only"))
    assert_token_invalid(kit.dakota_sumsub.import_applicant(token))


# ---------------------------------------------------------------- donor rechecks
def test_reuse_of_a_not_approved_donor_is_400_10507(kit: Kit) -> None:
    token = kit.token("not-approved")
    body = assert_sumsub_error(kit.dakota_sumsub.reuse(token, "id-only", user_id="u-10507"), 400, 10507)
    assert body["errorName"] == "reusable-kyc-not-approved-applicant"
    assert body["type"] == SERVICE_EXCEPTION
    assert_sumsub_error(kit.dakota_sumsub.get_applicant_by_external_id("u-10507"), 404)
    assert token_state(kit, token) == "active"


def test_reuse_of_a_rejected_donor_is_400_10507(kit: Kit) -> None:
    donor = create_applicant(kit.donor)
    assert kit.donor.add_id_doc(donor["id"], PASSPORT_META, png()).status_code == 200
    assert kit.donor.test_completed(donor["id"], "RED", ["FORGERY"], reviewRejectType="RETRY").status_code == 200
    assert_sumsub_error(kit.dakota_sumsub.reuse(mint(kit.donor, donor["id"]), "id-only"), 400, 10507)


def test_id_card_only_donor_at_id_only_is_400_10513_and_creates_nothing(kit: Kit) -> None:
    token = kit.token("id-card-only")
    resp = kit.dakota_sumsub.reuse(token, "id-only", user_id="u-10513")
    body = assert_sumsub_error(resp, 400, 10513)
    assert body["errorName"] == "reusable-kyc-not-compatible-doc-type"
    assert body["description"] == "Not Reusable KYC for level: id-only"
    assert body["type"] == SERVICE_EXCEPTION
    assert_sumsub_error(kit.dakota_sumsub.get_applicant_by_external_id("u-10513"), 404)
    assert token_state(kit, token) == "active"


def test_id_card_only_donor_reused_at_basic_kyc_level_succeeds(kit: Kit, app: Flask) -> None:
    token = kit.token("id-card-only")
    assert_sumsub_error(kit.dakota_sumsub.reuse(token, "id-only"), 400, 10513)
    resp = kit.dakota_sumsub.reuse(token, "basic-kyc-level")  # the same, still unspent token
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["clientId"] == DAKOTA_CLIENT_ID
    assert [d["idDocType"] for d in new["info"]["idDocs"]] == ["ID_CARD"]
    assert idoc_types(app, new["id"]) == ["ID_CARD", "ID_CARD"]  # front and back
    # basic-kyc-level also wants a selfie the donor never gave: documents requested.
    assert new["review"]["reviewStatus"] == "init"
    assert token_state(kit, token) == "redeemed"


def test_weaker_level_donor_is_created_with_documents_requested(kit: Kit, app: Flask) -> None:
    token = kit.token("weaker-level")
    resp = kit.dakota_sumsub.reuse(token, "id-only")
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["clientId"] == DAKOTA_CLIENT_ID
    assert new["review"]["reviewStatus"] == "init"
    assert "reviewResult" not in new["review"]
    assert new["fixedInfo"]["firstName"] == "Sofia"
    assert "idDocs" not in new["info"]
    assert idoc_types(app, new["id"]) == []
    assert kit.dakota_sumsub.required_id_docs_status(new["id"]).json() == {"IDENTITY": None}
    assert token_state(kit, token) == "redeemed"


def test_stricter_level_donor_at_id_only_copies_only_the_passport(kit: Kit, app: Flask) -> None:
    made = fixture_donor(kit, "stricter-edd")
    donor_id, token = made["applicant_id"], made["share_token"]["token"]
    donor = kit.donor.get_applicant(donor_id).json()
    assert donor["questionnaires"], "fixture donor should carry a questionnaire"
    assert idoc_types(app, donor_id) == ["PASSPORT", "SELFIE", "UTILITY_BILL"]
    resp = kit.dakota_sumsub.reuse(token, "id-only")
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["review"]["reviewStatus"] == "completed"
    assert new["review"]["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert [d["idDocType"] for d in new["info"]["idDocs"]] == ["PASSPORT"]
    assert idoc_types(app, new["id"]) == ["PASSPORT"]
    assert "questionnaires" not in new
    assert set(kit.dakota_sumsub.required_id_docs_status(new["id"]).json()) == {"IDENTITY"}


def test_stricter_level_donor_at_edd_level_keeps_everything(kit: Kit, app: Flask) -> None:
    token = kit.token("stricter-edd")
    resp = kit.dakota_sumsub.reuse(token, "edd-level")
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["review"]["reviewStatus"] == "completed"
    assert idoc_types(app, new["id"]) == ["PASSPORT", "SELFIE", "UTILITY_BILL"]
    assert new["questionnaires"][0]["id"] == "edd_questionnaire"


# ---------------------------------------------------------------- concurrency
def race(app: Flask, token: str, n: int = 16) -> list[tuple[int, dict[str, Any]]]:
    """`n` threads, each with its own in-process client, redeem `token` through /reuse at the same moment."""
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    creds = CLIENTS[DAKOTA_CLIENT_ID]

    def redeem() -> None:
        http, base = in_process_session(app)
        api = SumsubApi(base, creds["app_token"], creds["secret_key"], session=http)
        barrier.wait()
        resp = api.reuse(token, "id-only")
        with lock:
            results.append((resp.status_code, resp.json()))

    threads = [threading.Thread(target=redeem) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == n
    return results


def copies_in_dakota(app: Flask) -> list[str]:
    store = app.extensions["kyc_sandbox"].rt.store
    with store.read() as tx:
        return list(tx.scalars(select(Applicant.id).where(Applicant.client_id == DAKOTA_CLIENT_ID)))


def assert_exactly_one_redemption(app: Flask, token: str, results: list[tuple[int, dict[str, Any]]]) -> None:
    tally = Counter((code, body.get("description", "")[:60]) for code, body in results)
    assert sorted(code for code, _ in results) == [200] + [401] * (len(results) - 1), tally
    winner = next(body for code, body in results if code == 200)
    assert copies_in_dakota(app) == [winner["id"]]
    assert idoc_types(app, winner["id"]) == ["PASSPORT"]
    tokens = app.extensions["kyc_sandbox"].sumsub.share_tokens
    with app.extensions["kyc_sandbox"].rt.store.read() as tx:
        assert tokens.status(tx, token)["redeemed_applicant_id"] == winner["id"]


def test_sixteen_concurrent_redemptions_of_one_token_yield_exactly_one_applicant(kit: Kit, app: Flask) -> None:
    # The default test store: in-memory SQLite, one connection shared by every thread (StaticPool).
    token = kit.token("gb-passport")
    assert_exactly_one_redemption(app, token, race(app, token))


def test_sixteen_concurrent_redemptions_on_a_sqlite_file_yield_exactly_one_applicant(tmp_path: Path) -> None:
    # The default served store: a SQLite file, one connection per thread, BEGIN IMMEDIATE.
    file_app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/sandbox.db", seed=99, journal_size=0))
    try:
        http, base = in_process_session(file_app)
        token = ControlApi(base, session=http).donor_token("gb-passport")
        assert_exactly_one_redemption(file_app, token, race(file_app, token))
    finally:
        file_app.extensions["kyc_sandbox"].rt.store.dispose()
