"""Webhook emission (inside the domain transaction: an outbox) and delivery (claim, POST, record, retry).

Delivery is at-least-once: an item is claimed with a wall-clock lease, POSTed outside any transaction, then
recorded. A worker that dies mid-delivery leaves the lease to expire and the item is tried again. Retry times are
on the simulated clock, so advancing the clock makes retries due.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table, bindparam, func, literal, or_, select
from sqlalchemy.orm import Session

from simulator.core.clock import iso, sumsub_datetime
from simulator.core.context import current_request
from simulator.core.errors import ControlError
from simulator.core.runtime import Runtime
from simulator.core.store import FastQuery, fetch_in, insert_rows, lock_rows, mark_state_changed
from simulator.dakota import problems as p
from simulator.webhooks import signing
from simulator.webhooks.models import DakotaEvent, OutboxItem, WebhookTarget

if TYPE_CHECKING:
    import requests

log = logging.getLogger("simulator.webhooks")

# Dakota: about ten attempts over a day and more (third-party reports); Sumsub: 4 retries after 5 min, 1 h, 5 h, 18 h.
RETRY_DELAYS = {
    "dakota": [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200],
    "sumsub": [300, 3600, 18000, 64800],
}
API_VERSION = "1.0.0"
TARGETS_CACHE = "dakota_webhook_targets"
# The newest event's sequence number in an organization (emit_dakota).
_MAX_SEQ = FastQuery(
    select(func.max(DakotaEvent.__table__.c.seq)).where(DakotaEvent.__table__.c.organization_id == bindparam("org"))
)
# Is any outbox item due (or its lease expired)? The same condition as `claim_due`, as a cheap read.
_ANY_DUE = FastQuery(
    select(literal(1))
    .select_from(OutboxItem)
    .where(
        or_(
            (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= bindparam("p_now")),
            (OutboxItem.status == "delivering") & (OutboxItem.lease_until < bindparam("p_wall")),
        )
    )
    .limit(1)
)
_EVENTS = cast(Table, DakotaEvent.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)
MAX_REPLAYS = 10
KEY_STATE = "webhook_signing_key"
EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "customer.kyb_link.created",
    "customer.kyb_link.updated",
    "customer.kyb_status.created",
    "customer.kyb_status.updated",
    "customer.kyb_application.submitted",
    "recipient.created",
)


class TargetRoute(NamedTuple):
    """What routing an event needs of a webhook target (an immutable copy, safe to keep between transactions)."""

    id: str
    url: str
    global_: bool
    event_types: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        return self.global_ or event_type in self.event_types


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt, as the control plane reports what fired."""

    id: str
    kind: str
    event_type: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    outcome: str  # delivered | retry_scheduled | failed

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Webhooks:
    def __init__(self, rt: Runtime, post: Callable[..., requests.Response] | None = None) -> None:
        self.rt = rt
        self._post_with = post
        self._http: requests.Session | None = None
        self._key: Ed25519PrivateKey | None = None
        self._key_lock = threading.Lock()
        # Set when this process queued something for the dispatcher (an outbox row, a due auto-approval): the
        # request that did so wakes it once its response is out; other requests leave it to its poll.
        self.work_queued = threading.Event()

    # ------------------------------------------------------------------ keys
    def ensure_key(self, session: Session) -> None:
        """Create the sandbox's Ed25519 signing key once (seeded runs get the same key)."""
        if self.rt.store.get_state(session, KEY_STATE) is None:
            self.rt.store.put_state(session, KEY_STATE, {"seed_hex": self.rt.ids.hex(64)})

    def signing_key(self) -> Ed25519PrivateKey:
        with self._key_lock:
            if self._key is None:
                with self.rt.store.read() as session:
                    state = self.rt.store.get_state(session, KEY_STATE)
                if state is None:
                    raise ControlError("webhook signing key missing: the store was not seeded", status=503)
                self._key = signing.private_key(bytes.fromhex(state["seed_hex"]))
            return self._key

    def forget_key(self) -> None:
        with self._key_lock:
            self._key = None

    def public_key(self) -> dict[str, Any]:
        key = self.signing_key()
        hex_ = signing.public_key_hex(key)
        import base64

        return {
            "algorithm": "ed25519",
            "public_key_hex": hex_,
            "public_key_base64": base64.b64encode(bytes.fromhex(hex_)).decode(),
            "public_key_pem": signing.public_key_pem(key),
            "signed_message": "X-Webhook-Timestamp header value followed by the raw request body (no separator)",
            "headers": ["X-Webhook-Signature", "X-Webhook-Timestamp", "X-Dakota-Event-ID", "X-Dakota-Event-Type"],
        }

    # ------------------------------------------------------------------ Dakota events
    def emit_dakota(
        self,
        session: Session,
        organization_id: str,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        simulation_id: str | None = None,
    ) -> None:
        """Record the event and queue a delivery to every target that wants it (same transaction)."""
        now = self.rt.clock.now(session)
        req = current_request.get()
        event_id = self.rt.ids.ksuid(now)
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        envelope = {
            "id": event_id,
            "type": event_type,
            "created": int(now),
            "api_version": API_VERSION,
            "request": {"id": req.request_id, "idempotency_key": req.idempotency_key},
            "data": data,
            "metadata": {"source": "sandbox"},
        }
        # The next sequence number, read once per transaction (a bulk import emits one event per row). A row
        # rolled back to its savepoint may leave a gap; seq only orders events, so gaps are harmless.
        seqs: dict[str, int] = session.info.setdefault("dakota_event_seq", {})
        if organization_id not in seqs:
            found = fetch_in(session, _MAX_SEQ, org=organization_id)  # events are only ever written with Core
            seqs[organization_id] = int((found[0] if found else None) or 0)
        seqs[organization_id] += 1
        row = {
            "id": event_id,
            "organization_id": organization_id,
            "type": event_type,
            "created": now,
            "envelope": envelope,
            "simulation_id": simulation_id,
            "replay_count": 0,
            "seq": seqs[organization_id],
        }
        # Core INSERTs (the event and its outbox items are never read back in this transaction): the ORM's unit
        # of work cost more than the rows themselves.
        insert_rows(session, _EVENTS, row)
        targets = [t for t in self._targets(session, organization_id) if t.wants(event_type)]
        if targets:
            event = DakotaEvent(**row)  # what the outbox rows are built from; not attached to the session
            insert_rows(session, _OUTBOX, [self._outbox_row(event, t, now, replay=False) for t in targets])

    def _targets(self, session: Session, organization_id: str) -> list[TargetRoute]:
        """Where the organisation's events go. Kept per process until a target changes (every change moves the
        store's change signal; without one, as on PostgreSQL, a caller that sets `session.info[TARGETS_CACHE] = {}`
        (the bulk import, which creates no targets) has them read once per transaction)."""
        cache: dict[str, list[TargetRoute]] | None = session.info.get(TARGETS_CACHE)
        if cache is not None and organization_id in cache:
            return cache[organization_id]

        def load(s: Session) -> list[TargetRoute]:
            q = select(WebhookTarget).where(WebhookTarget.organization_id == organization_id)
            return [TargetRoute(t.id, t.url, bool(t.global_), tuple(t.event_types or ())) for t in s.scalars(q)]

        targets = self.rt.store.cached(session, f"webhook_targets:{organization_id}", load)
        if cache is not None:
            cache[organization_id] = targets
        return targets

    def _outbox_row(
        self, event: DakotaEvent, target: WebhookTarget | TargetRoute, now: float, *, replay: bool
    ) -> dict[str, Any]:
        return self._outbox_fields(
            kind="dakota",
            owner=event.organization_id,
            event_id=event.id,
            event_type=event.type,
            target_id=target.id,
            url=target.url,
            body=json.dumps(event.envelope, separators=(",", ":"), ensure_ascii=False),
            now=now,
            replay=replay,
            simulation_id=event.simulation_id,
        )

    def _outbox_fields(
        self,
        *,
        kind: str,
        owner: str,
        event_id: str,
        event_type: str,
        target_id: str | None,
        url: str,
        body: str,
        now: float,
        replay: bool = False,
        simulation_id: str | None = None,
    ) -> dict[str, Any]:
        """Every column of a new outbox row: due now, nothing tried yet."""
        self.work_queued.set()
        return {
            "id": self.rt.ids.hex(32),
            "kind": kind,
            "owner": owner,
            "event_id": event_id,
            "event_type": event_type,
            "target_id": target_id,
            "url": url,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "max_attempts": len(RETRY_DELAYS[kind]) + 1,
            "next_attempt_at": now,
            "lease_until": 0.0,
            "last_status_code": None,
            "last_error": None,
            "log": [],
            "is_replay": replay,
            "simulation_id": simulation_id,
            "created_at": now,
            "delivered_at": None,
        }

    def _queue_dakota(
        self, session: Session, event: DakotaEvent, target: WebhookTarget, now: float, *, replay: bool
    ) -> OutboxItem:
        item = OutboxItem(**self._outbox_row(event, target, now, replay=replay))
        session.add(item)
        return item

    # ------------------------------------------------------------------ Sumsub callbacks
    def emit_sumsub(
        self, session: Session, client: Any, applicant: Any, event_type: str, reuse_scope: str | None = None
    ) -> OutboxItem | None:
        """Queue a Sumsub webhook to the client's configured URL (none configured: nothing to send)."""
        if not client.webhook_url:
            return None
        now = self.rt.clock.now(session)
        correlation = f"req-{self.rt.ids.uuid4()}"
        review = applicant.review or {}
        payload: dict[str, Any] = {
            "applicantId": applicant.id,
            "inspectionId": applicant.inspection_id,
            "applicantType": applicant.type,
            "correlationId": correlation,
            "externalUserId": applicant.external_user_id,
            "levelName": applicant.level_name,
            "type": event_type,
            "sandboxMode": True,
            "reviewStatus": review.get("reviewStatus", "init"),
            "createdAtMs": sumsub_datetime(now) + f".{int((now % 1) * 1000):03d}",
            "clientId": applicant.client_id,
        }
        if review.get("reviewResult") and event_type == "applicantReviewed":
            payload["reviewResult"] = review["reviewResult"]
        if reuse_scope:
            payload["reuseScope"] = reuse_scope
        item = OutboxItem(
            **self._outbox_fields(
                kind="sumsub",
                owner=client.client_id,
                event_id=correlation,
                event_type=event_type,
                target_id=None,
                url=client.webhook_url,
                body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
                now=now,
            )
        )
        session.add(item)
        return item

    # ------------------------------------------------------------------ delivery
    def claim_due(self, limit: int = 50) -> list[OutboxItem]:
        """Lease the items due now (and any whose previous lease expired: a worker died mid-delivery)."""
        wall = self.rt.clock.wall()
        lease = wall + self.rt.settings.webhook_timeout_seconds + 10
        # A read first: the dispatcher polls often and mostly finds nothing, and a write transaction for nothing
        # would queue behind (and hold up) the requests' writers.
        if self.rt.store.fetch_one(_ANY_DUE, p_now=self.rt.clock.now(), p_wall=wall) is None:
            return []
        with self.rt.store.write() as session:
            now = self.rt.clock.now(session)
            q = (
                select(OutboxItem)
                .where(
                    or_(
                        (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now),
                        (OutboxItem.status == "delivering") & (OutboxItem.lease_until < wall),
                    )
                )
                .order_by(OutboxItem.next_attempt_at, OutboxItem.created_at, OutboxItem.id)
                .limit(limit)
            )
            if lock_rows(session):
                q = q.with_for_update(skip_locked=True)  # two workers never claim the same item
            items = list(session.scalars(q))
            for item in items:
                item.status = "delivering"
                item.lease_until = lease
            session.flush()
            for item in items:
                session.expunge(item)
        return items

    def _headers(self, item: OutboxItem, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "kyc-sandbox-webhooks/1"}
        if item.kind == "dakota":
            ts = str(int(self.rt.clock.wall()))
            headers.update(
                {
                    "X-Webhook-Signature": signing.dakota_signature(self.signing_key(), ts, body),
                    "X-Webhook-Timestamp": ts,
                    "X-Dakota-Event-ID": item.event_id,
                    "X-Dakota-Event-Type": item.event_type,
                }
            )
            if item.is_replay:
                headers["X-Webhook-Replay"] = "true"
        else:
            from simulator.sumsub.models import SumsubClient

            with self.rt.store.read() as session:
                client = session.get(SumsubClient, item.owner)
                secret = client.webhook_secret if client and client.webhook_secret else ""
                alg = (client.webhook_alg if client else None) or "HMAC_SHA256_HEX"
            headers["x-payload-digest"] = signing.sumsub_digest(secret, body, alg)
            headers["x-payload-digest-alg"] = alg
        return headers

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        if self._post_with is not None:
            return self._post_with(url, **kwargs)
        if self._http is None:
            import requests  # on first delivery, not at start: the import alone is a tenth of a cold start

            self._http = requests.Session()
        return self._http.post(url, **kwargs)

    def deliver(self, item: OutboxItem) -> Attempt:
        import requests

        body = item.body.encode("utf-8")
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            resp = self._post(
                item.url,
                data=body,
                headers=self._headers(item, body),
                timeout=self.rt.settings.webhook_timeout_seconds,
                allow_redirects=False,
            )
            status_code = resp.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered HTTP {status_code}"
        except requests.Timeout:
            error = f"timed out after {self.rt.settings.webhook_timeout_seconds}s"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        took = (time.perf_counter() - started) * 1000
        return self._record(item, status_code, error, took)

    def _record(self, item: OutboxItem, status_code: int | None, error: str | None, took_ms: float) -> Attempt:
        with self.rt.store.write() as session:
            row = session.get(OutboxItem, item.id)
            if row is None:  # reset while in flight
                return Attempt(
                    item.id, item.kind, item.event_type, item.url, item.attempts + 1, status_code, error, "gone"
                )
            now = self.rt.clock.now(session)
            row.attempts += 1
            row.log = [
                *row.log,
                {"at": iso(now), "status_code": status_code, "error": error, "duration_ms": round(took_ms, 1)},
            ]
            row.last_status_code = status_code
            row.last_error = error
            row.lease_until = 0.0
            target = session.get(WebhookTarget, row.target_id) if row.target_id else None
            if target is not None:
                target.time_last_attempted = now
            if error is None:
                row.status = "delivered"
                row.delivered_at = now
                outcome = "delivered"
                if target is not None:
                    target.time_last_healthy = now
            elif row.attempts >= row.max_attempts:
                row.status = "failed"
                outcome = "failed"
            else:
                row.status = "pending"
                row.next_attempt_at = now + RETRY_DELAYS[row.kind][row.attempts - 1]
                outcome = "retry_scheduled"
            return Attempt(row.id, row.kind, row.event_type, row.url, row.attempts, status_code, error, outcome)

    def dispatch_due(self, limit: int = 200) -> list[Attempt]:
        """Deliver everything due now; returns what fired."""
        fired: list[Attempt] = []
        while len(fired) < limit:
            items = self.claim_due(min(50, limit - len(fired)))
            if not items:
                break
            fired.extend(self.deliver(item) for item in items)
        return fired

    # ------------------------------------------------------------------ Dakota API: targets
    def create_target(self, session: Session, org: str, body: Any) -> WebhookTarget:
        if not isinstance(body, dict):
            raise p.invalid("Request body must be a JSON object", "body")
        url = _valid_url(body.get("url"))
        global_ = body.get("global", False)
        if not isinstance(global_, bool):
            raise p.invalid("global must be a boolean", "global")
        types = _valid_types(body.get("event_types", []))
        if not global_ and not types:
            raise p.invalid("event_types must list at least one event type unless global is true", "event_types")
        now = self.rt.clock.now(session)
        target = WebhookTarget(
            id=self.rt.ids.ksuid(now),
            organization_id=org,
            url=url,
            global_=global_,
            event_types=types,
            created_at=now,
            time_last_healthy=now,
            time_last_attempted=now,
        )
        session.add(target)
        session.flush()
        mark_state_changed(session)  # workers drop their copies of the routing (see _targets)
        return target

    def target(self, session: Session, org: str, target_id: str) -> WebhookTarget:
        t = session.get(WebhookTarget, target_id) if len(target_id) <= 64 else None
        if t is None or t.organization_id != org:
            raise p.not_found("Webhook target")
        return t

    def update_target(self, session: Session, org: str, target_id: str, body: Any) -> WebhookTarget:
        t = self.target(session, org, target_id)
        if not isinstance(body, dict):
            raise p.invalid("Request body must be a JSON object", "body")
        global_ = body.get("global", bool(t.global_))
        if not isinstance(global_, bool):
            raise p.invalid("global must be a boolean", "global")
        types = _valid_types(body["event_types"]) if "event_types" in body else list(t.event_types or [])
        url = _valid_url(body["url"]) if "url" in body else t.url
        if not global_ and not types:
            raise p.invalid("event_types must list at least one event type unless global is true", "event_types")
        t.global_, t.event_types, t.url = global_, types, url
        mark_state_changed(session)
        return t

    def delete_target(self, session: Session, org: str, target_id: str) -> None:
        """Delete a target; its undelivered webhooks (pending retries included) are cancelled as failed."""
        target = self.target(session, org, target_id)
        q = select(OutboxItem).where(
            OutboxItem.target_id == target.id, OutboxItem.status.in_(("pending", "delivering"))
        )
        for item in session.scalars(q):
            item.status = "failed"
            item.last_error = "webhook target deleted"
        session.delete(target)
        mark_state_changed(session)

    def targets(self, session: Session, org: str) -> list[WebhookTarget]:
        q = select(WebhookTarget).where(WebhookTarget.organization_id == org).order_by(WebhookTarget.id)
        return list(session.scalars(q))

    @staticmethod
    def target_dict(t: WebhookTarget) -> dict[str, Any]:
        return {
            "id": t.id,
            "url": t.url,
            "global": bool(t.global_),
            "event_types": list(t.event_types or []),
            "time_last_healthy": int(t.time_last_healthy),
            "time_last_attempted": int(t.time_last_attempted),
        }

    # ------------------------------------------------------------------ Dakota API: events, history, replay
    def event_ids(self, session: Session, org: str) -> list[str]:
        """The organisation's event ids, newest first (ids only: every page reads the whole list)."""
        q = select(DakotaEvent.id).where(DakotaEvent.organization_id == org).order_by(DakotaEvent.seq.desc())
        return list(session.scalars(q))

    def event_envelopes(self, session: Session, ids: list[str]) -> list[dict[str, Any]]:
        """The `Event` envelopes of these events, in this order."""
        if not ids:
            return []
        q = select(DakotaEvent.id, DakotaEvent.envelope).where(DakotaEvent.id.in_(ids))
        found: dict[str, dict[str, Any]] = {row[0]: row[1] for row in session.execute(q)}
        return [found[i] for i in ids]

    def history(self, session: Session, org: str, args: dict[str, str]) -> dict[str, Any]:
        status = args.get("status")
        if status is not None and status not in ("delivered", "failed", "pending"):
            raise p.invalid("status must be delivered, failed or pending", "status")
        raw_limit = args.get("limit") or "20"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise p.invalid("limit must be an integer between 1 and 100", "limit")
        limit = int(raw_limit)
        # Filtered and paged on five columns (every page reads the organisation's whole history); only the page's
        # deliveries are loaded whole.
        q = select(
            OutboxItem.id, OutboxItem.created_at, OutboxItem.status, OutboxItem.event_type, OutboxItem.simulation_id
        ).where(OutboxItem.kind == "dakota", OutboxItem.owner == org)
        rows = sorted(session.execute(q), key=lambda r: (-r.created_at, r.id))
        if status:
            rows = [r for r in rows if _public_status(r) == status]
        if args.get("event_type"):
            rows = [r for r in rows if r.event_type == args["event_type"]]
        if args.get("simulation_id"):
            rows = [r for r in rows if r.simulation_id == args["simulation_id"]]
        for name in ("from", "to"):
            if args.get(name):
                try:
                    bound = datetime.fromisoformat(args[name].replace("Z", "+00:00")).timestamp()
                except ValueError:
                    raise p.invalid(f"{name} must be an RFC 3339 date-time", name) from None
                rows = [r for r in rows if (r.created_at >= bound if name == "from" else r.created_at <= bound)]
        cursor = args.get("cursor")
        if cursor:
            ids = [r.id for r in rows]
            if cursor not in ids:
                raise p.invalid("cursor is not valid for this listing", "cursor")
            rows = rows[ids.index(cursor) + 1 :]
        page = [r.id for r in rows[:limit]]
        has_more = len(rows) > limit
        loaded = {r.id: r for r in session.scalars(select(OutboxItem).where(OutboxItem.id.in_(page)))} if page else {}
        return {
            "data": [self.delivery_dict(session, loaded[i]) for i in page],
            "has_more": has_more,
            "cursor": page[-1] if has_more and page else None,
        }

    def delivery_dict(self, session: Session, r: OutboxItem) -> dict[str, Any]:
        event = session.get(DakotaEvent, r.event_id)
        return {
            "id": r.id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "endpoint_url": r.url,
            "status": _public_status(r),
            "attempts": r.attempts,
            "created_at": iso(r.created_at),
            "delivered_at": iso(r.delivered_at) if r.delivered_at is not None else None,
            "simulation_id": r.simulation_id,
            "is_replay": bool(r.is_replay),
            "replay_count": event.replay_count if event else 0,
            "payload": json.loads(r.body),
            "next_attempt_at": iso(r.next_attempt_at) if r.status == "pending" else None,
            "last_error": r.last_error,
            "log": list(r.log),
        }

    def delivery(self, session: Session, org: str, ident: str) -> dict[str, Any]:
        row = session.get(OutboxItem, ident) if len(ident) <= 64 else None
        if row is None:
            q = select(OutboxItem).where(OutboxItem.event_id == ident, OutboxItem.owner == org)
            row = session.scalars(q.order_by(OutboxItem.created_at.desc())).first()
        if row is None or row.owner != org or row.kind != "dakota":
            raise p.not_found("Webhook delivery")
        return self.delivery_dict(session, row)

    def replay(self, session: Session, org: str, event_id: str) -> dict[str, Any]:
        event = session.get(DakotaEvent, event_id) if len(event_id) <= 64 else None
        if event is None or event.organization_id != org:
            raise p.not_found("Webhook delivery")
        if event.replay_count >= MAX_REPLAYS:
            raise p.DakotaProblem(409, f"Replay limit exceeded (max {MAX_REPLAYS} per event)")
        now = self.rt.clock.now(session)
        count = 0
        first: OutboxItem | None = None
        for target in self.targets(session, org):
            if target.wants(event.type):
                item = self._queue_dakota(session, event, target, now, replay=True)
                first = first or item
                count += 1
        event.replay_count += 1
        return {"webhook_id": first.id if first else event.id, "status": "queued", "replayed_to_count": count}

    # ------------------------------------------------------------------ control plane
    def outbox(self, session: Session, status: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        q = select(OutboxItem)
        if status:
            q = q.where(OutboxItem.status == status)
        if kind:
            q = q.where(OutboxItem.kind == kind)
        rows = session.scalars(q.order_by(OutboxItem.created_at, OutboxItem.id))
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "owner": r.owner,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "url": r.url,
                "status": r.status,
                "attempts": r.attempts,
                "max_attempts": r.max_attempts,
                "next_attempt_at": iso(r.next_attempt_at),
                "last_status_code": r.last_status_code,
                "last_error": r.last_error,
                "is_replay": bool(r.is_replay),
                "log": list(r.log),
            }
            for r in rows
        ]


def _public_status(r: Any) -> str:
    """The status an outbox item (or a row of its columns) shows on Dakota's API."""
    status: str = r.status
    return "pending" if status == "delivering" else status


def _valid_url(url: Any) -> str:
    if not isinstance(url, str) or len(url) > 2048:
        raise p.invalid("url is required: an http(s) URL", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise p.invalid("url must be an absolute http(s) URL", "url")
    return url


def _valid_types(types: Any) -> list[str]:
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise p.invalid("event_types must be an array of event type strings", "event_types")
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise p.invalid(f"unknown event type(s): {', '.join(unknown)}", "event_types")
    return list(dict.fromkeys(types))


class Dispatcher:
    """A daemon thread per worker process: delivers due items and settles due work every `interval` seconds."""

    def __init__(self, tick: Callable[[bool], Any], interval: float = 0.5) -> None:
        """`tick(kicked)` runs every `interval` seconds (kicked=False) and as soon as `kick()` is called (True)."""
        self._tick = tick
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kyc-sandbox-dispatcher", daemon=True)
                self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            kicked = self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._tick(kicked)
            except Exception:  # the loop must survive a bad receiver or a busy store
                log.exception("webhook dispatch failed")
