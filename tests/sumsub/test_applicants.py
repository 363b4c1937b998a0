"""The Sumsub applicant API: create, read, documents, review status, sandbox review, SDK tokens, health."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.support import DONOR_ID, Kit
from tests.support.sumsub import (
    PASSPORT_META,
    assert_sumsub_error,
    create_applicant,
    ext_id,
    png,
    raw_request,
    sign,
)

HEX24 = re.compile(r"[0-9a-f]{24}")
SUMSUB_DT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
REVIEW_DT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0000")


def upload(kit: Kit, applicant_id: str, meta: dict[str, Any], content: bytes | None = None) -> Any:
    return kit.donor.add_id_doc(applicant_id, meta, png() if content is None else content)


# ---------------------------------------------------------------- create
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


# ---------------------------------------------------------------- read
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


# ---------------------------------------------------------------- documents
def test_add_id_doc_returns_metadata_and_x_image_id(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    resp = upload(kit, a["id"], PASSPORT_META)
    assert resp.status_code == 200, resp.text
    image_id = resp.headers["X-Image-Id"]
    assert image_id.isdigit()
    assert resp.json() == PASSPORT_META
    steps = kit.donor.required_id_docs_status(a["id"]).json()
    assert steps["IDENTITY"]["idDocType"] == "PASSPORT"
    assert steps["IDENTITY"]["country"] == "GBR"
    assert steps["IDENTITY"]["imageIds"] == [int(image_id)]
    assert "reviewResult" not in steps["IDENTITY"]
    info = kit.donor.get_applicant(a["id"]).json()["info"]
    assert info["idDocs"][0]["idDocType"] == "PASSPORT"
    assert info["idDocs"][0]["number"] == "533401372"
    assert info["firstName"] == "OLIVIA" and info["nationality"] == "GBR"


def test_two_sides_of_a_document_get_two_image_ids(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    front = upload(kit, a["id"], {"idDocType": "ID_CARD", "idDocSubType": "FRONT_SIDE", "country": "FRA"})
    back = upload(kit, a["id"], {"idDocType": "ID_CARD", "idDocSubType": "BACK_SIDE", "country": "FRA"})
    assert front.status_code == back.status_code == 200
    ids = [int(front.headers["X-Image-Id"]), int(back.headers["X-Image-Id"])]
    assert ids[0] != ids[1]
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"]["imageIds"] == ids


def test_add_id_doc_returns_warnings_when_asked(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart(PASSPORT_META, png())
    resp = kit.donor.request(
        "POST",
        f"/resources/applicants/{a['id']}/info/idDoc",
        data=body,
        headers={"Content-Type": ctype, "X-Return-Doc-Warnings": "true"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["errors"] == []


def test_add_empty_file_is_400_1003(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body = assert_sumsub_error(upload(kit, a["id"], PASSPORT_META, b""), 400, 1003)
    assert body["errorName"] == "empty-file"
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"] is None


def test_add_doc_type_not_in_level_is_409_1010(kit: Kit) -> None:
    a = create_applicant(kit.donor)  # basic-kyc-level: identity + selfie, no proof of residence
    body = assert_sumsub_error(upload(kit, a["id"], {"idDocType": "UTILITY_BILL", "country": "GBR"}), 409, 1010)
    assert body["errorName"] == "doc-type-not-in-req-docs"
    only_id = create_applicant(kit.donor, level="id-only")
    assert_sumsub_error(upload(kit, only_id["id"], {"idDocType": "ID_CARD", "country": "FRA"}), 409, 1010)
    assert_sumsub_error(upload(kit, only_id["id"], {"idDocType": "SELFIE"}), 409, 1010)


def test_same_image_twice_is_409_1000(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    image = png("same")
    assert upload(kit, a["id"], PASSPORT_META, image).status_code == 200
    body = assert_sumsub_error(upload(kit, a["id"], PASSPORT_META, image), 409, 1000)
    assert body["errorName"] == "duplicate-document"
    assert len(kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"]["imageIds"]) == 1


def test_same_image_for_another_applicant_is_not_a_duplicate(kit: Kit) -> None:
    image = png("shared")
    for _ in range(2):
        a = create_applicant(kit.donor)
        assert upload(kit, a["id"], PASSPORT_META, image).status_code == 200


def test_add_id_doc_with_bad_metadata_json_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(b"{not json", png())
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"idDocType": "SPACESHIP_LICENCE", "country": "GBR"},
        {"idDocType": "PASSPORT"},
        {"idDocType": "PASSPORT", "country": "GB"},
        {"idDocType": "PASSPORT", "country": "GBR", "idDocSubType": "SIDEWAYS"},
        {"idDocType": "PASSPORT", "country": "GBR", "number": 533401372},
    ],
)
def test_add_id_doc_with_invalid_metadata_is_400(kit: Kit, meta: dict[str, Any]) -> None:
    a = create_applicant(kit.donor)
    assert_sumsub_error(upload(kit, a["id"], meta), 400)
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"] is None


def test_add_id_doc_with_deeply_nested_metadata_is_400_not_500(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(b"[" * 100_000 + b"]" * 100_000, png())
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


def test_add_id_doc_with_metadata_that_is_not_an_object_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(b'["PASSPORT"]', png())
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


def test_add_id_doc_without_content_part_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), None)
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


# RFC 7578 makes a part's filename optional: sumsub-node-sdk sends `form.append("content", buffer)`, a part with no
# filename (Content-Type application/octet-stream). Its bytes are the image, whatever they are.
BINARY_IMAGE = b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x80 not utf-8 \r\n--sandbox\r\n\xc3\x28 \x00"


def post_multipart(kit: Kit, applicant_id: str, body: bytes, ctype: str) -> requests.Response:
    return kit.donor.request(
        "POST", f"/resources/applicants/{applicant_id}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )


@pytest.mark.parametrize("content_type", ["application/octet-stream", None])
def test_add_id_doc_reads_a_content_part_without_filename_as_the_exact_bytes(
    kit: Kit, content_type: str | None
) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), BINARY_IMAGE, None, content_type)

    resp = post_multipart(kit, a["id"], body, ctype)

    assert resp.status_code == 200, resp.text
    assert resp.json() == PASSPORT_META
    image_id = int(resp.headers["X-Image-Id"])
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"]["imageIds"] == [image_id]
    # The same bytes again, now as a named file, are the same image: nothing was decoded or lost on the way.
    again, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), BINARY_IMAGE, "passport.png")
    assert_sumsub_error(post_multipart(kit, a["id"], again, ctype), 409, 1000)


def test_add_id_doc_reads_a_large_content_part_without_filename(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    image = png() + bytes(range(256)) * 4096  # 1 MiB: more than a form field may hold in memory by default
    body, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), image, None, "application/octet-stream")

    resp = post_multipart(kit, a["id"], body, ctype)

    assert resp.status_code == 200, resp.text
    again, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), image)
    assert_sumsub_error(post_multipart(kit, a["id"], again, ctype), 409, 1000)


def test_add_id_doc_with_an_empty_content_part_without_filename_is_400_1003(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = _multipart_raw(json.dumps(PASSPORT_META).encode(), b"", None, "application/octet-stream")
    assert_sumsub_error(post_multipart(kit, a["id"], body, ctype), 400, 1003)


@pytest.mark.parametrize(
    "body",
    [
        b'--sandboxboundary7MA4YWxk\r\nContent-Disposition: form-data; name="content"\r\n\r\ncut short',
        b"no boundary at all",
        b"",
    ],
)
def test_add_id_doc_with_a_malformed_multipart_body_is_400(kit: Kit, body: bytes) -> None:
    a = create_applicant(kit.donor)
    assert_sumsub_error(
        post_multipart(kit, a["id"], body, "multipart/form-data; boundary=sandboxboundary7MA4YWxk"), 400
    )
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"] is None


def test_add_id_doc_multipart_without_boundary_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, _ = _multipart(PASSPORT_META, png())
    assert_sumsub_error(post_multipart(kit, a["id"], body, "multipart/form-data"), 400)


def test_add_id_doc_as_json_instead_of_multipart_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    resp = kit.donor.request("POST", f"/resources/applicants/{a['id']}/info/idDoc", json=PASSPORT_META)
    assert_sumsub_error(resp, 400)


def test_add_id_doc_after_final_reject_is_409_1009(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    assert kit.donor.test_completed(a["id"], "RED", ["FORGERY"], reviewRejectType="FINAL").status_code == 200
    body = assert_sumsub_error(upload(kit, a["id"], PASSPORT_META), 409, 1009)
    assert body["errorName"] == "applicant-with-final-reject"


# ---------------------------------------------------------------- status
def test_status_of_a_new_applicant_is_init_without_result(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    resp = kit.donor.review_status(a["id"])
    assert resp.status_code == 200, resp.text
    st = resp.json()
    assert st["reviewStatus"] == "init"
    assert st["levelName"] == "basic-kyc-level"
    assert st["attemptCnt"] == 0
    assert st["reviewId"] == a["review"]["reviewId"]
    assert REVIEW_DT.fullmatch(st["createDate"])
    assert "reviewResult" not in st and "reviewDate" not in st


def test_required_id_docs_status_has_one_key_per_level_step(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    assert kit.donor.required_id_docs_status(a["id"]).json() == {"IDENTITY": None, "SELFIE": None}
    edd = create_applicant(kit.donor, level="edd-level")
    assert set(kit.donor.required_id_docs_status(edd["id"]).json()) == {
        "IDENTITY",
        "SELFIE",
        "PROOF_OF_RESIDENCE",
        "QUESTIONNAIRE",
    }


# ---------------------------------------------------------------- request check (the SDKs' requestApplicantCheck)
def request_check(kit: Kit, applicant_id: str, reason: str = "") -> requests.Response:
    return kit.donor.request("POST", f"/resources/applicants/{applicant_id}/status/pending?reason={reason}")


def test_request_check_moves_a_documented_applicant_to_pending_then_review_completes_it(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    assert upload(kit, a["id"], PASSPORT_META).status_code == 200
    assert upload(kit, a["id"], {"idDocType": "SELFIE", "country": "GBR"}).status_code == 200

    resp = request_check(kit, a["id"], "docs-uploaded")

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": 1}
    st = kit.donor.review_status(a["id"]).json()
    assert st["reviewStatus"] == "pending"
    assert "reviewResult" not in st
    assert kit.donor.test_completed(a["id"], "GREEN").status_code == 200
    st = kit.donor.review_status(a["id"]).json()
    assert (st["reviewStatus"], st["reviewResult"]) == ("completed", {"reviewAnswer": "GREEN"})


def test_request_check_with_steps_missing_is_409_naming_them_and_changes_nothing(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    assert upload(kit, a["id"], PASSPORT_META).status_code == 200

    body = assert_sumsub_error(request_check(kit, a["id"]), 409)

    assert body["description"] == (
        "Not all required documents or data are submitted. Make sure to complete [SELFIE] verification steps "
        "beforehand."
    )
    assert kit.donor.review_status(a["id"]).json()["reviewStatus"] == "init"


def test_request_check_while_pending_is_409(kit: Kit) -> None:
    a = create_applicant(kit.donor, level="id-only")
    assert upload(kit, a["id"], PASSPORT_META).status_code == 200
    assert request_check(kit, a["id"]).status_code == 200
    assert_sumsub_error(request_check(kit, a["id"]), 409)
    assert kit.donor.review_status(a["id"]).json()["reviewStatus"] == "pending"


def test_request_check_of_a_resubmission_after_a_retry_reject_starts_a_new_check(kit: Kit) -> None:
    a = create_applicant(kit.donor, level="id-only")
    assert upload(kit, a["id"], PASSPORT_META).status_code == 200
    assert kit.donor.test_completed(a["id"], "RED", ["UNSATISFACTORY_PHOTOS"], reviewRejectType="RETRY").ok
    assert upload(kit, a["id"], PASSPORT_META, png("retake")).status_code == 200
    assert request_check(kit, a["id"]).status_code == 200
    st = kit.donor.review_status(a["id"]).json()
    assert st["reviewStatus"] == "pending" and "reviewResult" not in st


def test_request_check_for_unknown_or_foreign_applicant_is_404(kit: Kit) -> None:
    assert_sumsub_error(request_check(kit, "f" * 24), 404)
    theirs = create_applicant(kit.donor2, level="id-only")
    assert_sumsub_error(request_check(kit, theirs["id"]), 404)


# ---------------------------------------------------------------- sandbox review
def test_test_completed_green_completes_the_review(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    img = upload(kit, a["id"], PASSPORT_META).headers["X-Image-Id"]
    resp = kit.donor.test_completed(a["id"], "GREEN")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": 1}
    st = kit.donor.review_status(a["id"]).json()
    assert st["reviewStatus"] == "completed"
    assert st["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert REVIEW_DT.fullmatch(st["reviewDate"])
    assert st["attemptCnt"] == 1
    steps = kit.donor.required_id_docs_status(a["id"]).json()
    assert steps["IDENTITY"]["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert steps["IDENTITY"]["imageReviewResults"] == {img: {"reviewAnswer": "GREEN"}}
    assert steps["SELFIE"] is None
    assert kit.donor.get_applicant(a["id"]).json()["review"]["reviewStatus"] == "completed"


def test_test_completed_red_records_labels_and_reject_type(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    resp = kit.donor.test_completed(
        a["id"],
        "RED",
        ["UNSATISFACTORY_PHOTOS", "SCREENSHOTS"],
        reviewRejectType="RETRY",
        clientComment="Please retake",
        moderationComment="Blurry",
    )
    assert resp.status_code == 200, resp.text
    st = kit.donor.review_status(a["id"]).json()
    assert st["reviewStatus"] == "completed"
    assert st["reviewResult"] == {
        "reviewAnswer": "RED",
        "rejectLabels": ["UNSATISFACTORY_PHOTOS", "SCREENSHOTS"],
        "reviewRejectType": "RETRY",
        "clientComment": "Please retake",
        "moderationComment": "Blurry",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"rejectLabels": []},
        {"reviewAnswer": "YELLOW", "rejectLabels": []},
        {"reviewAnswer": "GREEN"},
        {"reviewAnswer": "GREEN", "rejectLabels": "none"},
        {"reviewAnswer": "RED", "rejectLabels": ["FORGERY"], "reviewRejectType": "MAYBE"},
    ],
)
def test_test_completed_with_invalid_body_is_400_and_leaves_review_alone(kit: Kit, body: dict[str, Any]) -> None:
    a = create_applicant(kit.donor)
    resp = kit.donor.request("POST", f"/resources/applicants/{a['id']}/status/testCompleted", json=body)
    assert_sumsub_error(resp, 400)
    assert kit.donor.review_status(a["id"]).json()["reviewStatus"] == "init"


def test_test_completed_for_unknown_applicant_is_404(kit: Kit) -> None:
    assert_sumsub_error(kit.donor.test_completed("f" * 24, "GREEN"), 404)


# ---------------------------------------------------------------- SDK token, health
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


# ---------------------------------------------------------------- bad bodies never 500
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


# ---------------------------------------------------------------- helpers
def _multipart(meta: dict[str, Any], content: bytes) -> tuple[bytes, str]:
    return _multipart_raw(json.dumps(meta).encode(), content)


def _multipart_raw(
    meta: bytes, content: bytes | None, filename: str | None = "doc.png", content_type: str | None = "image/png"
) -> tuple[bytes, str]:
    """A multipart body; `filename` / `content_type` None leave that header parameter / header out of `content`."""
    boundary = "sandboxboundary7MA4YWxk"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'.encode()
        + b"Content-Type: application/json\r\n\r\n"
        + meta
        + b"\r\n"
    ]
    if content is not None:
        disposition = 'form-data; name="content"' + (f'; filename="{filename}"' if filename is not None else "")
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            + (f"Content-Type: {content_type}\r\n" if content_type is not None else "").encode()
            + b"\r\n"
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
