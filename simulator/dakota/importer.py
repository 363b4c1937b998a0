"""`POST /customers/bulk-import-sumsub-tokens`: redeem each token at Sumsub, create customer and application.

Each row is atomic: the token is spent, the Sumsub applicant, customer and application are created, or nothing is.
Rows run in small chunks, one write transaction per chunk. A row fails only before it writes (every check comes
before the token is spent), so a failed row never undoes a successful one; anything failing after a spend fails
the chunk's whole transaction. Rows become durable chunk by chunk (one transaction per row when rows are slowed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulator.control.faults import Faults
from simulator.core.runtime import Runtime
from simulator.core.store import deferred_inserts, insert_rows
from simulator.dakota import auth
from simulator.dakota import problems as p
from simulator.dakota.applications import Applications
from simulator.dakota.idempotency import Idempotency, Replay, body_hash, parse_key
from simulator.dakota.mapping import MappedIndividual, map_applicant
from simulator.dakota.models import ApiKey, Application, Customer
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.models import Applicant
from simulator.sumsub.service import SPENT_TOKEN, ShareTokenError, SumsubService
from simulator.webhooks.service import TARGETS_CACHE, Webhooks

MAX_TOKENS = 100
_CUSTOMERS = cast(Table, Customer.__table__)
_APPLICATIONS = cast(Table, Application.__table__)
CHUNK_ROWS = 25  # rows per write transaction (each row in its own SAVEPOINT): about 40 ms of write lock
ROW_STEP = "dakota.import_row"
APPLICATION_TTL_SECONDS = 30 * 24 * 3600
PERMISSION_DETAIL = "Token import requires manage_compliance_applications"


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
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
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


class _ClaimRace(Exception):
    """Another transaction inserted the same idempotency key first."""


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The bulk import's response body."""
    ok = sum(1 for r in results if r["success"])
    return {"total": len(results), "succeeded": ok, "failed": len(results) - ok, "results": results}


