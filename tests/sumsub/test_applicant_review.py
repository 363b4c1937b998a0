"""The Sumsub applicant API: review status, requesting a check, and the sandbox's review (`testCompleted`)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support import Kit
from tests.support.sumsub import PASSPORT_META, REVIEW_DT, assert_sumsub_error, create_applicant, png, upload


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
