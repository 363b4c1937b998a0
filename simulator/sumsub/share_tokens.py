"""Share tokens: minting (the donor's side) and redemption (the recipient's: Copy Applicant, reuse, Dakota's import).

A redemption is two named steps. `plan` reads (one statement for any number of tokens) and checks, in Sumsub's
order: the token is known (401), issued for the caller (10502), unused (401), unexpired (401); with `rechecks`, the
donor is active (10508), approved (10507) and holds a document type the recipient's level accepts (10513). It raises
or returns every expected error, and builds the recipient's copy in memory: nothing is written. `redeem` writes
planned redemptions: the token spent, the copy and its documents inserted, the first webhook queued. It raises no
expected error: the plan read the tokens unspent, and they stay so (SQLite serializes writers; PostgreSQL locked the
token rows at the read), so a redemption is atomic by construction.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.core.runtime import Runtime
from simulator.core.text import unstorable
from simulator.core.tx import Tx
from simulator.sumsub import errors as e
from simulator.sumsub import queries as q
from simulator.sumsub.applicants import Applicants, json_copy
from simulator.sumsub.auth import Workspaces
from simulator.sumsub.documents import completed_review
from simulator.sumsub.levels import IDENTITY_TYPES, STEP_OF_TYPE
from simulator.sumsub.notify import REUSE_SCOPE, Notifier

MAX_TOKEN_LENGTH = 1024
MAX_TTL_SECONDS = 2**31 - 1  # ttlInSecs is an int32 in Sumsub's API


class RedemptionRefused(e.SumsubError):
    """Why a token cannot be redeemed, with a machine `reason` (Dakota's importer words its row error from it)."""

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
    """A planned redemption: everything `redeem` writes, computed without writing."""

    token: str
    recipient: q.ClientRef
    donor: q.ApplicantRow
    copy: q.ApplicantRow  # the recipient's new applicant, complete
    donor_documents: list[q.DocRow]  # the donor's documents the copy takes
    documents_requested: bool  # the recipient's level has steps the donor's data does not satisfy
    at: float
    document_rows: list[dict[str, Any]] = field(default_factory=list)  # the copy's documents (new image ids)

    @property
    def documents(self) -> list[q.DocRow]:
        """The copy's documents, in image id order."""
        return sorted((q.DocRow(**{f: r[f] for f in q.DOC_FIELDS}) for r in self.document_rows), key=_image_id)


@dataclass
class _Match:
    """What of the donor's data a level can use."""

    documents: list[q.DocRow]
    id_docs_info: list[dict[str, Any]]
    satisfied: set[str]
    incompatible: bool
    documents_requested: bool


def java_date(epoch: float) -> str:
    """The date format of Sumsub's Java error texts: 'Tue Dec 02 08:27:46 UTC 2025'."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


class ShareTokens:
    def __init__(self, rt: Runtime, workspaces: Workspaces, applicants: Applicants, notifier: Notifier) -> None:
        self.rt = rt
        self.workspaces = workspaces
        self.applicants = applicants
        self.notifier = notifier

    # ------------------------------------------------------------------ minting
    def mint(self, tx: Tx, client: q.ClientRef, applicant_id: Any, for_client_id: Any, ttl: Any) -> q.TokenRow:
        """A single-use share token of the donor's applicant for `forClientId`."""
        if not isinstance(applicant_id, str) or not applicant_id:
            raise e.bad_request("applicantId is required")
        if not isinstance(for_client_id, str) or not for_client_id:
            raise e.bad_request("forClientId is required")
        if ttl is None:
            ttl = self.rt.settings.share_token_default_ttl
        if isinstance(ttl, str) and ttl.strip().lstrip("-").isascii() and ttl.strip().lstrip("-").isdigit():
            ttl = int(ttl)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 < ttl <= MAX_TTL_SECONDS:
            raise e.bad_request("ttlInSecs must be a positive integer number of seconds (int32)")
        a = self.applicants.get(tx, client, applicant_id)
        if (client.client_id, for_client_id) not in self.workspaces.partnerships(tx):
            raise e.reuse_error(10501, f"Client '{for_client_id}' is not in your partners list")
        now = self.rt.clock.now(tx)
        token = q.TokenRow(
            token=self.rt.ids.share_token(self.rt.settings.resolved_base_url),
            donor_client_id=client.client_id,
            applicant_id=a.id,
            for_client_id=for_client_id,
            ttl_seconds=ttl,
            created_at=now,
            expires_at=now + ttl,
            redeemed_at=None,
            redeemed_by=None,
            redeemed_applicant_id=None,
        )
        q.insert_token(tx, token)
        return token

    def status(self, tx: Tx, value: str) -> dict[str, Any] | None:
        """The control plane's view of a token (never exposed on the Sumsub API)."""
        row = q.token(tx, value) if len(value) <= MAX_TOKEN_LENGTH else None
        if row is None:
            return None
        now = self.rt.clock.now(tx)
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

    # ------------------------------------------------------------------ redemption: plan
    def plan(
        self,
        tx: Tx,
        recipient: q.ClientRef,
        tokens: list[Any],
        *,
        level_name: str,
        user_id: str | None = None,
        rechecks: bool = True,
    ) -> list[Redemption | RedemptionRefused]:
        """Each token's redemption, or why it is refused (in input order). Reads only; a token that appears twice is
        redeemed once, the later ones are refused as used."""
        wellformed = [t for t in tokens if _wellformed(t)]
        found = q.tokens_to_redeem(tx, wellformed) if wellformed else {}
        now = self.rt.clock.now(tx)
        taken: set[str] = set()
        out: list[Redemption | RedemptionRefused] = []
        for token in tokens:
            try:
                if not _wellformed(token):
                    raise RedemptionRefused("malformed", e.token_invalid("malformed share token"))
                read = found.get(token)
                if token in taken and read is not None:  # an earlier row of this batch redeems it
                    used = f"Token {_jti(token)} is invalid now: already used at {java_date(now)} [source: null]"
                    raise RedemptionRefused("used", e.token_invalid(used))
                plan = self._plan_one(tx, recipient, token, read, level_name, now, user_id, rechecks)
                taken.add(token)
                out.append(plan)
            except RedemptionRefused as refused:
                out.append(refused)
        self._assign_image_ids(tx, [p for p in out if isinstance(p, Redemption)])
        return out

    def _plan_one(
        self,
        tx: Tx,
        recipient: q.ClientRef,
        token: str,
        read: q.TokenRead | None,
        level_name: str,
        now: float,
        user_id: str | None,
        rechecks: bool,
    ) -> Redemption:
        if read is None:
            raise RedemptionRefused("unknown", e.token_invalid("share token is not recognised"))
        row = read.token
        if row.for_client_id != recipient.client_id:
            raise RedemptionRefused(
                "wrong_client",
                e.reuse_error(10502, "Partner id extracted from the share token is invalid for this client"),
            )
        jti = _jti(token)
        if row.redeemed_at is not None:
            raise RedemptionRefused(
                "used",
                e.token_invalid(
                    f"Token {jti} is invalid now: already used at {java_date(row.redeemed_at)} [source: null]"
                ),
            )
        if now >= row.expires_at:
            raise RedemptionRefused(
                "expired",
                e.token_invalid(
                    f"Token {jti} is invalid now: created at {java_date(row.created_at)} with ttl "
                    f"{row.ttl_seconds} but accessed at {java_date(now)} [source: null]"
                ),
            )
        donor = read.donor
        if donor is None:
            raise RedemptionRefused("unknown", e.token_invalid("the shared applicant no longer exists"))
        level = self.workspaces.level_or_400(tx, level_name)
        if rechecks:
            _recheck(donor)
        match = _match(read.documents, donor, level)
        if rechecks and match.incompatible:
            raise RedemptionRefused("incompatible", e.reuse_error(10513, f"Not Reusable KYC for level: {level.name}"))
        if user_id is not None and q.applicant_id_by_external_id(tx, recipient.client_id, user_id) is not None:
            raise e.SumsubError(f"Applicant with external user id '{user_id}' already exists", status=409)
        copy = self._copy(recipient, donor, level, match, user_id, now)
        return Redemption(token, recipient, donor, copy, match.documents, match.documents_requested, now)

    def _copy(
        self,
        recipient: q.ClientRef,
        donor: q.ApplicantRow,
        level: q.LevelRef,
        match: _Match,
        user_id: str | None,
        now: float,
    ) -> q.ApplicantRow:
        """The recipient's new applicant: the donor's data for this level, and its review (inherited when the donor's
        data satisfies every step of the level; Copy Applicant checks nothing)."""
        review = self.applicants.new_review(level.name, now)
        info = {k: json_copy(v) for k, v in donor.info.items() if k != "idDocs"}
        if match.id_docs_info:
            info["idDocs"] = json_copy(match.id_docs_info)
        copy = q.ApplicantRow(
            id=self.rt.ids.sumsub_id(),
            client_id=recipient.client_id,
            external_user_id=user_id or f"copy-{self.rt.ids.uuid4()}",
            inspection_id=self.rt.ids.sumsub_id(),
            level_name=level.name,
            type=donor.type,
            email=donor.email,
            phone=donor.phone,
            lang=donor.lang,
            info=info,
            fixed_info=json_copy(donor.fixed_info),
            review=review,
            steps={},
            questionnaires=json_copy(donor.questionnaires) if "QUESTIONNAIRE" in match.satisfied else [],
            active=1,
            created_at=now,
            source_applicant_id=donor.id,
            reuse_scope=REUSE_SCOPE,
        )
        return copy

    def _assign_image_ids(self, tx: Tx, plans: list[Redemption]) -> None:
        """The copies' documents get image ids no stored document has (one query for all), then their steps and
        (unless documents are still requested) their inherited review."""
        wanted = sum(len(p.donor_documents) for p in plans)
        ids = self._fresh_image_ids(tx, wanted)
        for plan in plans:
            rows: list[dict[str, Any]] = []
            steps: dict[str, Any] = {}
            for doc in plan.donor_documents:
                image_id = ids.pop(0)
                rows.append(
                    {
                        "image_id": image_id,
                        "applicant_id": plan.copy.id,
                        "id_doc_type": doc.id_doc_type,
                        "id_doc_sub_type": doc.id_doc_sub_type,
                        "country": doc.country,
                        "meta": doc.meta,
                        "file_name": doc.file_name,
                        "content_type": doc.content_type,
                        "content": doc.content,
                        "created_at": plan.at,
                    }
                )
                _add_to_step(steps, doc, image_id)
            plan.document_rows = rows
            plan.copy.steps = steps
            donor_result = plan.donor.review.get("reviewResult")
            if not plan.documents_requested and plan.donor.review.get("reviewStatus") == "completed" and donor_result:
                plan.copy.review, plan.copy.steps = completed_review(plan.copy, json_copy(donor_result), plan.at)

    def _fresh_image_ids(self, tx: Tx, n: int) -> list[int]:
        """`n` distinct image ids that no stored document (nor one queued in this transaction) has."""
        pending = {r["image_id"] for r in tx.queued(q.DOCS)}
        ids: list[int] = []
        while len(ids) < n:
            drawn = self.rt.ids.image_id()
            if drawn not in ids and drawn not in pending:
                ids.append(drawn)
        taken = q.image_ids_taken(tx, ids) if ids else set()
        while taken:
            for i, old in enumerate(ids):
                if old in taken:
                    drawn = self.rt.ids.image_id()
                    while drawn in ids or drawn in taken or drawn in pending:
                        drawn = self.rt.ids.image_id()
                    ids[i] = drawn
            taken = q.image_ids_taken(tx, ids)
        return ids

    # ------------------------------------------------------------------ redemption: write
    def redeem(self, tx: Tx, plans: list[Redemption]) -> None:
        """Write planned redemptions: tokens spent, copies and their documents inserted (queued until the
        transaction ends), and each copy's first webhook queued (the only one that carries reuseScope)."""
        q.spend(tx, [(p.token, p.at, p.recipient.client_id, p.copy.id) for p in plans])
        for plan in plans:
            q.insert_applicant(tx, plan.copy, later=True)
            if plan.document_rows:
                q.insert_documents(tx, plan.document_rows, later=True)
            first = "applicantReviewed" if plan.copy.review.get("reviewStatus") == "completed" else "applicantCreated"
            self.notifier.notify(tx, plan.copy, first, reuse_scope=REUSE_SCOPE)

    def redeem_one(
        self,
        tx: Tx,
        recipient: q.ClientRef,
        token: Any,
        *,
        level_name: str,
        user_id: str | None = None,
        rechecks: bool = True,
        write: bool = True,
    ) -> Redemption:
        """Plan one token's redemption and, with `write`, write it (`write=False`: the reuse preview)."""
        (plan,) = self.plan(tx, recipient, [token], level_name=level_name, user_id=user_id, rechecks=rechecks)
        if isinstance(plan, RedemptionRefused):
            raise plan
        if write:
            self.redeem(tx, [plan])
        return plan

    def copy_applicant(self, tx: Tx, recipient: q.ClientRef, token: Any, level_name: str | None) -> Redemption:
        """Copy Applicant (`POST /resources/applicants/-/import`): no rechecks, the copy inherits the donor's data
        for `level_name`, by default the recipient's own level (Dakota's for Dakota's client)."""
        settings = self.rt.settings
        if not level_name:
            level_name = (
                settings.dakota_level_name if recipient.client_id == settings.dakota_client_id else "basic-kyc-level"
            )
        return self.redeem_one(tx, recipient, token, level_name=level_name, rechecks=False)


def _image_id(doc: q.DocRow) -> int:
    return doc.image_id


def _wellformed(token: Any) -> bool:
    return isinstance(token, str) and bool(token.strip()) and len(token) <= MAX_TOKEN_LENGTH and not unstorable(token)


def _recheck(donor: q.ApplicantRow) -> None:
    """What the reuse endpoint (and Dakota's import) check of the donor: active, then approved."""
    if not donor.active:
        raise RedemptionRefused("not_active", e.reuse_error(10508, "Applicant is not active and cannot be reused"))
    review = donor.review
    if review.get("reviewStatus") != "completed" or (review.get("reviewResult") or {}).get("reviewAnswer") != "GREEN":
        raise RedemptionRefused("not_approved", e.reuse_error(10507, "Applicant is not approved and cannot be reused"))


def _match(uploads: list[q.DocRow], donor: q.ApplicantRow, level: q.LevelRef) -> _Match:
    """What of the donor's data (`uploads`: its documents, in image id order) the recipient's level can use."""
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
    return _Match(
        documents=[u for u in uploads if u.id_doc_type in keep_types],
        id_docs_info=[d for d in info_docs if d.get("idDocType") in keep_types],
        satisfied=satisfied,
        incompatible=incompatible,
        documents_requested=satisfied != set(level.step_types()),
    )


def _add_to_step(steps: dict[str, Any], doc: q.DocRow, image_id: int) -> None:
    step = STEP_OF_TYPE.get(doc.id_doc_type, "IDENTITY")
    cur = steps.get(step) or {"idDocType": doc.id_doc_type, "imageIds": [], "imageReviewResults": {}}
    if doc.country:
        cur["country"] = doc.country
    cur["imageIds"] = [*cur["imageIds"], image_id]
    cur["imageReviewResults"][str(image_id)] = {"reviewAnswer": "GREEN"}
    cur["reviewResult"] = {"reviewAnswer": "GREEN"}
    steps[step] = cur


def _jti(token: str) -> str:
    try:
        payload = token.removeprefix("_act-sbx-jwt-").split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(data.get("jti", token[:40]))
    except (IndexError, ValueError):
        return token[:40]
