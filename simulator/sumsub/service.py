"""The Sumsub backend: workspaces, applicants, documents, review, share tokens and their redemption.

No Flask here. Every public method takes an open store session (one transaction) and raises `SumsubError`.
"""

from __future__ import annotations

import copy
import hashlib
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from simulator.core.clock import sumsub_datetime, sumsub_review_datetime
from simulator.core.runtime import Runtime
from simulator.core.store import (
    FastQuery,
    deferred_values,
    detached_row,
    execute_in,
    fetch_all_in,
    fetch_in,
    insert_now,
    insert_rows,
    locked_get,
)
from simulator.core.text import unstorable
from simulator.sumsub import errors as e
from simulator.sumsub.levels import ALL_DOC_TYPES, IDENTITY_TYPES, STEP_OF_TYPE, SUB_TYPES
from simulator.sumsub.models import Applicant, IdDoc, Level, Partnership, ShareToken, SumsubClient
from simulator.sumsub.signing import signature, signatures_match
from simulator.webhooks.service import Webhooks

_Row = TypeVar("_Row", Level, SumsubClient)

MAX_TOKEN_LENGTH = 1024
# `reuseScope` on the first webhook about a redeemed applicant: the one value Sumsub documents (Copy Applicant's),
# sent for every redemption path (import, reuse, Dakota's import), since none other is documented.
REUSE_SCOPE = "importApiShareToken"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TTL_SECONDS = 2**31 - 1  # ttlInSecs is an int32 in Sumsub's API
REVIEW_ANSWERS = ("GREEN", "RED")
# Review statuses from which a check cannot be requested again (docs: request-applicant-check).
CHECK_IN_PROGRESS = ("pending", "queued", "prechecked")
REJECT_TYPES = ("FINAL", "RETRY")
INFO_STRING_FIELDS = (
    "firstName",
    "firstNameEn",
    "middleName",
    "middleNameEn",
    "lastName",
    "lastNameEn",
    "legalName",
    "gender",
    "dob",
    "placeOfBirth",
    "placeOfBirthEn",
    "countryOfBirth",
    "stateOfBirth",
    "country",
    "nationality",
    "tin",
    "phone",
    "email",
)
ADDRESS_FIELDS = (
    "street",
    "streetEn",
    "subStreet",
    "subStreetEn",
    "buildingName",
    "buildingNumber",
    "flatNumber",
    "town",
    "townEn",
    "state",
    "stateEn",
    "postCode",
    "country",
    "formattedAddress",
)
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


class ShareTokenError(e.SumsubError):
    """A share-token failure, with a machine reason the Dakota importer turns into its row text."""

    def __init__(self, reason: str, error: e.SumsubError) -> None:
        super().__init__(
            error.description,
            status=error.status,
            error_code=error.error_code,
            error_name=error.error_name,
            type_=error.type_,
        )
        self.reason = reason


@dataclass
class Redemption:
    """What redeeming a share token produced in the recipient's workspace."""

    applicant: Applicant
    donor: Applicant
    documents_requested: bool
    documents: tuple[_DonorDoc, ...] = ()  # the new applicant's documents (IdDoc's columns), in image id order


# Core statements of the redemption hot path, built once (the ORM's per-row overhead cost more than the SQL).
_TOKENS = cast(Table, ShareToken.__table__)
_APPLICANTS = cast(Table, Applicant.__table__)
_DOCS = cast(Table, IdDoc.__table__)
_TOKEN_FIELDS = ("applicant_id", "for_client_id", "ttl_seconds", "created_at", "expires_at", "redeemed_at")
_APPLICANT_COLUMNS = tuple(c.key for c in _APPLICANTS.columns)
_DOC_COPY_COLUMNS = ("id_doc_type", "id_doc_sub_type", "country", "meta", "file_name", "content_type", "content")


class _DonorDoc(NamedTuple):
    """One of the donor's documents, as the token read returns it (the fields are IdDoc's columns)."""

    image_id: int
    id_doc_type: str
    id_doc_sub_type: str | None
    country: str | None
    meta: dict[str, Any]
    file_name: str | None
    content_type: str | None
    content: bytes


