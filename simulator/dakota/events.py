"""Dakota's events and webhooks: emitting events to the outbox, signing deliveries (Ed25519), and the API's
events, webhook targets, delivery history and replays."""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.core.clock import iso
from simulator.core.context import current_request
from simulator.core.errors import ControlError
from simulator.core.events import Channel, Delivery, Outgoing
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.dakota import errors as p
from simulator.dakota import queries as q
from simulator.dakota import signing
from simulator.dakota.applications import paginate
from simulator.dakota.models import WebhookTarget
from simulator.webhooks.outbox import Outbox

KIND = "dakota"
# About ten attempts over a day and more (third-party reports; Dakota does not publish its schedule).
RETRY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
API_VERSION = "1.0.0"
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


class Events:
    def __init__(self, rt: Runtime, outbox: Outbox) -> None:
        self.rt = rt
        self.outbox = outbox
        self._key: Ed25519PrivateKey | None = None
        self._key_lock = threading.Lock()

    # ------------------------------------------------------------------ emitting
    def emit(
        self,
        tx: Tx,
        organization_id: str,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        simulation_id: str | None = None,
    ) -> None:
        """Record the event and queue a delivery to every target that wants it (same transaction)."""
        now = self.rt.clock.now(tx)
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
        # The next sequence number, read once per transaction (a bulk import emits one event per row).
        if organization_id not in tx.event_seq:
            tx.event_seq[organization_id] = q.last_event_seq(tx, organization_id)
        tx.event_seq[organization_id] += 1
        event = q.EventRow(
            event_id, organization_id, event_type, now, envelope, simulation_id, 0, tx.event_seq[organization_id]
        )
        q.insert_event(tx, event)
        self._queue(tx, event, [t for t in self.routes(tx, organization_id) if t.wants(event_type)], replay=False)

    def _queue(self, tx: Tx, event: q.EventRow, targets: list[q.TargetRoute], *, replay: bool) -> list[str]:
        body = json.dumps(event.envelope, separators=(",", ":"), ensure_ascii=False)
        items = [
            Outgoing(KIND, event.organization_id, event.id, event.type, t.url, body, t.id, event.simulation_id, replay)
            for t in targets
        ]
        return self.outbox.queue(tx, items)

    def routes(self, tx: Tx, organization_id: str) -> list[q.TargetRoute]:
        """Where the organisation's events go: kept per process until a target changes (every change marks its
        transaction `state_changed`)."""
        return self.rt.store.cached(
            tx, f"dakota:targets:{organization_id}", lambda t: q.target_routes(t, organization_id)
        )

    # ------------------------------------------------------------------ signing
    def ensure_key(self, tx: Tx) -> None:
        """Create the sandbox's Ed25519 signing key once (seeded runs get the same key)."""
        if self.rt.store.get_state(tx, KEY_STATE) is None:
            self.rt.store.put_state(tx, KEY_STATE, {"seed_hex": self.rt.ids.hex(64)})

    def signing_key(self) -> Ed25519PrivateKey:
        with self._key_lock:
            if self._key is None:
                with self.rt.store.read() as tx:
                    state = self.rt.store.get_state(tx, KEY_STATE)
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
        return {
            "algorithm": "ed25519",
            "public_key_hex": hex_,
            "public_key_base64": base64.b64encode(bytes.fromhex(hex_)).decode(),
            "public_key_pem": signing.public_key_pem(key),
            "signed_message": "X-Webhook-Timestamp header value followed by the raw request body (no separator)",
            "headers": ["X-Webhook-Signature", "X-Webhook-Timestamp", "X-Dakota-Event-ID", "X-Dakota-Event-Type"],
        }

    def channel(self) -> Channel:
        """Deliveries signed with Ed25519 over timestamp + body; each attempt stamps its target's health."""

        def sign(delivery: Delivery, body: bytes) -> dict[str, str]:
            ts = str(int(self.rt.clock.wall()))
            headers = {
                "X-Webhook-Signature": signing.dakota_signature(self.signing_key(), ts, body),
                "X-Webhook-Timestamp": ts,
                "X-Dakota-Event-ID": delivery.event_id,
                "X-Dakota-Event-Type": delivery.event_type,
            }
            if delivery.replay:
                headers["X-Webhook-Replay"] = "true"
            return headers

        def on_attempt(tx: Tx, target_id: str | None, delivered: bool, now: float) -> None:
            if target_id is not None:
                q.touch_target(tx, target_id, delivered=delivered, now=now)

        return Channel(RETRY_DELAYS, sign, on_attempt)

    # ------------------------------------------------------------------ the API: targets
    def create_target(self, tx: Tx, org: str, body: Any) -> WebhookTarget:
        if not isinstance(body, dict):
            raise p.invalid("Request body must be a JSON object", "body")
        url = _valid_url(body.get("url"))
        global_ = body.get("global", False)
        if not isinstance(global_, bool):
            raise p.invalid("global must be a boolean", "global")
        types = _valid_types(body.get("event_types", []))
        if not global_ and not types:
            raise p.invalid("event_types must list at least one event type unless global is true", "event_types")
        now = self.rt.clock.now(tx)
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
        tx.add(target)
        tx.flush()
        tx.mark_state_changed()  # workers drop their copies of the routing (see `routes`)
        return target

    def target(self, tx: Tx, org: str, target_id: str) -> WebhookTarget:
        t = q.target(tx, target_id) if len(target_id) <= 64 else None
        if t is None or t.organization_id != org:
            raise p.not_found("Webhook target")
        return t

    def update_target(self, tx: Tx, org: str, target_id: str, body: Any) -> WebhookTarget:
        t = self.target(tx, org, target_id)
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
        tx.mark_state_changed()
        return t

    def delete_target(self, tx: Tx, org: str, target_id: str) -> None:
        """Delete a target; its undelivered webhooks (pending retries included) are cancelled as failed."""
        target = self.target(tx, org, target_id)
        self.outbox.cancel(tx, target.id, "webhook target deleted")
        tx.delete(target)
        tx.mark_state_changed()

    def list_targets(self, tx: Tx, org: str, args: dict[str, str]) -> dict[str, Any]:
        """GET /webhooks/targets: a page of the organisation's targets."""
        page, meta = paginate(q.targets(tx, org), args, lambda t: t.id)
        return {"data": [self.target_dict(t) for t in page], "meta": meta}

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

    # ------------------------------------------------------------------ the API: events, history, replay
    def list_events(self, tx: Tx, org: str, args: dict[str, str]) -> dict[str, Any]:
        """GET /events: a page of the organisation's events."""
        page, meta = paginate(q.event_ids(tx, org), args, lambda event_id: event_id)
        return {"data": self.envelopes(tx, page), "meta": meta}

    def envelopes(self, tx: Tx, ids: list[str]) -> list[dict[str, Any]]:
        """The `Event` envelopes of these events, in this order."""
        found = q.envelopes(tx, ids)
        return [found[i] for i in ids]

    def history(self, tx: Tx, org: str, args: dict[str, str]) -> dict[str, Any]:
        status = args.get("status")
        if status is not None and status not in ("delivered", "failed", "pending"):
            raise p.invalid("status must be delivered, failed or pending", "status")
        raw_limit = args.get("limit") or "20"
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 100:
            raise p.invalid("limit must be an integer between 1 and 100", "limit")
        limit = int(raw_limit)
        # Filtered and paged on five columns (every page reads the organisation's whole history); only the page's
        # deliveries are loaded whole.
        rows = sorted(self.outbox.summaries(tx, KIND, org), key=lambda r: (-r.created_at, r.id))
        if status:
            rows = [r for r in rows if _public_status(r.status) == status]
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
        loaded = {i.id: i for i in self.outbox.by_ids(tx, page)}
        replays = q.replay_counts(tx, [loaded[i].event_id for i in page])
        return {
            "data": [self.delivery_dict(loaded[i], replays.get(loaded[i].event_id, 0)) for i in page],
            "has_more": has_more,
            "cursor": page[-1] if has_more and page else None,
        }

    def delivery(self, tx: Tx, org: str, ident: str) -> dict[str, Any]:
        item = self.outbox.item(tx, ident) if len(ident) <= 64 else None
        if item is None:
            item = self.outbox.latest_for_event(tx, KIND, org, ident)
        if item is None or item.owner != org or item.kind != KIND:
            raise p.not_found("Webhook delivery")
        return self.delivery_dict(item, q.replay_counts(tx, [item.event_id]).get(item.event_id, 0))

    @staticmethod
    def delivery_dict(r: Any, replay_count: int) -> dict[str, Any]:
        return {
            "id": r.id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "endpoint_url": r.url,
            "status": _public_status(r.status),
            "attempts": r.attempts,
            "created_at": iso(r.created_at),
            "delivered_at": iso(r.delivered_at) if r.delivered_at is not None else None,
            "simulation_id": r.simulation_id,
            "is_replay": bool(r.is_replay),
            "replay_count": replay_count,
            "payload": json.loads(r.body),
            "next_attempt_at": iso(r.next_attempt_at) if r.status == "pending" else None,
            "last_error": r.last_error,
            "log": list(r.log),
        }

    def replay(self, tx: Tx, org: str, event_id: str) -> dict[str, Any]:
        event = q.event(tx, event_id) if len(event_id) <= 64 else None
        if event is None or event.organization_id != org:
            raise p.not_found("Webhook delivery")
        if event.replay_count >= MAX_REPLAYS:
            raise p.DakotaProblem(409, f"Replay limit exceeded (max {MAX_REPLAYS} per event)")
        queued = self._queue(tx, event, [t for t in q.target_routes(tx, org) if t.wants(event.type)], replay=True)
        q.count_replay(tx, event.id)
        return {"webhook_id": queued[0] if queued else event.id, "status": "queued", "replayed_to_count": len(queued)}


def _public_status(status: str) -> str:
    """The status an outbox item shows on Dakota's API."""
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
