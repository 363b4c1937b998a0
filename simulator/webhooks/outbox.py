"""The outbox: deliveries queued in the transaction that caused them, claimed with a lease, recorded, retried.

Delivery is at-least-once: an item is claimed with a wall-clock lease, POSTed outside any transaction, then
recorded. A worker that dies mid-delivery leaves the lease to expire and the item is tried again. Retry times are on
the simulated clock (each channel's schedule), so advancing the clock makes retries due. The outbox knows no API:
the fakes queue `Outgoing` items (see core.events) and register a `Channel` per kind for signing and retries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal, or_, select

from simulator.core.clock import iso
from simulator.core.events import Channel, Outgoing
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.webhooks.models import OutboxItem

OUTBOX = cast(Table, OutboxItem.__table__)


@dataclass(frozen=True)
class Claimed:
    """An item leased for one delivery attempt (an immutable copy: it is POSTed outside any transaction)."""

    id: str
    kind: str
    owner: str
    event_id: str
    event_type: str
    url: str
    body: str
    attempts: int
    is_replay: bool


@dataclass(frozen=True)
class Summary:
    id: str
    created_at: float
    status: str
    event_type: str
    simulation_id: str | None


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
    outcome: str  # delivered | retry_scheduled | failed | gone

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# Due now: pending and its time has come, or claimed by a worker whose lease ran out (it died mid-delivery).
_DUE = or_(
    (OUTBOX.c.status == "pending") & (OUTBOX.c.next_attempt_at <= bindparam("now")),
    (OUTBOX.c.status == "delivering") & (OUTBOX.c.lease_until < bindparam("wall")),
)
_ANY_DUE = select(literal(1)).where(_DUE).limit(1)
_CLAIM = (
    select(OutboxItem)
    .where(_DUE)
    .order_by(OutboxItem.next_attempt_at, OutboxItem.created_at, OutboxItem.id)
    .limit(bindparam("limit"))
)
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True)  # two workers never claim the same item


class Outbox:
    def __init__(self, rt: Runtime, channels: dict[str, Channel]) -> None:
        self.rt = rt
        self.channels = channels
        # Set when this process queued something: the request that did so wakes the dispatcher once its response
        # is out; other requests leave it to its poll.
        self.work_queued = threading.Event()

    def queue(self, tx: Tx, items: list[Outgoing]) -> list[str]:
        """Every column of each new row (due now, nothing tried yet), written when the transaction ends."""
        if not items:
            return []
        now = self.rt.clock.now(tx)
        rows: list[dict[str, Any]] = [
            {
                "id": self.rt.ids.hex(32),
                "kind": i.kind,
                "owner": i.owner,
                "event_id": i.event_id,
                "event_type": i.event_type,
                "target_id": i.target_id,
                "url": i.url,
                "body": i.body,
                "status": "pending",
                "attempts": 0,
                "max_attempts": len(self.channels[i.kind].retry_delays) + 1,
                "next_attempt_at": now,
                "lease_until": 0.0,
                "last_status_code": None,
                "last_error": None,
                "log": [],
                "is_replay": i.replay,
                "simulation_id": i.simulation_id,
                "created_at": now,
                "delivered_at": None,
            }
            for i in items
        ]
        tx.insert_later(OUTBOX, rows)
        self.work_queued.set()
        return [str(r["id"]) for r in rows]

    def claim_due(self, limit: int = 50) -> list[Claimed]:
        """Lease the items due now (and any whose previous lease expired: a worker died mid-delivery)."""
        wall = self.rt.clock.wall()
        lease = wall + self.rt.settings.webhook_timeout_seconds + 10
        # A read first: the dispatcher polls often and mostly finds nothing, and a write transaction for nothing
        # would queue behind (and hold up) the requests' writers.
        if self.rt.store.query(_ANY_DUE, {"now": self.rt.clock.now(), "wall": wall}) is None:
            return []
        with self.rt.store.write() as tx:
            params = {"now": self.rt.clock.now(tx), "wall": wall, "limit": limit}
            claimed = []
            for item in tx.scalars(_CLAIM_LOCKED if tx.locks_rows else _CLAIM, params):
                item.status, item.lease_until = "delivering", lease
                claimed.append(
                    Claimed(
                        item.id,
                        item.kind,
                        item.owner,
                        item.event_id,
                        item.event_type,
                        item.url,
                        item.body,
                        item.attempts,
                        bool(item.is_replay),
                    )
                )
        return claimed

    def record(self, item: Claimed, status_code: int | None, error: str | None, took_ms: float) -> Attempt:
        """Record an attempt; the next one is scheduled on the channel's retry schedule, or the item fails."""
        with self.rt.store.write() as tx:
            row = tx.get(OutboxItem, item.id, for_update=True)
            if row is None:  # reset while in flight
                return Attempt(
                    item.id, item.kind, item.event_type, item.url, item.attempts + 1, status_code, error, "gone"
                )
            now = self.rt.clock.now(tx)
            row.attempts += 1
            entry = {"at": iso(now), "status_code": status_code, "error": error, "duration_ms": round(took_ms, 1)}
            row.log = [*row.log, entry]
            row.last_status_code, row.last_error, row.lease_until = status_code, error, 0.0
            if error is None:
                row.status, row.delivered_at, outcome = "delivered", now, "delivered"
            elif row.attempts >= row.max_attempts:
                row.status, outcome = "failed", "failed"
            else:
                row.status, outcome = "pending", "retry_scheduled"
                row.next_attempt_at = now + self.channels[row.kind].retry_delays[row.attempts - 1]
            on_attempt = self.channels[row.kind].on_attempt
            if on_attempt is not None:
                on_attempt(tx, row.target_id, error is None, now)
            return Attempt(row.id, row.kind, row.event_type, row.url, row.attempts, status_code, error, outcome)

    def cancel(self, tx: Tx, target_id: str, reason: str) -> None:
        """Undelivered items of a target (pending retries included) fail with `reason`."""
        items = tx.scalars(
            select(OutboxItem).where(
                OutboxItem.target_id == target_id, OutboxItem.status.in_(("pending", "delivering"))
            )
        )
        for item in items:
            item.status, item.last_error = "failed", reason

    # ------------------------------------------------------------------ reads
    def summaries(self, tx: Tx, kind: str, owner: str) -> list[Summary]:
        """An owner's deliveries, on the few columns listings filter and sort on."""
        cols = (OUTBOX.c.id, OUTBOX.c.created_at, OUTBOX.c.status, OUTBOX.c.event_type, OUTBOX.c.simulation_id)
        rows = tx.mappings(select(*cols).where(OUTBOX.c.kind == kind, OUTBOX.c.owner == owner))
        return [Summary(**r) for r in rows]

    def by_ids(self, tx: Tx, ids: list[str]) -> list[OutboxItem]:
        return tx.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids))) if ids else []

    def item(self, tx: Tx, item_id: str) -> OutboxItem | None:
        return tx.get(OutboxItem, item_id)

    def latest_for_event(self, tx: Tx, kind: str, owner: str, event_id: str) -> OutboxItem | None:
        q = select(OutboxItem).where(
            OutboxItem.kind == kind, OutboxItem.owner == owner, OutboxItem.event_id == event_id
        )
        found = tx.scalars(q.order_by(OutboxItem.created_at.desc()).limit(1))
        return found[0] if found else None

    def items(self, tx: Tx, *, status: str | None = None, kind: str | None = None) -> list[OutboxItem]:
        q = select(OutboxItem)
        if status:
            q = q.where(OutboxItem.status == status)
        if kind:
            q = q.where(OutboxItem.kind == kind)
        return tx.scalars(q.order_by(OutboxItem.created_at, OutboxItem.id))

    @staticmethod
    def to_dict(r: OutboxItem) -> dict[str, Any]:
        """The control plane's view of an item (`GET /_sandbox/webhooks/outbox`)."""
        return {
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