assert _DonorDoc._fields == ("image_id", *_DOC_COPY_COLUMNS)
_DONOR_AT = len(_TOKEN_FIELDS)
_DOCS_AT = _DONOR_AT + len(_APPLICANT_COLUMNS)
# The token, its donor and the donor's documents (in image id order) in one read: a row per document.
_TOKEN_READ = FastQuery(
    select(
        *(_TOKENS.c[k] for k in _TOKEN_FIELDS),
        *(_APPLICANTS.c[k].label(f"a_{k}") for k in _APPLICANT_COLUMNS),
        *(_DOCS.c[k].label(f"d_{k}") for k in _DonorDoc._fields),
    )
    .select_from(
        _TOKENS.outerjoin(_APPLICANTS, _APPLICANTS.c.id == _TOKENS.c.applicant_id).outerjoin(
            _DOCS, _DOCS.c.applicant_id == _APPLICANTS.c.id
        )
    )
    .where(_TOKENS.c.token == bindparam("p_token"))
    .order_by(_DOCS.c.image_id),
    decode=True,
)
_TokenRow = namedtuple(  # type: ignore[misc]  # the token read's row, by column label
    "_TokenRow",
    [c.key for c in _TOKEN_READ.stmt.selected_columns],  # type: ignore[attr-defined]
)
_SPEND = FastQuery(
    update(_TOKENS)
    .where(_TOKENS.c.token == bindparam("p_token"), _TOKENS.c.redeemed_at.is_(None))
    .values(
        redeemed_at=bindparam("p_at"),
        redeemed_by=bindparam("p_by"),
        redeemed_applicant_id=bindparam("p_applicant"),
    )
)
_APPLICANT_DOC_METAS = FastQuery(
    select(_DOCS.c.meta).where(_DOCS.c.applicant_id == bindparam("p_applicant")), decode=True
)
_IMAGE_ID_TAKEN = FastQuery(select(_DOCS.c.image_id).where(_DOCS.c.image_id == bindparam("p_id")))
# What building an applicant step by step changes in it (`write_back`).
_WRITTEN_BACK = ("info", "review", "steps", "questionnaires")
_WRITE_BACK = FastQuery(
    update(_APPLICANTS)
    .where(_APPLICANTS.c.id == bindparam("p_id"))
    .values({k: bindparam(k, type_=_APPLICANTS.c[k].type) for k in _WRITTEN_BACK})
)
# Applicants are written with raw statements (never left pending in the session), so this raw read sees every
# stored one.
_APPLICANT_BY_EXTERNAL_ID = FastQuery(
    select(_APPLICANTS.c.id).where(
        _APPLICANTS.c.client_id == bindparam("client_id"), _APPLICANTS.c.external_user_id == bindparam("ext")
    )
)


# The last share token a transaction spent. A caller running several redemptions in one transaction without
# savepoints (the bulk import) checks it: a failure after the spend must fail the whole transaction.
SPENT_TOKEN = "sumsub_spent_token"


def _all_copies(model: type[_Row], session: Session) -> dict[str, _Row]:
    """Every row of a reference table (levels, clients), by primary key, as objects that belong to no session: they
    are kept between transactions (a rollback expires a session's objects, and an expired one cannot load again
    outside it)."""
    table = cast(Table, model.__table__)
    (pk,) = table.primary_key.columns
    return {row[pk.key]: detached_row(model, dict(row)) for row in session.execute(select(table)).mappings()}


def _all_partnerships(session: Session) -> frozenset[tuple[str, str]]:
    pairs = select(Partnership.donor_client_id, Partnership.recipient_client_id)
    return frozenset((d, r) for d, r in session.execute(pairs))


def _applicant(**values: Any) -> Applicant:
    """A new applicant row's object (written with a raw INSERT): `Applicant(**values)` without its cost."""
    return detached_row(Applicant, values)


def _same(value: Any) -> Any:
    return value


