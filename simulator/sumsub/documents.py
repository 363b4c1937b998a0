"""Sumsub documents and review: uploading an ID document image, and the sandbox review (`testCompleted`)."""

from __future__ import annotations

import hashlib
from typing import Any

from simulator.core.clock import sumsub_review_datetime
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.sumsub import errors as e
from simulator.sumsub import queries as q
from simulator.sumsub.applicants import Applicants, json_copy
from simulator.sumsub.auth import Workspaces
from simulator.sumsub.levels import ALL_DOC_TYPES, IDENTITY_TYPES, STEP_OF_TYPE, SUB_TYPES
from simulator.sumsub.notify import Notifier

MAX_FILE_BYTES = 64 * 1024 * 1024
REVIEW_ANSWERS = ("GREEN", "RED")
REJECT_TYPES = ("FINAL", "RETRY")
DOC_META_FIELDS = (
    "idDocType",
    "idDocSubType",
    "country",
    "firstName",
    "firstNameEn",
    "middleName",
    "lastName",
    "lastNameEn",
    "issuedDate",
    "validUntil",
    "number",
    "dob",
    "placeOfBirth",
)
# What an identity document's metadata fills in `info` (as Sumsub's extraction would) when info lacks it.
_INFO_FROM_DOCUMENT = ("firstName", "firstNameEn", "middleName", "lastName", "lastNameEn", "dob", "placeOfBirth")


