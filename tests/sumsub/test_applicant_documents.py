"""The Sumsub applicant API: documents (`POST /resources/applicants/{id}/info/idDoc`, multipart)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.support import Kit
from tests.support.sumsub import PASSPORT_META, assert_sumsub_error, create_applicant, multipart_doc, png, upload


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
    body, ctype = multipart_doc(PASSPORT_META, png())
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
    body, ctype = multipart_doc(b"{not json", png())
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
    body, ctype = multipart_doc(b"[" * 100_000 + b"]" * 100_000, png())
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


def test_add_id_doc_with_metadata_that_is_not_an_object_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = multipart_doc(b'["PASSPORT"]', png())
    resp = kit.donor.request(
        "POST", f"/resources/applicants/{a['id']}/info/idDoc", data=body, headers={"Content-Type": ctype}
    )
    assert_sumsub_error(resp, 400)


def test_add_id_doc_without_content_part_is_400(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), None)
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
    body, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), BINARY_IMAGE, None, content_type)

    resp = post_multipart(kit, a["id"], body, ctype)

    assert resp.status_code == 200, resp.text
    assert resp.json() == PASSPORT_META
    image_id = int(resp.headers["X-Image-Id"])
    assert kit.donor.required_id_docs_status(a["id"]).json()["IDENTITY"]["imageIds"] == [image_id]
    # The same bytes again, now as a named file, are the same image: nothing was decoded or lost on the way.
    again, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), BINARY_IMAGE, "passport.png")
    assert_sumsub_error(post_multipart(kit, a["id"], again, ctype), 409, 1000)


def test_add_id_doc_reads_a_large_content_part_without_filename(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    image = png() + bytes(range(256)) * 4096  # 1 MiB: more than a form field may hold in memory by default
    body, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), image, None, "application/octet-stream")

    resp = post_multipart(kit, a["id"], body, ctype)

    assert resp.status_code == 200, resp.text
    again, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), image)
    assert_sumsub_error(post_multipart(kit, a["id"], again, ctype), 409, 1000)


def test_add_id_doc_with_an_empty_content_part_without_filename_is_400_1003(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    body, ctype = multipart_doc(json.dumps(PASSPORT_META).encode(), b"", None, "application/octet-stream")
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
    body, _ = multipart_doc(PASSPORT_META, png())
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
