"""`POST /customers/bulk-import-sumsub-tokens`: redeem each token at Sumsub, create its customer and application.

Read end to end, the import is: the route hands the raw request to `BulkImporter.handle`, which authenticates and
parses it and `run`s it in chunks under its idempotency key; each chunk is one transaction that plans the chunk's
redemptions at Sumsub (one read, every expected error found, nothing written), checks Dakota's own rule (individuals
only), then writes: the tokens spent and the Sumsub copies, each row's customer, application and `customer.created`
event. A row is atomic and independent by construction: it fails before anything is written (its plan), or it is
written whole with its chunk; anything unexpected rolls the chunk back, and its rows run again one transaction each,
so a failure stays with its row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from simulator.core.runtime import Runtime
from simulator.core.text import BodyError, UnstorableText, decode_json
from simulator.core.tx import Tx
from simulator.dakota import auth
from simulator.dakota import errors as p
from simulator.dakota import queries as q
from simulator.dakota.applications import Applications, new_customer
from simulator.dakota.events import Events
from simulator.dakota.idempotency import IN_PROGRESS, ClaimRace, Idempotency, Replay, parse_key, request_digest
from simulator.dakota.mapping import MappedIndividual, map_applicant
from simulator.faults import Faults
from simulator.sumsub.backend import Sumsub
from simulator.sumsub.share_tokens import Redemption, RedemptionRefused

CHUNK_ROWS = 25  # rows per write transaction: about 25 ms of write lock
ROW_STEP = "dakota.import_row"
ROW_INTERNAL_ERROR = (
    "Failed to redeem share token: the sandbox hit an internal error importing this token and rolled the row back; "
    "the token was not redeemed (see the sandbox's log)"
)
INDIVIDUALS_ONLY = "Token sharing supports individual applicants only; this token shares a company applicant"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_tokens(raw: bytes) -> list[str]:
    """The tokens of a request body the contract has validated (`{"tokens": [1..100 strings]}`: its shape, its
    limits and their texts are the contract's, contracts/openapi/overlays/dakota.yaml). What is left here is what
    the contract leaves to the operation: an empty body, one that is not JSON, and text the store cannot hold."""
    if not raw.strip():
        raise p.invalid('Request body is required: {"tokens": ["<share token>", ...]}', "tokens", "required")
    try:
        body = decode_json(raw, opaque="tokens")  # a token that is not text fails its row, not the request
    except UnstorableText as exc:
        raise p.invalid(exc.message, exc.field, "invalid_text") from None
    except BodyError:
        raise p.invalid("Request body must be valid JSON", "body", "invalid_json") from None
    tokens: list[str] = body["tokens"]
    return tokens


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


def row_error(err: RedemptionRefused, client_id: str) -> str:
    template = _ROW_ERRORS.get(err.reason)
    if template is None:
        return f"Failed to redeem share token: {err.description}"
    return template.format(client=client_id, detail=err.description)


def failed(error: str, name: str = "Unknown") -> dict[str, Any]:
    return {"name": name, "success": False, "error": error}


class _KeyRefused(Exception):
    """The idempotency key belongs to another request (409 in progress, 422 other body): the request's answer."""

    def __init__(self, problem: p.DakotaProblem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


@dataclass
class _Job:
    """One bulk import under its idempotency key: the rows done so far (and stored with the key)."""

    key: q.KeyRow
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
        self,
        rt: Runtime,
        sumsub: Sumsub,
        apps: Applications,
        events: Events,
        idempotency: Idempotency,
        faults: Faults | None = None,
    ) -> None:
        self.rt = rt
        self.faults = faults
        self.sumsub = sumsub
        self.apps = apps
        self.events = events
        self.idempotency = idempotency

    def handle(self, *, api_key: str | None, idempotency_key: str | None, raw_body: bytes, path: str) -> BulkResult:
        """Auth → idempotency header → body → the import (the permission was checked at the edge)."""
        key = auth.authenticate(self.rt.store, api_key)
        idem = parse_key(idempotency_key)  # a bad header is reported before a bad body
        tokens = parse_tokens(raw_body)
        return self.run(_Job(key, idem, request_digest(raw_body), path, tokens))

    # ------------------------------------------------------------------ chunks under the idempotency key
    def run(self, job: _Job) -> BulkResult:
        """The rows in chunks, one write transaction each: the first also claims the idempotency key, every one
        stores the rows done so far with it, the last one the response. So rows become durable chunk by chunk, and
        whatever stops the request, a retry with the same key replays or carries on; it never runs a row twice.
        A store that is busy or gone stops the request (503), not its rows."""
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
            return self._claimed(job, lambda tx, start: self.rows(tx, job.key, job.tokens[start:][:size]))
        except _KeyRefused as refused:
            raise refused.problem from None  # the key belongs to another request (409, 422)
        except (OperationalError, InterfaceError):
            raise  # the store is busy or gone: not this chunk's rows
        except Exception as exc:
            index = len(job.results)
            if size > 1:
                log.warning("bulk import: a chunk failed (%r); its rows run again one by one", exc)
                while job.remaining and len(job.results) < index + size:
                    replay = self._step(job, 1)
                    if replay is not None:
                        return replay
                return None
            log.exception("bulk import: a row failed unexpectedly; it was rolled back")
            return self._claimed(job, lambda _tx, start: [failed(ROW_INTERNAL_ERROR)] if start == index else [])

    def _claimed(self, job: _Job, work: Callable[[Tx, int], list[dict[str, Any]]]) -> Replay | None:
        """`work(tx, first row)` in one write transaction that claims the key the first time (or replays what it
        holds) and records the rows with it. A concurrent first claim of the key is retried (then replays)."""
        for _attempt in range(3):
            try:
                with self.rt.store.write() as tx:
                    done = job.results
                    if not job.claimed:
                        try:
                            begun = self.idempotency.begin(tx, job.key.key, job.idem, "POST", job.path, job.digest)
                        except p.DakotaProblem as problem:
                            raise _KeyRefused(problem) from None
                        if begun.replay is not None:
                            return begun.replay
                        done = list(begun.progress.get("results", []))  # taken over: carry on from there
                    rows = [*done, *work(tx, len(done))]
                    if len(rows) == len(job.tokens):
                        self.idempotency.complete(tx, job.key.key, job.idem, 200, summary(rows))
                    else:
                        self.idempotency.save_progress(tx, job.key.key, job.idem, {"results": rows})
                job.results, job.claimed = rows, True
                return None
            except ClaimRace:
                continue
        raise _KeyRefused(p.DakotaProblem(409, IN_PROGRESS))

    def _slow_rows(self) -> bool:
        # Each row is a Sumsub round trip at Dakota; a fault rule on `dakota.import_row` can slow it down.
        return self.faults is not None and self.faults.has_rules_for("internal", ROW_STEP)

    def _wait_for_row(self) -> None:
        """What a fault rule on `dakota.import_row` adds to a row (Dakota's round trip to Sumsub), outside any
        transaction."""
        injection = self.faults.decide("internal", "ROW", ROW_STEP) if self.faults is not None else None
        if injection is not None and injection.latency_ms:
            time.sleep(injection.latency_ms / 1000)

    # ------------------------------------------------------------------ the rows: plan, then write
    def rows(self, tx: Tx, key: q.KeyRow, tokens: list[str]) -> list[dict[str, Any]]:
        """Import these tokens in the caller's transaction: each row a success with ids, or a failure that wrote
        nothing."""
        settings = self.rt.settings
        recipient = self.sumsub.workspaces.client(tx, settings.dakota_client_id)
        if recipient is None:
            return [failed(f"Dakota's Sumsub client {settings.dakota_client_id} is not configured") for _ in tokens]
        plans = self.sumsub.share_tokens.plan(tx, recipient, list(tokens), level_name=settings.dakota_level_name)
        results: list[dict[str, Any]] = []
        accepted: list[tuple[int, Redemption]] = []
        for i, plan in enumerate(plans):
            if isinstance(plan, RedemptionRefused):
                results.append(failed(row_error(plan, settings.dakota_client_id)))
            elif plan.donor.type != "individual":
                name = (plan.donor.info or {}).get("companyName") or plan.donor.external_user_id
                results.append(failed(INDIVIDUALS_ONLY, f"{name} (from Sumsub)" if name else "Unknown"))
            else:
                results.append({})
                accepted.append((i, plan))
        # From here on, writes only: nothing below raises an expected error.
        self.sumsub.share_tokens.redeem(tx, [plan for _i, plan in accepted])
        for i, plan in accepted:
            results[i] = self._create(tx, key, plan)
        return results

    def import_one(self, key: q.KeyRow, token: str) -> dict[str, Any]:
        """One row, one transaction, no idempotency key (the Pact provider states)."""
        with self.rt.store.write() as tx:
            return self.rows(tx, key, [token])[0]

    def _create(self, tx: Tx, key: q.KeyRow, plan: Redemption) -> dict[str, Any]:
        """The customer, its application and its `customer.created` event for a redeemed token (all queued until
        the transaction ends: nothing reads them back)."""
        applicant = self.sumsub.applicants.to_dict(tx, plan.copy, copy_values=False)
        images = [
            {"idDocType": d.id_doc_type, "idDocSubType": d.id_doc_sub_type, "imageId": d.image_id, "country": d.country}
            for d in plan.documents
        ]
        mapped = map_applicant(applicant, images, self.rt.settings.address_placeholder_country)
        return self._insert(tx, key, mapped, applicant, plan.documents_requested)

    def _insert(
        self,
        tx: Tx,
        key: q.KeyRow,
        mapped: MappedIndividual,
        applicant: dict[str, Any],
        documents_requested: bool,
    ) -> dict[str, Any]:
        """Queue the customer, its application and the event; returns the row's success."""
        ids = self.rt.ids
        now = self.rt.clock.now(tx)
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
        customer, app = new_customer(
            ids,
            now,
            key.organization_id,
            customer_type="individual",
            name=name,
            email=mapped.email_address,
            external_id=None,
            source="sumsub_import",
            individual={**mapped.entity_fields(), "roles": ["individual"]},
            sumsub={
                "provider_applicant_id": applicant["id"],
                "review": review_snake,
                "sumsub_review_status": "documents_requested" if documents_requested else "approved",
            },
            flags={"address_placeholder": mapped.address_placeholder, "source": "sumsub_import"},
        )
        app.documents = [
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
        ]
        q.insert_customer(tx, customer, later=True)
        q.insert_application(tx, app, later=True)
        self.events.emit(
            tx,
            key.organization_id,
            "customer.created",
            {"customer_id": customer.id, "name": name, "customer_type": "individual"},
        )
        return {"name": name, "success": True, "customer_id": customer.id, "application_id": app.id}


def _iso_from_sumsub(value: Any) -> str | None:
    """'2024-09-10 15:25:02+0000' → '2024-09-10T15:25:02Z'."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    return value[:10] + "T" + value[11:19] + "Z"
