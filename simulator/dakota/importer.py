"""`POST /customers/bulk-import-sumsub-tokens`: redeem each token at Sumsub, create customer and application.

Each row is atomic: the token is spent, the Sumsub applicant, customer and application are created, or nothing is.
Rows run in small chunks, one write transaction per chunk. A row fails only before it writes (every check comes
before the token is spent), so a failed row never undoes a successful one; anything failing after a spend fails
the chunk's whole transaction. Rows become durable chunk by chunk (one transaction per row when rows are slowed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from simulator.control.faults import Faults
from simulator.core.runtime import Runtime
from simulator.core.store import deferred_inserts, insert_rows
from simulator.core.text import BodyError, UnstorableText, decode_json
from simulator.dakota import auth
from simulator.dakota import problems as p
from simulator.dakota.applications import Applications
from simulator.dakota.idempotency import IN_PROGRESS, ClaimRace, Idempotency, Replay, parse_key, request_digest
from simulator.dakota.mapping import MappedIndividual, map_applicant
from simulator.dakota.models import ApiKey, Application, Customer
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.models import Applicant
from simulator.sumsub.service import REUSE_SCOPE, SPENT_TOKEN, ShareTokenError, SumsubService
from simulator.webhooks.service import TARGETS_CACHE, Webhooks

MAX_TOKENS = 100
_CUSTOMERS = cast(Table, Customer.__table__)
_APPLICATIONS = cast(Table, Application.__table__)
CHUNK_ROWS = 25  # rows per write transaction (each row in its own SAVEPOINT): about 40 ms of write lock
ROW_STEP = "dakota.import_row"
APPLICATION_TTL_SECONDS = 30 * 24 * 3600
ROW_INTERNAL_ERROR = (
    "Failed to redeem share token: the sandbox hit an internal error importing this token and rolled the row back; "
    "the token was not redeemed (see the sandbox's log)"
)
log = logging.getLogger(__name__)


class FailedAfterSpend(Exception):
    """A row failed after its token was spent; `row` is its answer (given once its transaction rolled back)."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__(row["error"])
        self.row = row


class RowFailure(Exception):
    def __init__(self, error: str, name: str = "Unknown") -> None:
        super().__init__(error)
        self.error = error
        self.name = name


@dataclass(frozen=True)
class BulkResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_tokens(raw: bytes) -> list[str]:
    """The request body `{"tokens": [1..100 strings]}`; anything else is a 400 naming the field."""
    if not raw.strip():
        raise p.invalid('Request body is required: {"tokens": ["<share token>", ...]}', "tokens", "required")
    try:
        body = decode_json(raw, opaque="tokens")  # a token that is not text fails its row, not the request
    except UnstorableText as exc:
        raise p.invalid(exc.message, exc.field, "invalid_text") from None
    except BodyError:
        raise p.invalid("Request body must be valid JSON", "body", "invalid_json") from None
    if not isinstance(body, dict):
        raise p.invalid("Request body must be a JSON object with a tokens array", "body", "invalid_type")
    if "tokens" not in body:
        raise p.invalid("tokens is required", "tokens", "required")
    tokens = body["tokens"]
    if not isinstance(tokens, list):
        raise p.invalid("tokens must be an array of strings", "tokens", "invalid_type")
    if not tokens:
        raise p.invalid("Request body must contain at least one item", "tokens", "min_items")
    if len(tokens) > MAX_TOKENS:
        raise p.invalid(
            f"tokens must contain at most {MAX_TOKENS} items (got {len(tokens)}); split the batch",
            "tokens",
            "max_items",
        )
    for i, t in enumerate(tokens):
        if not isinstance(t, str):
            raise p.invalid(f"tokens[{i}] must be a string", f"tokens[{i}]", "invalid_type")
    return list(tokens)


_ROW_ERRORS = {
    "expired": "Failed to redeem share token: Share token expired",
    "used": "Tokens are single-use: this share token was already redeemed",
    "wrong_client": "Failed to redeem share token: the token was not issued for Dakota's Sumsub client "
    "({client}); tokens cannot be redirected to other recipients",
    "not_approved": "Failed to redeem share token: the donor's applicant is not approved "
    "(Sumsub error 10507 reusable-kyc-not-approved-applicant)",
    "not_active": "Failed to redeem share token: the donor's applicant is not active "
    "(Sumsub error 10508 reusable-kyc-not-active-applicant)",
    "incompatible": "Sumsub error 10513: the donor's verification data isn't compatible with Dakota's "
    "requirements ({detail}); no applicant was created",
}


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The bulk import's response body."""
    ok = sum(1 for r in results if r["success"])
    return {"total": len(results), "succeeded": ok, "failed": len(results) - ok, "results": results}