def _json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): `copy.deepcopy` without its memo bookkeeping."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def java_date(epoch: float) -> str:
    """The date format of Sumsub's Java error texts: 'Tue Dec 02 08:27:46 UTC 2025'."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


class SumsubService:
    def __init__(self, rt: Runtime, webhooks: Webhooks | None = None) -> None:
        self.rt = rt
        self.webhooks = webhooks

    def _notify(self, session: Session, a: Applicant, event_type: str, reuse_scope: str | None = None) -> None:
        """Queue a webhook to the applicant's workspace, if that client configured a webhook URL."""
        if self.webhooks is None:
            return
        client = self.client_ref(session, a.client_id)
        if client is not None:
            self.webhooks.emit_sumsub(session, client, a, event_type, reuse_scope)

    # ------------------------------------------------------------------ auth
    def authenticate(
        self,
        session: Session,
        *,
        app_token: str | None,
        ts: str | None,
        sig: str | None,
        method: str,
        path_with_query: str,
        body: bytes,
    ) -> SumsubClient:
        """Check the X-App-* headers; 401 with 4000 / 4003 / 4004 as Sumsub answers."""
        if not app_token:
            raise e.SumsubError(
                "App token is required (X-App-Token header is missing)",
                status=401,
                error_code=4000,
                error_name="app-token-invalid-format",
            )
        client = session.scalar(select(SumsubClient).where(SumsubClient.app_token == app_token))
        if client is None:
            raise e.SumsubError(
                "App token is invalid: no such token",
                status=401,
                error_code=4000,
                error_name="app-token-invalid-format",
            )
        if not ts or not ts.strip().isascii() or not ts.strip().isdigit():  # '²'.isdigit() is True
            raise e.SumsubError(
                "X-App-Access-Ts doesn't match to the number of seconds since Unix Epoch in UTC",
                status=401,
                error_code=4004,
                error_name="app-token-request-expired",
            )
        window = self.rt.settings.signature_window_seconds
        if abs(self.rt.clock.wall() - int(ts)) > window:
            raise e.SumsubError(
                f"Request signature expired: X-App-Access-Ts {ts} is more than {window}s from server time",
                status=401,
                error_code=4004,
                error_name="app-token-request-expired",
            )
        expected = signature(client.secret_key, ts.strip(), method, path_with_query, body)
        if not sig or not signatures_match(expected, sig):
            raise e.SumsubError(
                "Request signature mismatch",
                status=401,
                error_code=4003,
                error_name="app-token-signature-mismatch",
            )
        return client

    def client_ref(self, session: Session, client_id: str) -> SumsubClient | None:
        """A Sumsub client for reading only: kept per process until the change signal moves (configuring a
        client's webhook moves it); never change the object returned."""
        return self._reference(session, SumsubClient, client_id)

    def _reference(self, session: Session, model: type[_Row], pk: str) -> _Row | None:
        # The whole (small, seeded) table in one cache entry: one entry per name asked for would let callers
        # with made-up names grow the cache without bound.
        rows = self.rt.store.cached(session, f"sumsub_refs:{model.__tablename__}", partial(_all_copies, model))
        return rows.get(pk)

    def partnerships(self, session: Session) -> frozenset[tuple[str, str]]:
        """Every (donor, recipient) agreement (seed data): kept per process until the change signal moves."""
        return self.rt.store.cached(session, "sumsub_partnerships", _all_partnerships)

    # ------------------------------------------------------------------ levels
    def level_ref(self, session: Session, name: str) -> Level | None:
        """A level (seed data, never changed at run time): kept per process until the change signal moves."""
        return self._reference(session, Level, name)

    def level(self, session: Session, name: str) -> Level:
        """`level_ref`, or Sumsub's 400 when there is no such level."""
        lvl = self.level_ref(session, name)
        if lvl is None:
            raise e.bad_request(f"Level '{name}' not found")
        return lvl

    # ------------------------------------------------------------------ applicants
    def create_applicant(self, session: Session, client: SumsubClient, level_name: str | None, body: Any) -> Applicant:
        if not level_name:
            raise e.bad_request("levelName query parameter is required")
        level = self.level(session, level_name)
        if not isinstance(body, dict):
            raise e.bad_request("Request body must be a JSON object")
        ext = body.get("externalUserId")
        if not isinstance(ext, str) or not ext.strip() or len(ext) > 256:
            raise e.bad_request("externalUserId is required: a non-empty string of at most 256 characters")
        existing = fetch_in(session, _APPLICANT_BY_EXTERNAL_ID, client_id=client.client_id, ext=ext)
        if existing is not None:
            raise e.SumsubError(f"Applicant with external user id '{ext}' already exists: {existing[0]}", status=409)
        a_type = body.get("type", "individual")
        if a_type not in ("individual", "company"):
            raise e.bad_request("type must be 'individual' or 'company'")
        fixed_info = _clean_info(body.get("fixedInfo", {}), "fixedInfo")
        email = _opt_str(body.get("email"), "email")
        phone = _opt_str(body.get("phone"), "phone")
        lang = _opt_str(body.get("lang"), "lang")
        now = self.rt.clock.now(session)
        applicant = _applicant(
            id=self.rt.ids.sumsub_id(),
            client_id=client.client_id,
            external_user_id=ext,
            inspection_id=self.rt.ids.sumsub_id(),
            level_name=level.name,
            type=a_type,
            email=email,
            phone=phone,
            lang=lang,
            info={},
            fixed_info=fixed_info,
            review=self._new_review(level.name, now),
            steps={},
            questionnaires=[],
            active=1,
            created_at=now,
        )
        # A Core INSERT now (as the flush did), then the object joins the session as that persistent row.
        insert_now(session, _APPLICANTS, {k: getattr(applicant, k) for k in _APPLICANT_COLUMNS})
        make_transient_to_detached(applicant)
        session.add(applicant)
        self._notify(session, applicant, "applicantCreated")
        return applicant

    def write_back(self, session: Session, a: Applicant) -> None:
        """Store what building `a` step by step changed (info, review, steps, questionnaires) with one raw UPDATE,
        and let the session forget it: the unit of work's flush of one dirty object costs several times the
        statement. Any other change to it still flushes as usual (the session then keeps it)."""
        execute_in(session, _WRITE_BACK, {"p_id": a.id, **{k: getattr(a, k) for k in _WRITTEN_BACK}})
        for k in _WRITTEN_BACK:
            set_committed_value(a, k, getattr(a, k))
        if not session.is_modified(a):
            session.expunge(a)

    def _new_review(self, level_name: str, now: float) -> dict[str, Any]:
        return {
            "reviewId": self.rt.ids.review_id(),
            "attemptId": self.rt.ids.review_id(),
            "attemptCnt": 0,
            "levelName": level_name,
            "createDate": sumsub_review_datetime(now),
            "reviewStatus": "init",
            "priority": 0,
        }

    def get_applicant(self, session: Session, client: SumsubClient, applicant_id: str) -> Applicant:
        a = locked_get(session, Applicant, applicant_id) if len(applicant_id) <= 64 else None
        if a is None or a.client_id != client.client_id:
            raise e.not_found()
        return a

    def get_by_external_id(self, session: Session, client: SumsubClient, external_user_id: str) -> Applicant:
        a = session.scalar(
            select(Applicant).where(
                Applicant.client_id == client.client_id, Applicant.external_user_id == external_user_id
            )
        )
        if a is None:
            raise e.not_found()
        return a

    def applicant_dict(self, session: Session, a: Applicant, *, copy_values: bool = True) -> dict[str, Any]:
        """The applicant as Sumsub's API shows it. `copy_values=False` shares the row's JSON values instead of
        deep-copying them: only for a caller that reads the result and throws it away."""
        dup: Any = copy.deepcopy if copy_values else _same
        level = self.level_ref(session, a.level_name)
        client = self.client_ref(session, a.client_id)
        out: dict[str, Any] = {
            "id": a.id,
            "createdAt": sumsub_datetime(a.created_at),
            "key": client.key if client else "",
            "clientId": a.client_id,
            "inspectionId": a.inspection_id,
            "externalUserId": a.external_user_id,
        }
        if a.email:
            out["email"] = a.email
        if a.phone:
            out["phone"] = a.phone
        if a.lang:
            out["lang"] = a.lang
        out["applicantPlatform"] = "API"
        if a.fixed_info:
            out["fixedInfo"] = dup(a.fixed_info)
        out["info"] = dup(a.info)
        out["requiredIdDocs"] = {"docSets": dup(level.doc_sets) if level else []}
        out["review"] = dup(a.review)
        if a.questionnaires:
            out["questionnaires"] = dup(a.questionnaires)
        out["type"] = a.type
        return out

    def status_dict(self, a: Applicant) -> dict[str, Any]:
        keys = (
            "reviewId",
            "attemptId",
            "attemptCnt",
            "levelName",
            "createDate",
            "reviewDate",
            "reviewResult",
            "reviewStatus",
            "priority",
        )
        return {k: copy.deepcopy(a.review[k]) for k in keys if k in a.review}

    def required_id_docs_status(self, session: Session, a: Applicant) -> dict[str, Any]:
        level = self.level(session, a.level_name)
        out: dict[str, Any] = {}
        for step in level.step_types():
            out[step] = copy.deepcopy(a.steps.get(step))
        return out

    # ------------------------------------------------------------------ documents
    def add_id_doc(
        self,
        session: Session,
        client: SumsubClient,
        applicant_id: str,
        metadata: Any,
        content: bytes | None,
        file_name: str | None,
        content_type: str | None,
    ) -> tuple[dict[str, Any], int]:
        """Attach one document image; returns the metadata Sumsub echoes and the new X-Image-Id."""
        a = self.get_applicant(session, client, applicant_id)
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
        if content is None:
            raise e.bad_request("content part is required: the document image")
        if len(content) == 0:
            raise e.SumsubError("Empty file", status=400, error_code=1003, error_name="empty-file")
        if len(content) > MAX_FILE_BYTES:
            raise e.SumsubError("File is too big", status=400, error_code=1002, error_name="file-too-big")
        if (
            a.review.get("reviewStatus") == "completed"
            and a.review.get("reviewResult", {}).get("reviewRejectType") == "FINAL"
        ):
            raise e.SumsubError(
                "Applicant has a final reject",
                status=409,
                error_code=1009,
                error_name="applicant-with-final-reject",
            )
        level = self.level(session, a.level_name)
        step = STEP_OF_TYPE.get(doc_type)
        step_def = level.step(step) if step else None
        if step_def is None or doc_type not in step_def.get("types", []):
            raise e.SumsubError(
                f"Document type {doc_type} is not in the required documents of level {a.level_name}",
                status=409,
                error_code=1010,
                error_name="doc-type-not-in-req-docs",
            )
        digest = hashlib.sha256(content).hexdigest()
        # Core reads (only the stored metadata, not every image's bytes) see the database: pending new rows go
        # first. Pending changes to existing rows (this applicant's steps) cannot matter to them: they wait.
        if session.new:
            session.flush()
        for (meta,) in fetch_all_in(session, _APPLICANT_DOC_METAS, p_applicant=a.id):
            if meta.get("sha256") == digest:
                raise e.SumsubError("Duplicate document", status=409, error_code=1000, error_name="duplicate-document")
        clean = {k: metadata[k] for k in DOC_META_FIELDS if metadata.get(k) is not None}
        image_id = self.rt.ids.image_id()
        while fetch_in(session, _IMAGE_ID_TAKEN, p_id=image_id) is not None:
            image_id = self.rt.ids.image_id()
        insert_now(
            session,
            _DOCS,
            {
                "image_id": image_id,
                "applicant_id": a.id,
                "id_doc_type": doc_type,
                "id_doc_sub_type": sub_type,
                "country": country if isinstance(country, str) else None,
                "meta": {**clean, "sha256": digest, "size": len(content)},
                "file_name": file_name,
                "content_type": content_type,
                "content": content,
                "created_at": self.rt.clock.now(session),
            },
        )
        self._record_doc(a, step or "IDENTITY", clean, image_id)
        return clean, image_id

    def _record_doc(self, a: Applicant, step: str, meta: dict[str, Any], image_id: int) -> None:
        """Fold an upload into `info` (as Sumsub's extraction would) and the step's status."""
        info = _json_copy(a.info)
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
            for k in (
                "firstName",
                "firstNameEn",
                "middleName",
                "lastName",
                "lastNameEn",
                "dob",
                "placeOfBirth",
            ):
                if merged.get(k) and not info.get(k):
                    info[k] = merged[k]
            if merged.get("country"):
                info.setdefault("country", merged["country"])
                if doc_type == "PASSPORT":
                    info.setdefault("nationality", merged["country"])
        a.info = info
        steps = _json_copy(a.steps)
        cur = steps.get(step) or {"idDocType": doc_type, "imageIds": [], "imageReviewResults": {}}
        if meta.get("country"):
            cur["country"] = meta["country"]
        cur["idDocType"] = doc_type
        cur["imageIds"] = [*cur.get("imageIds", []), image_id]
        cur.setdefault("imageReviewResults", {})[str(image_id)] = {}
        steps[step] = cur
        a.steps = steps

    # ------------------------------------------------------------------ review
    def request_check(self, session: Session, client: SumsubClient, applicant_id: str) -> None:
        """`POST .../status/pending`: the applicant, every step of its level done, goes to review (`pending`)."""
        a = self.get_applicant(session, client, applicant_id)
        status = a.review.get("reviewStatus")
        if status in CHECK_IN_PROGRESS:
            raise e.SumsubError(f"Applicant is already in {status} status: a check is in progress", status=409)
        level = self.level(session, a.level_name)
        missing = [
            step
            for step in level.step_types()
            if (step == "QUESTIONNAIRE" and not a.questionnaires)
            or (step not in ("QUESTIONNAIRE", "APPLICANT_DATA") and not a.steps.get(step))
        ]
        if missing:
            raise e.SumsubError(
                "Not all required documents or data are submitted. Make sure to complete "
                f"[{', '.join(missing)}] verification steps beforehand.",
                status=409,
            )
        review = _json_copy(a.review)
        review.pop("reviewResult", None)
        review["reviewStatus"] = "pending"
        review["attemptId"] = self.rt.ids.review_id()
        review["startDate"] = sumsub_review_datetime(self.rt.clock.now(session))
        a.review = review
        self._notify(session, a, "applicantPending")

    def test_completed(self, session: Session, client: SumsubClient, applicant_id: str, body: Any) -> None:
        """Sandbox review: `{reviewAnswer, rejectLabels, reviewRejectType?, clientComment?, moderationComment?}`."""
        a = self.get_applicant(session, client, applicant_id)
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
        self.complete_review(session, a, result)

    def complete_review(self, session: Session, a: Applicant, result: dict[str, Any], *, notify: bool = True) -> None:
        now = self.rt.clock.now(session)
        review = _json_copy(a.review)
        review["attemptCnt"] = int(review.get("attemptCnt", 0)) + 1
        review["reviewStatus"] = "completed"
        review["reviewResult"] = result
        review["reviewDate"] = sumsub_review_datetime(now)
        review.setdefault("createDate", sumsub_review_datetime(now))
        a.review = review
        steps = _json_copy(a.steps)
        for step in steps.values():
            if step is None:
                continue
            step["reviewResult"] = {"reviewAnswer": result["reviewAnswer"]}
            for img in step.get("imageReviewResults", {}):
                step["imageReviewResults"][img] = {"reviewAnswer": result["reviewAnswer"]}
        a.steps = steps
        if notify:
            self._notify(session, a, "applicantReviewed")

    def sdk_access_token(self, session: Session, client: SumsubClient, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise e.bad_request("Request body must be a JSON object")
        user_id = body.get("userId")
        level_name = body.get("levelName")
        if not isinstance(user_id, str) or not user_id:
            raise e.bad_request("userId is required")
        if not isinstance(level_name, str) or not level_name:
            raise e.bad_request("levelName is required")
        self.level(session, level_name)
        ttl = body.get("ttlInSecs", 600)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise e.bad_request("ttlInSecs must be a positive integer")
        return {"token": f"_act-sbx-jwt-{self.rt.ids.hex(40)}", "userId": user_id}

    # ------------------------------------------------------------------ share tokens
    def generate_share_token(
        self, session: Session, client: SumsubClient, applicant_id: Any, for_client_id: Any, ttl: Any
    ) -> dict[str, Any]:
        """Mint a single-use share token of the donor's applicant for `forClientId`."""
        return self.mint_share_token(session, client, applicant_id, for_client_id, ttl)[0]

    def mint_share_token(
        self, session: Session, client: SumsubClient, applicant_id: Any, for_client_id: Any, ttl: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`generate_share_token`, also returning the new (pending) token row's columns."""
        if not isinstance(applicant_id, str) or not applicant_id:
            raise e.bad_request("applicantId is required")
        if not isinstance(for_client_id, str) or not for_client_id:
            raise e.bad_request("forClientId is required")
        if ttl is None:
            ttl = self.rt.settings.share_token_default_ttl
        if isinstance(ttl, str) and ttl.strip().lstrip("-").isdigit():
            ttl = int(ttl)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 < ttl <= MAX_TTL_SECONDS:
            raise e.bad_request("ttlInSecs must be a positive integer number of seconds (int32)")
        a = self.get_applicant(session, client, applicant_id)
        if (client.client_id, for_client_id) not in self.partnerships(session):
            raise e.reuse_error(10501, f"Client '{for_client_id}' is not in your partners list")
        now = self.rt.clock.now(session)
        token = self.rt.ids.share_token(self.rt.settings.resolved_base_url)
        values = {
            "token": token,
            "donor_client_id": client.client_id,
            "applicant_id": a.id,
            "for_client_id": for_client_id,
            "ttl_seconds": ttl,
            "created_at": now,
            "expires_at": now + ttl,
            "redeemed_at": None,
            "redeemed_by": None,
            "redeemed_applicant_id": None,
        }
        # A Core INSERT now (the unit of work cost more than the row); a later read in this transaction (ORM or raw)
        # finds the row in the database.
        insert_now(session, _TOKENS, values)
        return {"token": token, "forClientId": for_client_id}, values

    def redeem(
        self,
        session: Session,
        recipient: SumsubClient,
        token: Any,
        *,
        level_name: str,
        user_id: str | None = None,
        rechecks: bool = True,
        scope: str = "reuse",
        before_spend: Callable[[Applicant], None] | None = None,
    ) -> Redemption:
        """Redeem a share token into the recipient's workspace: a new applicant with the donor's data.

        Order: token validity (401s), scope, single use, expiry; then with `rechecks` (the reuse endpoint, and
        Dakota's import) the donor must be approved and active and hold a document type the level accepts
        (10513), then `before_spend(donor)` may refuse. Nothing is written unless every check passes; the token is
        spent by a conditional UPDATE, and what follows it raises no expected error.
        """
        if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_LENGTH or unstorable(token):
            raise ShareTokenError("malformed", e.token_invalid("malformed share token"))
        # Core reads and writes below see the database, not the session: pending rows go first (as autoflush).
        session.flush()
        conn = session.connection()  # inside a bulk-import row, this opens the row's SAVEPOINT
        rows: list[Any] = [_TokenRow._make(r) for r in fetch_all_in(session, _TOKEN_READ, p_token=token)]
        row = rows[0] if rows else None
        if row is None:
            raise ShareTokenError("unknown", e.token_invalid("share token is not recognised"))
        if row.for_client_id != recipient.client_id:
            raise ShareTokenError(
                "wrong_client",
                e.reuse_error(10502, "Partner id extracted from the share token is invalid for this client"),
            )
        now = self.rt.clock.now(session)
        jti = _token_jti(token)
        if row.redeemed_at is not None:
            raise ShareTokenError(
                "used",
                e.token_invalid(
                    f"Token {jti} is invalid now: already used at {java_date(row.redeemed_at)} [source: null]"
                ),
            )
        if now >= row.expires_at:
            raise ShareTokenError(
                "expired",
                e.token_invalid(
                    f"Token {jti} is invalid now: created at {java_date(row.created_at)} with ttl "
                    f"{row.ttl_seconds} but accessed at {java_date(now)} [source: null]"
                ),
            )
        donor = self._donor(session, row)
        if donor is None:
            raise ShareTokenError("unknown", e.token_invalid("the shared applicant no longer exists"))
        level = self.level(session, level_name)
        if rechecks:
            if not donor.active:
                raise ShareTokenError(
                    "not_active", e.reuse_error(10508, "Applicant is not active and cannot be reused")
                )
            review = donor.review
            if review.get("reviewStatus") != "completed" or review.get("reviewResult", {}).get("reviewAnswer") != (
                "GREEN"
            ):
                raise ShareTokenError(
                    "not_approved",
                    e.reuse_error(10507, "Applicant is not approved and cannot be reused"),
                )
        plan = self._plan_copy([_DonorDoc._make(r[_DOCS_AT:]) for r in rows if r[_DOCS_AT] is not None], donor, level)
        if rechecks and plan.incompatible:
            raise ShareTokenError("incompatible", e.reuse_error(10513, f"Not Reusable KYC for level: {level.name}"))
        if before_spend is not None:
            before_spend(donor)  # the caller's last refusal, while nothing is written yet
        # The new applicant's review and id are drawn first (in this order, as always: seeded ids stay the same),
        # so spending the token and naming what it produced is one conditional UPDATE.
        review = self._new_review(level.name, now)
        new_id = self.rt.ids.sumsub_id()
        spent = execute_in(
            session, _SPEND, {"p_token": token, "p_at": now, "p_by": recipient.client_id, "p_applicant": new_id}
        )
        if spent != 1:
            raise ShareTokenError("used", e.token_invalid(f"Token {jti} is invalid now: already used"))
        session.info[SPENT_TOKEN] = token  # from here on this redemption has written: see SPENT_TOKEN
        # A ShareToken object this session already holds sees the spend (as the ORM UPDATE's synchronisation did).
        held = session.identity_map.get(session.identity_key(ShareToken, token))
        if held is not None:
            set_committed_value(held, "redeemed_at", now)
            set_committed_value(held, "redeemed_by", recipient.client_id)
            set_committed_value(held, "redeemed_applicant_id", new_id)
        new, docs = self._copy_applicant(
            session, conn, donor, recipient, level, plan, user_id, now, scope, new_id, review
        )
        return Redemption(
            applicant=new,
            donor=donor,
            documents_requested=plan.documents_requested,
            documents=tuple(sorted(docs, key=lambda d: d.image_id)),
        )

    def token_status(self, session: Session, token: str) -> dict[str, Any] | None:
        """The control plane's view of a token (never exposed on the Sumsub API)."""
        row = session.get(ShareToken, token) if len(token) <= MAX_TOKEN_LENGTH else None
        if row is None:
            return None
        now = self.rt.clock.now(session)
        state = "redeemed" if row.redeemed_at is not None else ("expired" if now >= row.expires_at else "active")
        return {
            "state": state,
            "applicant_id": row.applicant_id,
            "donor_client_id": row.donor_client_id,
            "for_client_id": row.for_client_id,
            "ttl_seconds": row.ttl_seconds,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
            "redeemed_at": row.redeemed_at,
            "redeemed_applicant_id": row.redeemed_applicant_id,
        }

    # ------------------------------------------------------------------ copying
    @dataclass
    class _Plan:
        docs: list[Any]  # the donor's documents to copy: rows of image_id and _DOC_COPY_COLUMNS
        id_docs_info: list[dict[str, Any]]
        satisfied: set[str]
        incompatible: bool
        documents_requested: bool

    @staticmethod
    def _donor(session: Session, row: Any) -> Applicant | None:
        """The token's donor, as `session.get` gives it, from the token read's columns when the session does not
        already hold it (no second SELECT)."""
        if row.a_id is None or session.identity_map.get(session.identity_key(Applicant, row.a_id)) is not None:
            return session.get(Applicant, row.applicant_id)
        # Read only from here on (nothing in a redemption changes the donor): it need not join the session.
        return detached_row(Applicant, dict(zip(_APPLICANT_COLUMNS, row[_DONOR_AT:_DOCS_AT], strict=True)))

    def _plan_copy(self, uploads: list[Any], donor: Applicant, level: Level) -> SumsubService._Plan:
        """Decide what of the donor's data (`uploads`: its documents, in image id order) the recipient level can
        use."""
        info_docs = [d for d in donor.info.get("idDocs", []) if isinstance(d, dict)]
        donor_types = {str(d.get("idDocType")) for d in info_docs} | {u.id_doc_type for u in uploads}
        keep_types: set[str] = set()
        satisfied: set[str] = set()
        incompatible = False
        for step in level.doc_sets:
            kind = step.get("idDocSetType")
            accepted = set(step.get("types", []))
            if kind == "IDENTITY":
                donor_identity = donor_types & set(IDENTITY_TYPES)
                usable = donor_identity & accepted
                if usable:
                    keep_types |= usable
                    satisfied.add("IDENTITY")
                elif donor_identity:
                    incompatible = True
            elif accepted:
                usable = donor_types & accepted
                if usable:
                    keep_types |= usable
                    satisfied.add(str(kind))
            elif kind == "QUESTIONNAIRE" and donor.questionnaires:
                satisfied.add("QUESTIONNAIRE")
            elif kind == "APPLICANT_DATA":
                satisfied.add("APPLICANT_DATA")
        return SumsubService._Plan(
            docs=[u for u in uploads if u.id_doc_type in keep_types],
            id_docs_info=[d for d in info_docs if d.get("idDocType") in keep_types],
            satisfied=satisfied,
            incompatible=incompatible,
            documents_requested=satisfied != set(level.step_types()),
        )

    def _fresh_image_ids(self, conn: Connection, n: int, pending: set[int]) -> list[int]:
        """`n` distinct image ids no document has (nor `pending`, documents not inserted yet), drawn in the order
        one-at-a-time checks drew them; one SELECT checks them all (a clash with a stored id, one in millions,
        draws that one again and checks again)."""
        ids: list[int] = []
        for _ in range(n):
            image_id = self.rt.ids.image_id()
            while image_id in ids:
                image_id = self.rt.ids.image_id()
            ids.append(image_id)
        while ids:
            taken = _taken_image_ids(conn, ids) | (pending & set(ids))
            if not taken:
                break
            for i, old in enumerate(ids):
                if old in taken:
                    image_id = self.rt.ids.image_id()
                    while image_id in ids or image_id in taken:
                        image_id = self.rt.ids.image_id()
                    ids[i] = image_id
        return ids

    def _copy_applicant(
        self,
        session: Session,
        conn: Connection,
        donor: Applicant,
        recipient: SumsubClient,
        level: Level,
        plan: SumsubService._Plan,
        user_id: str | None,
        now: float,
        scope: str,
        new_id: str,
        review: dict[str, Any],
    ) -> tuple[Applicant, list[_DonorDoc]]:
        """The recipient's copy, complete (steps, inherited review) before its one INSERT, then its documents."""
        info = {k: _json_copy(v) for k, v in donor.info.items() if k != "idDocs"}
        if plan.id_docs_info:
            info["idDocs"] = _json_copy(plan.id_docs_info)
        new = _applicant(
            id=new_id,
            client_id=recipient.client_id,
            external_user_id=user_id or f"copy-{self.rt.ids.uuid4()}",
            inspection_id=self.rt.ids.sumsub_id(),
            level_name=level.name,
            type=donor.type,
            email=donor.email,
            phone=donor.phone,
            lang=donor.lang,
            info=info,
            fixed_info=_json_copy(donor.fixed_info),
            review=review,
            steps={},
            questionnaires=_json_copy(donor.questionnaires) if "QUESTIONNAIRE" in plan.satisfied else [],
            active=1,
            source_applicant_id=donor.id,
            reuse_scope=scope,
            created_at=now,
        )
        # A generated `copy-<uuid>` cannot collide; a caller's userId can.
        if user_id is not None and fetch_in(
            session, _APPLICANT_BY_EXTERNAL_ID, client_id=recipient.client_id, ext=new.external_user_id
        ):
            raise e.SumsubError(f"Applicant with external user id '{new.external_user_id}' already exists", status=409)
        image_ids = self._fresh_image_ids(conn, len(plan.docs), deferred_values(session, _DOCS, "image_id"))
        doc_rows: list[dict[str, Any]] = []
        steps: dict[str, Any] = {}
        for doc, image_id in zip(plan.docs, image_ids, strict=True):
            # The row's values were decoded for this query alone: nothing else holds them, no copy needed.
            doc_rows.append(
                {
                    "image_id": image_id,
                    "applicant_id": new.id,
                    **{k: getattr(doc, k) for k in _DOC_COPY_COLUMNS},
                    "created_at": now,
                }
            )
            step = STEP_OF_TYPE.get(doc.id_doc_type, "IDENTITY")
            cur = steps.get(step) or {"idDocType": doc.id_doc_type, "imageIds": [], "imageReviewResults": {}}
            if doc.country:
                cur["country"] = doc.country
            cur["imageIds"] = [*cur["imageIds"], image_id]
            cur["imageReviewResults"][str(image_id)] = {"reviewAnswer": "GREEN"}
            cur["reviewResult"] = {"reviewAnswer": "GREEN"}
            steps[step] = cur
        new.steps = steps
        # The copy inherits the donor's review (always GREEN after rechecks; Copy Applicant checks nothing).
        donor_result = donor.review.get("reviewResult")
        if not plan.documents_requested and donor.review.get("reviewStatus") == "completed" and donor_result:
            self.complete_review(session, new, _json_copy(donor_result), notify=False)
        # Raw INSERTs, the applicant before its documents (foreign key), deferred to the end of the chunk in a
        # bulk import. Nothing changes the copy afterwards, so the objects returned stay out of the session.
        insert_rows(session, _APPLICANTS, {k: getattr(new, k) for k in _APPLICANT_COLUMNS})
        insert_rows(session, _DOCS, doc_rows)
        docs = [_DonorDoc._make(r[k] for k in _DonorDoc._fields) for r in doc_rows]
        # Only the first webhook after an import carries reuseScope.
        first = "applicantReviewed" if new.review.get("reviewStatus") == "completed" else "applicantCreated"
        self._notify(session, new, first, reuse_scope=scope)
        return new, docs


def _taken_image_ids(conn: Connection, ids: list[int]) -> set[int]:
    """Which of `ids` a stored document has. Plain SQL for the driver (a bulk import asks once per row; an
    expanding IN would be compiled and cache-keyed each time)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT image_id FROM {_DOCS.name} WHERE image_id IN ({', '.join([mark] * len(ids))})"
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite" and raw is not None:  # straight to sqlite3, on this transaction's connection
        return {row[0] for row in raw.execute(sql, ids)}
    return {row[0] for row in conn.exec_driver_sql(sql, tuple(ids))}


def _token_jti(token: str) -> str:
    import base64
    import json

    try:
        payload = token.removeprefix("_act-sbx-jwt-").split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(data.get("jti", token[:40]))
    except (IndexError, ValueError):
        return token[:40]


def _opt_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 320:
        raise e.bad_request(f"{name} must be a string of at most 320 characters")
    return value


def _clean_info(raw: Any, where: str) -> dict[str, Any]:
    """Validate an `info` / `fixedInfo` object: known string fields and an address list."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise e.bad_request(f"{where} must be a JSON object")
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k in INFO_STRING_FIELDS:
            if v is None:
                continue
            if not isinstance(v, str) or len(v) > 512:
                raise e.bad_request(f"{where}.{k} must be a string")
            out[k] = v
        elif k == "addresses":
            if not isinstance(v, list) or len(v) > 10:
                raise e.bad_request(f"{where}.addresses must be a list of at most 10 address objects")
            addresses = []
            for i, addr in enumerate(v):
                if not isinstance(addr, dict):
                    raise e.bad_request(f"{where}.addresses[{i}] must be an object")
                clean = {}
                for ak, av in addr.items():
                    if ak in ADDRESS_FIELDS and av is not None:
                        if not isinstance(av, str) or len(av) > 512:
                            raise e.bad_request(f"{where}.addresses[{i}].{ak} must be a string")
                        clean[ak] = av
                addresses.append(clean)
            out["addresses"] = addresses
    return out
