"""The Sumsub applicant API: create and read applicants, SDK tokens, health; bad bodies never 500."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import DONOR_ID, Kit
from tests.support.sumsub import (
    PASSPORT_META,
    REVIEW_DT,
    assert_sumsub_error,
    create_applicant,
    ext_id,
    png,
    raw_request,
    sign,
)

HEX24 = re.compile(r"[0-9a-f]{24}")
SUMSUB_DT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def test_create_applicant_returns_init_applicant_with_24_hex_id(kit: Kit) -> None:
    ext = ext_id()
    resp = kit.donor.create_applicant(
        "basic-kyc-level",
        {
            "externalUserId": ext,
            "email": "a@example.com",
            "phone": "+447700900123",
            "lang": "en",
            "fixedInfo": {"firstName": "Olivia", "lastName": "Bennett", "country": "GBR"},
        },
    )
    assert resp.status_code == 200, resp.text
    a = resp.json()
    assert HEX24.fullmatch(a["id"])
    assert HEX24.fullmatch(a["inspectionId"])
    assert SUMSUB_DT.fullmatch(a["createdAt"])
    assert a["clientId"] == DONOR_ID
    assert a["externalUserId"] == ext
    assert a["email"] == "a@example.com" and a["phone"] == "+447700900123" and a["lang"] == "en"
    assert a["fixedInfo"] == {"firstName": "Olivia", "lastName": "Bennett", "country": "GBR"}
    assert a["info"] == {}
    assert a["type"] == "individual"
    review = a["review"]
    assert review["reviewStatus"] == "init"
    assert review["levelName"] == "basic-kyc-level"
    assert review["attemptCnt"] == 0
    assert "reviewResult" not in review
    assert REVIEW_DT.fullmatch(review["createDate"])
    assert [s["idDocSetType"] for s in a["requiredIdDocs"]["docSets"]] == ["IDENTITY", "SELFIE"]


def test_create_applicant_dates_follow_the_simulated_clock(kit: Kit) -> None:
    assert kit.control.set_clock(now="2031-05-06T07:08:09Z", frozen=True).status_code == 200
    a = create_applicant(kit.donor)
    assert a["createdAt"] == "2031-05-06 07:08:09"
    assert a["review"]["createDate"] == "2031-05-06 07:08:09+0000"


def test_create_applicant_with_unknown_level_is_400(kit: Kit) -> None:
    ext = ext_id()
    resp = kit.donor.create_applicant("no-such-level", {"externalUserId": ext})
    body = assert_sumsub_error(resp, 400)
    assert "no-such-level" in body["description"]
    assert kit.donor.get_applicant_by_external_id(ext).status_code == 404


def test_create_applicant_level_name_is_case_sensitive(kit: Kit) -> None:
    assert_sumsub_error(kit.donor.create_applicant("Basic-KYC-Level", {"externalUserId": ext_id()}), 400)


def test_create_applicant_without_level_name_is_400(kit: Kit) -> None:
    resp = kit.donor.request("POST", "/resources/applicants", json={"externalUserId": ext_id()})
    assert_sumsub_error(resp, 400)


@pytest.mark.parametrize("body", [{}, {"externalUserId": ""}, {"externalUserId": "   "}, {"externalUserId": 42}])
def test_create_applicant_without_external_user_id_is_400(kit: Kit, body: dict[str, Any]) -> None:
    body = assert_sumsub_error(kit.donor.create_applicant("basic-kyc-level", body), 400)
    assert "externalUserId" in body["description"]


def test_create_applicant_with_duplicate_external_user_id_is_409(kit: Kit) -> None:
    ext = ext_id()
    first = create_applicant(kit.donor, external_user_id=ext)
    resp = kit.donor.create_applicant("basic-kyc-level", {"externalUserId": ext})
    body = assert_sumsub_error(resp, 409)
    assert body["description"] == f"Applicant with external user id '{ext}' already exists: {first['id']}"


def test_same_external_user_id_is_allowed_in_another_workspace(kit: Kit) -> None:
    ext = ext_id()
    a = create_applicant(kit.donor, external_user_id=ext)
    b = create_applicant(kit.donor2, external_user_id=ext)
    assert a["id"] != b["id"]
    assert b["clientId"] == "globex-exchange_55120"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "robot"},
        {"email": 5},
        {"fixedInfo": "Olivia"},
        {"fixedInfo": {"firstName": 7}},
        {"fixedInfo": {"addresses": "Baker Street"}},
        {"fixedInfo": {"addresses": ["Baker Street"]}},
        {"fixedInfo": {"addresses": [{"town": 5}]}},
    ],
)
def test_create_applicant_with_badly_typed_fields_is_400_and_creates_nothing(kit: Kit, body: dict[str, Any]) -> None:
    ext = ext_id()
    assert_sumsub_error(kit.donor.create_applicant("basic-kyc-level", {"externalUserId": ext, **body}), 400)
    assert kit.donor.get_applicant_by_external_id(ext).status_code == 404


def test_get_applicant_by_id_and_by_external_user_id(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    by_id = kit.donor.get_applicant(a["id"])
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == a
    by_ext = kit.donor.get_applicant_by_external_id(a["externalUserId"])
    assert by_ext.status_code == 200, by_ext.text
    assert by_ext.json()["id"] == a["id"]


def test_get_unknown_applicant_is_404(kit: Kit) -> None:
    body = assert_sumsub_error(kit.donor.get_applicant("0" * 24), 404)
    assert body["description"] == "Applicant not found"
    assert_sumsub_error(kit.donor.get_applicant_by_external_id("nobody"), 404)
    assert_sumsub_error(kit.donor.get_applicant("x" * 200), 404)


def test_another_client_cannot_read_the_applicant(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    for other in (kit.donor2, kit.dakota_sumsub, kit.other_recipient):
        assert_sumsub_error(other.get_applicant(a["id"]), 404)
        assert_sumsub_error(other.get_applicant_by_external_id(a["externalUserId"]), 404)
        assert_sumsub_error(other.review_status(a["id"]), 404)
        assert_sumsub_error(other.required_id_docs_status(a["id"]), 404)


def test_another_client_cannot_upload_to_or_review_the_applicant(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    assert_sumsub_error(kit.donor2.add_id_doc(a["id"], PASSPORT_META, png()), 404)
    assert_sumsub_error(kit.donor2.test_completed(a["id"], "GREEN"), 404)
    status = kit.donor.review_status(a["id"]).json()
    assert status["reviewStatus"] == "init"
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"] is None


def test_sdk_access_token_returns_token_and_user_id(kit: Kit) -> None:
    resp = kit.donor.request(
        "POST", "/resources/accessTokens/sdk", json={"userId": "u-1", "levelName": "basic-kyc-level", "ttlInSecs": 600}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"token", "userId"}
    assert body["userId"] == "u-1"
    assert body["token"].startswith("_act-")


@pytest.mark.parametrize(
    "body",
    [
        {"levelName": "basic-kyc-level"},
        {"userId": "u-1"},
        {"userId": "u-1", "levelName": "no-such-level"},
        {"userId": "u-1", "levelName": "basic-kyc-level", "ttlInSecs": 0},
        {"userId": "u-1", "levelName": "basic-kyc-level", "ttlInSecs": "600s"},
    ],
)
def test_sdk_access_token_with_invalid_body_is_400(kit: Kit, body: dict[str, Any]) -> None:
    assert_sumsub_error(kit.donor.request("POST", "/resources/accessTokens/sdk", json=body), 400)


def test_api_health_answers_ok(kit: Kit) -> None:
    resp = kit.dakota_sumsub.request("GET", "/resources/status/api")
    assert resp.status_code == 200
    assert resp.json() == {"ok": 1}


JSON_ENDPOINTS = [
    "/resources/applicants?levelName=basic-kyc-level",
    "/resources/accessTokens/sdk",
    "/resources/accessTokens/shareToken",
    "TEST_COMPLETED",
]


BAD_BODIES = [b"", b"{", b"not json", b"\xff\xfe\x00", b"[]", b'"text"', b"null", b"42", b"[1, 2]", b'{"a": NaN}']


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("raw", BAD_BODIES)
def test_bad_json_bodies_are_400_in_sumsubs_envelope(kit: Kit, endpoint: str, raw: bytes) -> None:
    if endpoint == "TEST_COMPLETED":
        endpoint = f"/resources/applicants/{create_applicant(kit.donor)['id']}/status/testCompleted"
    headers = {**sign(kit.donor, "POST", endpoint, raw), "Content-Type": "application/json"}
    resp = raw_request(kit.http, kit.base_url, "POST", endpoint, body=raw, headers=headers)
    assert_sumsub_error(resp, 400)


def test_deeply_nested_json_body_is_400_not_500(kit: Kit) -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    target = "/resources/applicants?levelName=basic-kyc-level"
    headers = {**sign(kit.donor, "POST", target, raw), "Content-Type": "application/json"}
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "POST", target, body=raw, headers=headers), 400)