def row_error(err: ShareTokenError, client_id: str) -> str:
    template = _ROW_ERRORS.get(err.reason)
    if template is None:
        return f"Failed to redeem share token: {err.description}"
    return template.format(client=client_id, detail=err.description)


@dataclass
class _Job:
    """One bulk import under its idempotency key: the rows done so far (and stored with the key)."""

    key: ApiKey
    idem: str
    digest: str
    path: str
    tokens: list[str]
    results: list[dict[str, Any]] = field(default_factory=list)
    claimed: bool = False

    @property
    def remaining(self) -> list[str]:
        return self.tokens[len(self.results) :]


class BulkImporter:
    def __init__(
        self, rt: Runtime, sumsub: SumsubService, apps: Applications, webhooks: Webhooks, faults: Faults | None = None
    ) -> None:
        self.rt = rt
        self.faults = faults
        self.sumsub = sumsub
        self.apps = apps
        self.webhooks = webhooks
        self.idempotency = Idempotency(rt)

    def handle(self, *, api_key: str | None, idempotency_key: str | None, raw_body: bytes, path: str) -> BulkResult:
        """Auth → idempotency header → body → the import (the permission was checked at the edge)."""
        key = auth.authenticate_in(self.rt.store, api_key)
        idem = parse_key(idempotency_key)  # a bad header is reported before a bad body
        tokens = parse_tokens(raw_body)
        return self.run(_Job(key, idem, request_digest(raw_body), path, tokens))

    def run(self, job: _Job) -> BulkResult:
        """The rows in chunks, one write transaction each: the first also claims the idempotency key, every one
        stores the rows done so far with it, the last one the response. So rows become durable chunk by chunk, and
        whatever stops the request, a retry with the same key replays or carries on; it never runs a row twice.

        A row fails alone: an expected error (expired, used, 10513, ...) is raised before its token is spent, and
        anything unexpected rolls back the whole chunk, whose rows then run again one transaction each, so that the
        failure stays with its own row. A store that is busy or gone stops the request (503), not its rows."""
        slow = self._slow_rows()
        size = 1 if slow else CHUNK_ROWS  # a slowed row must not hold the write lock while it waits
        try:
            while not job.claimed or job.remaining:
                if slow:
                    self._wait_for_row()
                replay = self._step(job, size)
                if replay is not None:
                    return BulkResult(replay.status, replay.body, replayed=True)
        except BaseException:
            if job.claimed and job.remaining:
                self.idempotency.give_up(job.key.key, job.idem)  # a retry carries on at once, not after the lease
            raise
        return BulkResult(200, summary(job.results))

    def _step(self, job: _Job, size: int) -> Replay | None:
        """The next `size` rows in one transaction; should it fail unexpectedly, those rows one transaction each,
        and a row that fails so on its own is recorded as a failed row (its transaction rolled back: its token is
        still unspent)."""
        try:
            return self._claimed(job, lambda session, start: self._rows(session, job.key, job.tokens[start:][:size]))
        except (OperationalError, InterfaceError, p.DakotaProblem):
            raise  # the store is busy or gone, or the key belongs to another request: not this chunk's rows
        except Exception as exc:
            index = len(job.results)
            if size > 1:
                log.warning("bulk import: a chunk failed (%r); its rows run again one by one", exc)
                while job.remaining and len(job.results) < index + size:
                    replay = self._step(job, 1)
                    if replay is not None:
                        return replay
                return None
            if not isinstance(exc, FailedAfterSpend):
                log.exception("bulk import: a row failed unexpectedly; it was rolled back")
            error = exc
            return self._claimed(job, lambda _session, start: [self._failed_row(error)] if start == index else [])

    def _claimed(self, job: _Job, work: Callable[[Session, int], list[dict[str, Any]]]) -> Replay | None:
        """`work(session, first row)` in one write transaction that claims the key the first time (or replays what
        it holds) and records the rows with it. A concurrent first claim of the key is retried (then replays)."""
        for _attempt in range(3):
            try:
                with self.rt.store.write() as session:
                    done = job.results
                    if not job.claimed:
                        begun = self.idempotency.begin(session, job.key.key, job.idem, "POST", job.path, job.digest)
                        if begun.replay is not None:
                            return begun.replay
                        done = list(begun.progress.get("results", []))  # taken over: carry on from there
                    rows = [*done, *work(session, len(done))]
                    if len(rows) == len(job.tokens):
                        self.idempotency.complete(session, job.key.key, job.idem, 200, summary(rows))
                    else:
                        self.idempotency.save_progress(session, job.key.key, job.idem, {"results": rows})
                job.results, job.claimed = rows, True
                return None
            except ClaimRace:
                continue
        raise p.DakotaProblem(409, IN_PROGRESS)

    def _slow_rows(self) -> bool:
        # Each row is a Sumsub round trip at Dakota; a fault rule on `dakota.import_row` can slow it down.
        return self.faults is not None and self.faults.has_rules_for("internal", ROW_STEP)

    def _wait_for_row(self) -> None:
        """What a fault rule on `dakota.import_row` adds to a row (Dakota's round trip to Sumsub), outside any
        transaction."""
        injection = self.faults.decide("internal", "ROW", ROW_STEP) if self.faults is not None else None
        if injection is not None and injection.latency_ms:
            time.sleep(injection.latency_ms / 1000)

    def import_one(self, key: ApiKey, token: str) -> dict[str, Any]:
        """One row, one transaction, no idempotency key (the Pact provider states): success with ids, or a failure
        that left nothing behind."""
        with self.rt.store.write() as session:
            return self._rows(session, key, [token])[0]

    def _rows(self, session: Session, key: ApiKey, tokens: list[str]) -> list[dict[str, Any]]:
        """Rows in the caller's transaction. A row that fails does so before it writes anything (every check of
        the redemption, and ours, comes before the token is spent), so it leaves nothing and never undoes another
        row; an error after a spend is unexpected and fails the whole transaction. No savepoints: they cost a
        fifth of a row."""
        session.info[TARGETS_CACHE] = {}  # the import creates no webhook targets: read them once
        with deferred_inserts(session):  # the successful rows' INSERTs, one executemany per table
            return [self._import_row(session, key, t) for t in tokens]

    def _import_row(self, session: Session, key: ApiKey, token: str) -> dict[str, Any]:
        """One row: success with ids, or a failure that wrote nothing (its deferred INSERTs are dropped). A row
        error raised after the token was spent cannot be answered here (the spend is written): it fails the
        transaction, and the row is answered with it once it runs alone (see `_step`)."""
        session.info.pop(SPENT_TOKEN, None)
        try:
            with deferred_inserts(session):
                return self._import_in(session, key, token)
        except (ShareTokenError, RowFailure, SumsubError) as err:
            if session.info.get(SPENT_TOKEN) == token:
                raise FailedAfterSpend(self._failed_row(err)) from err
            return self._failed_row(err)

    def _failed_row(self, err: Exception) -> dict[str, Any]:
        if isinstance(err, ShareTokenError):
            return {"name": "Unknown", "success": False, "error": row_error(err, self.rt.settings.dakota_client_id)}
        if isinstance(err, RowFailure):
            return {"name": err.name, "success": False, "error": err.error}
        if isinstance(err, SumsubError):
            return {"name": "Unknown", "success": False, "error": f"Failed to redeem share token: {err.description}"}
        if isinstance(err, FailedAfterSpend):
            return err.row
        return {"name": "Unknown", "success": False, "error": ROW_INTERNAL_ERROR}

    def _import_in(self, session: Session, key: ApiKey, token: str) -> dict[str, Any]:
        settings = self.rt.settings
        recipient = self.sumsub.client_ref(session, settings.dakota_client_id)
        if recipient is None:
            raise RowFailure(f"Dakota's Sumsub client {settings.dakota_client_id} is not configured")
        red = self.sumsub.redeem(
            session,
            recipient,
            token,
            level_name=settings.dakota_level_name,
            rechecks=True,
            scope=REUSE_SCOPE,
            before_spend=_individuals_only,
        )
        applicant = self.sumsub.applicant_dict(session, red.applicant, copy_values=False)
        images = [
            {
                "idDocType": d.id_doc_type,
                "idDocSubType": d.id_doc_sub_type,
                "imageId": d.image_id,
                "country": d.country,
            }
            for d in red.documents
        ]
        mapped = map_applicant(applicant, images, settings.address_placeholder_country)
        name, customer_id, app_id = self._create(session, key, mapped, applicant, red.documents_requested)
        return {"name": name, "success": True, "customer_id": customer_id, "application_id": app_id}

    def _create(
        self,
        session: Session,
        key: ApiKey,
        mapped: MappedIndividual,
        applicant: dict[str, Any],
        documents_requested: bool,
    ) -> tuple[str, str, str]:
        """Insert the customer and its application (Core INSERTs, deferred to the chunk's end: nothing reads them
        back in this transaction); returns (customer name, customer id, application id)."""
        ids = self.rt.ids
        now = self.rt.clock.now(session)
        customer_id = ids.ksuid(now)
        name = mapped.customer_name()
        review = applicant.get("review", {})
        result = review.get("reviewResult") or {}
        review_snake: dict[str, Any] = {
            "review_id": review.get("reviewId"),
            "attempt_id": review.get("attemptId"),
            "attempt_cnt": review.get("attemptCnt", 0),
            "level_name": review.get("levelName"),
            "create_date": _iso_from_sumsub(review.get("createDate")),
            "review_date": _iso_from_sumsub(review.get("reviewDate")),
            "review_status": review.get("reviewStatus", "init"),
        }
        if result:
            review_snake["review_result"] = {"review_answer": result.get("reviewAnswer")}
        app_id = ids.ksuid(now)
        app_row: dict[str, Any] = {
            "id": app_id,
            "organization_id": key.organization_id,
            "customer_id": customer_id,
            "application_type": "individual",
            "status": "pending",
            "decision": None,
            "decision_method": None,
            "token": ids.secret(43),
            "individual_id": ids.ksuid(now),
            "individual": {**mapped.entity_fields(), "roles": ["individual"]},
            "sumsub": {
                "provider_applicant_id": applicant["id"],
                "review": review_snake,
                "sumsub_review_status": "documents_requested" if documents_requested else "approved",
            },
            "documents": [
                {
                    "document_id": ids.ksuid(now),
                    "document_type": d.document_type,
                    "status": "uploaded" if documents_requested else "verified",
                    "uploaded_at": now,
                    "source": "sumsub",
                    "country": d.country,
                    "id_number": d.id_number,
                    "valid_until": d.valid_until,
                    "sumsub_image_id": d.image_id,
                }
                for d in mapped.documents
            ],
            "attestations": {},
            "flags": {"address_placeholder": mapped.address_placeholder, "source": "sumsub_import"},
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "submitted_at": None,
            "auto_decide_at": None,
            "expires_at": now + APPLICATION_TTL_SECONDS,
        }
        insert_rows(
            session,
            _CUSTOMERS,
            {
                "id": customer_id,
                "organization_id": key.organization_id,
                "name": name,
                "email": mapped.email_address,
                "customer_type": "individual",
                "kyb_status": "pending",
                "external_id": None,
                "application_id": app_id,
                "source": "sumsub_import",
                "created_at": now,
                "updated_at": now,
            },
        )
        insert_rows(session, _APPLICATIONS, app_row)
        self.webhooks.emit_dakota(
            session,
            key.organization_id,
            "customer.created",
            {"customer_id": customer_id, "name": name, "customer_type": "individual"},
        )
        return name, customer_id, app_id


def _individuals_only(donor: Applicant) -> None:
    """Token sharing covers individuals: a company applicant's token is refused before it is spent."""
    if donor.type != "individual":
        name = (donor.info or {}).get("companyName") or donor.external_user_id
        raise RowFailure(
            "Token sharing supports individual applicants only; this token shares a company applicant",
            name=f"{name} (from Sumsub)" if name else "Unknown",
        )


def _iso_from_sumsub(value: Any) -> str | None:
    """'2024-09-10 15:25:02+0000' → '2024-09-10T15:25:02Z'."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    return value[:10] + "T" + value[11:19] + "Z"