def completed_review(a: q.ApplicantRow, result: dict[str, Any], now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The applicant's review and steps once a review with `result` completes (new values; `a` is unchanged)."""
    review = json_copy(a.review)
    review["attemptCnt"] = int(review.get("attemptCnt", 0)) + 1
    review["reviewStatus"] = "completed"
    review["reviewResult"] = result
    review["reviewDate"] = sumsub_review_datetime(now)
    review.setdefault("createDate", sumsub_review_datetime(now))
    steps = json_copy(a.steps)
    for step in steps.values():
        if step is None:
            continue
        step["reviewResult"] = {"reviewAnswer": result["reviewAnswer"]}
        for img in step.get("imageReviewResults", {}):
            step["imageReviewResults"][img] = {"reviewAnswer": result["reviewAnswer"]}
    return review, steps


class Documents:
    def __init__(self, rt: Runtime, workspaces: Workspaces, applicants: Applicants, notifier: Notifier) -> None:
        self.rt = rt
        self.workspaces = workspaces
        self.applicants = applicants
        self.notifier = notifier

    # ------------------------------------------------------------------ documents
    def add_id_doc(
        self,
        tx: Tx,
        client: q.ClientRef,
        applicant_id: str,
        metadata: Any,
        content: bytes | None,
        file_name: str | None,
        content_type: str | None,
    ) -> tuple[dict[str, Any], int]:
        """Attach one document image; returns the metadata Sumsub echoes and the new X-Image-Id."""
        a = self.applicants.get(tx, client, applicant_id, for_update=True)
        return self.add_id_doc_to(tx, a, metadata, content, file_name, content_type)

    def add_id_doc_to(
        self,
        tx: Tx,
        a: q.ApplicantRow,
        metadata: Any,
        content: bytes | None,
        file_name: str | None,
        content_type: str | None,
    ) -> tuple[dict[str, Any], int]:
        """`add_id_doc` for an applicant already read for update in this transaction (its row is updated too)."""
        doc_type, sub_type, country = _checked_metadata(metadata)
        data = _checked_content(content)
        result = a.review.get("reviewResult") or {}
        if a.review.get("reviewStatus") == "completed" and result.get("reviewRejectType") == "FINAL":
            raise e.SumsubError(
                "Applicant has a final reject", status=409, error_code=1009, error_name="applicant-with-final-reject"
            )
        level = self.workspaces.level_or_400(tx, a.level_name)
        step = STEP_OF_TYPE.get(doc_type)
        step_def = level.step(step) if step else None
        if step_def is None or doc_type not in step_def.get("types", []):
            raise e.SumsubError(
                f"Document type {doc_type} is not in the required documents of level {a.level_name}",
                status=409,
                error_code=1010,
                error_name="doc-type-not-in-req-docs",
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest in q.document_digests(tx, a.id):
            raise e.SumsubError("Duplicate document", status=409, error_code=1000, error_name="duplicate-document")
        clean = {k: metadata[k] for k in DOC_META_FIELDS if metadata.get(k) is not None}
        image_id = self.rt.ids.image_id()
        while q.image_ids_taken(tx, [image_id]):
            image_id = self.rt.ids.image_id()
        q.insert_documents(
            tx,
            [
                {
                    "image_id": image_id,
                    "applicant_id": a.id,
                    "id_doc_type": doc_type,
                    "id_doc_sub_type": sub_type,
                    "country": country,
                    "meta": {**clean, "sha256": digest, "size": len(data)},
                    "file_name": file_name,
                    "content_type": content_type,
                    "content": data,
                    "created_at": self.rt.clock.now(tx),
                }
            ],
        )
        _record_doc(a, step or "IDENTITY", clean, image_id)
        q.save_applicant(tx, a, "info", "steps")
        return clean, image_id

    # ------------------------------------------------------------------ review
    def test_completed(self, tx: Tx, client: q.ClientRef, applicant_id: str, body: Any) -> None:
        """Sandbox review: `{reviewAnswer, rejectLabels, reviewRejectType?, clientComment?, moderationComment?}`."""
        a = self.applicants.get(tx, client, applicant_id, for_update=True)
        self.complete_review(tx, a, review_result(body))

    def complete_review(self, tx: Tx, a: q.ApplicantRow, result: dict[str, Any]) -> None:
        """The review completes with `result` (stored, and notified to the client's webhook)."""
        a.review, a.steps = completed_review(a, result, self.rt.clock.now(tx))
        q.save_applicant(tx, a, "review", "steps")
        self.notifier.notify(tx, a, "applicantReviewed")


def review_result(body: Any) -> dict[str, Any]:
    """A `testCompleted` body as the review result it sets."""
    if not isinstance(body, dict):
        raise e.bad_request("Request body must be a JSON object")
    answer = body.get("reviewAnswer")
    if answer not in REVIEW_ANSWERS:
        raise e.bad_request("reviewAnswer is required: GREEN or RED")
    labels = body.get("rejectLabels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise e.bad_request("rejectLabels is required: a list of strings (empty for GREEN)")
    result: dict[str, Any] = {"reviewAnswer": answer}
    if answer == "RED":
        reject_type = body.get("reviewRejectType", "RETRY")
        if reject_type not in REJECT_TYPES:
            raise e.bad_request("reviewRejectType must be FINAL or RETRY")
        result["rejectLabels"] = labels
        result["reviewRejectType"] = reject_type
        for k in ("clientComment", "moderationComment"):
            if isinstance(body.get(k), str):
                result[k] = body[k]
    return result


def _checked_metadata(metadata: Any) -> tuple[str, str | None, str | None]:
    """The metadata part's (idDocType, idDocSubType, country), or Sumsub's 400."""
    if not isinstance(metadata, dict):
        raise e.bad_request("metadata part is required: a JSON object with idDocType and country")
    doc_type = metadata.get("idDocType")
    if doc_type not in ALL_DOC_TYPES:
        raise e.bad_request(f"idDocType must be one of {', '.join(ALL_DOC_TYPES)}")
    sub_type = metadata.get("idDocSubType")
    if sub_type is not None and sub_type not in SUB_TYPES:
        raise e.bad_request(f"idDocSubType must be one of {', '.join(SUB_TYPES)}")
    country = metadata.get("country")
    if doc_type in IDENTITY_TYPES and (not isinstance(country, str) or len(country) != 3):
        raise e.bad_request("country is required for identity documents: an ISO 3166-1 alpha-3 code")
    for k in DOC_META_FIELDS:
        if k in metadata and metadata[k] is not None and not isinstance(metadata[k], str):
            raise e.bad_request(f"metadata.{k} must be a string")
    return str(doc_type), sub_type, country if isinstance(country, str) else None


def _checked_content(content: bytes | None) -> bytes:
    if content is None:
        raise e.bad_request("content part is required: the document image")
    if len(content) == 0:
        raise e.SumsubError("Empty file", status=400, error_code=1003, error_name="empty-file")
    if len(content) > MAX_FILE_BYTES:
        raise e.SumsubError("File is too big", status=400, error_code=1002, error_name="file-too-big")
    return content


def _record_doc(a: q.ApplicantRow, step: str, meta: dict[str, Any], image_id: int) -> None:
    """Fold an upload into `info` (as Sumsub's extraction would) and the step's status."""
    info = json_copy(a.info)
    doc_type = meta["idDocType"]
    if doc_type in IDENTITY_TYPES:
        docs = [d for d in info.get("idDocs", []) if d.get("idDocType") != doc_type]
        merged: dict[str, Any] = next((d for d in info.get("idDocs", []) if d.get("idDocType") == doc_type), {})
        merged = {**merged, **{k: v for k, v in meta.items() if k != "idDocSubType"}}
        for k in ("firstName", "lastName"):
            if k in merged and f"{k}En" not in merged:
                merged[f"{k}En"] = merged[k]
        docs.append(merged)
        info["idDocs"] = docs
        for k in _INFO_FROM_DOCUMENT:
            if merged.get(k) and not info.get(k):
                info[k] = merged[k]
        if merged.get("country"):
            info.setdefault("country", merged["country"])
            if doc_type == "PASSPORT":
                info.setdefault("nationality", merged["country"])
    a.info = info
    steps = json_copy(a.steps)
    cur = steps.get(step) or {"idDocType": doc_type, "imageIds": [], "imageReviewResults": {}}
    if meta.get("country"):
        cur["country"] = meta["country"]
    cur["idDocType"] = doc_type
    cur["imageIds"] = [*cur.get("imageIds", []), image_id]
    cur.setdefault("imageReviewResults", {})[str(image_id)] = {}
    steps[step] = cur
    a.steps = steps