def row_error(err: ShareTokenError, client_id: str) -> str:
    template = _ROW_ERRORS.get(err.reason)
    if template is None:
        return f"Failed to redeem share token: {err.description}"
    return template.format(client=client_id, detail=err.description)


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
        """Auth → permission → idempotency header → body → idempotent execution."""
        key = auth.authenticate_in(self.rt.store, api_key)
        auth.require(key, auth.MANAGE_COMPLIANCE_APPLICATIONS, PERMISSION_DETAIL)
        idem = parse_key(idempotency_key)  # a bad header is reported before a bad body
        tokens = parse_tokens(raw_body)
        if self._slow_rows():
            outcome = self.idempotency.run(
                key.key, idempotency_key, "POST", path, raw_body, lambda: (200, self.import_tokens(key, tokens))
            )
            return BulkResult(outcome.status, outcome.body, replayed=outcome.replayed)
        return self._import_claimed(key, idem, body_hash(raw_body), path, tokens)

    def _slow_rows(self) -> bool:
        # Each row is a Sumsub round trip at Dakota; a fault rule on `dakota.import_row` can slow it down.
        return self.faults is not None and self.faults.has_rules_for("internal", ROW_STEP)

    def _import_claimed(self, key: ApiKey, idem: str, digest: str, path: str, tokens: list[str]) -> BulkResult:
        """The import in chunks, with the idempotency claim in the first chunk's transaction and the stored
        response in the last one's (a one-chunk import is one transaction). A concurrent request with the same
        key waits for the first chunk to commit, then sees the claim (409) or, after the last, the response."""
        chunks = [tokens[i : i + CHUNK_ROWS] for i in range(0, len(tokens), CHUNK_ROWS)]
        results: list[dict[str, Any]] = []
        claimed = False
        try:
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                for attempt in range(3):
                    try:
                        with self.rt.store.write() as session:
                            if i == 0:
                                replay = self._claim(session, key, idem, path, digest)
                                if replay is not None:
                                    return BulkResult(replay.status, replay.body, replayed=True)
                            rows = self._rows(session, key, chunk)
                            if last:
                                body = summary([*results, *rows])
                                self.idempotency.complete(session, key.key, idem, 200, body)
                        break
                    except _ClaimRace:
                        if attempt == 2:
                            raise p.DakotaProblem(
                                409, "A request with this x-idempotency-key is already in progress"
                            ) from None
                claimed = True
                results.extend(rows)
        except BaseException:
            if claimed:
                self.idempotency.release(key.key, idem)
            raise
        return BulkResult(200, summary(results))

    def _claim(self, session: Session, key: ApiKey, idem: str, path: str, digest: str) -> Replay | None:
        try:
            return self.idempotency.claim(session, key.key, idem, "POST", path, digest)
        except IntegrityError:  # another worker claimed the key first: roll back, then read its claim
            raise _ClaimRace() from None

    def import_tokens(self, key: ApiKey, tokens: list[str]) -> dict[str, Any]:
        """All rows, one transaction each when rows are slowed by a fault rule, else in chunks."""
        results: list[dict[str, Any]] = []
        if self._slow_rows():
            # A slowed row must not hold the write transaction while it waits: one transaction per row.
            for t in tokens:
                if self.faults is not None:
                    injection = self.faults.decide("internal", "ROW", ROW_STEP)
                    if injection is not None and injection.latency_ms:
                        time.sleep(injection.latency_ms / 1000)
                results.extend(self._import_chunk(key, [t]))
        else:
            for start in range(0, len(tokens), CHUNK_ROWS):
                results.extend(self._import_chunk(key, tokens[start : start + CHUNK_ROWS]))
        return summary(results)

    def _import_chunk(self, key: ApiKey, tokens: list[str]) -> list[dict[str, Any]]:
        """A few rows in one transaction (see `_rows`); the chunk commits before the next begins, so rows become
        durable progressively (a killed worker leaves each row whole or untouched)."""
        with self.rt.store.write() as session:
            results = self._rows(session, key, tokens)
        return results

    def _rows(self, session: Session, key: ApiKey, tokens: list[str]) -> list[dict[str, Any]]:
        """Rows in the caller's transaction. A row that fails does so before it writes anything (every check of
        the redemption, and ours, comes before the token is spent), so it leaves nothing and never undoes another
        row; an error after a spend is unexpected and fails the whole transaction. No savepoints: they cost a
        fifth of a row."""
        session.info[TARGETS_CACHE] = {}  # the import creates no webhook targets: read them once
        with deferred_inserts(session):  # the successful rows' INSERTs, one executemany per table
            return [self._import_row(session, key, t) for t in tokens]

    def import_one(self, key: ApiKey, token: str) -> dict[str, Any]:
        """One row, one transaction: success with ids, or a failure that left nothing behind."""
        return self._import_chunk(key, [token])[0]

    def _import_row(self, session: Session, key: ApiKey, token: str) -> dict[str, Any]:
        """One row: success with ids, or a failure that wrote nothing (its deferred INSERTs are dropped)."""
        client_id = self.rt.settings.dakota_client_id
        session.info.pop(SPENT_TOKEN, None)
        try:
            with deferred_inserts(session):
                return self._import_in(session, key, token)
        except (ShareTokenError, RowFailure, SumsubError) as err:
            if session.info.get(SPENT_TOKEN) == token:  # never leave a spent token without its customer
                raise RuntimeError("a bulk-import row failed after its token was spent") from err
            if isinstance(err, ShareTokenError):
                return {"name": "Unknown", "success": False, "error": row_error(err, client_id)}
            if isinstance(err, RowFailure):
                return {"name": err.name, "success": False, "error": err.error}
            return {"name": "Unknown", "success": False, "error": f"Failed to redeem share token: {err.description}"}

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
            scope="dakotaImport",
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
