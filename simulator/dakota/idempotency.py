"""`x-idempotency-key` on POSTs: replay the first response, 422 on another request, 409 while in flight.

One protocol for every POST: the key is claimed inside the write transaction that does the request's work, and
the response is stored in the transaction that finishes it. A request done in one transaction (every POST but the
bulk import) therefore leaves nothing behind when it fails or its worker dies, and a concurrent duplicate waits for
that transaction, then replays. A request done in several transactions (the bulk import, chunk by chunk) stores
its progress with each one, under a lease in wall time: a retry after the lease ran out (the worker died), or at
once after the request gave up, takes the key over and carries on where it stopped, so rows already done are
never run twice and never lost. Records are per API key and live for the idempotency window on the simulated
clock. The same request means the same method, path and body; a JSON body is compared parsed, not byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from simulator.core.ids import canonical_uuid
from simulator.core.runtime import Runtime
from simulator.core.text import BodyError, decode_json
from simulator.core.tx import Tx
from simulator.dakota import errors as p
from simulator.dakota import queries as q

IN_PROGRESS = "A request with this x-idempotency-key is still in progress; retry after it completes"
REUSED = (
    "x-idempotency-key was already used with a different request body or path; use a fresh key per logical operation"
)


class ClaimRace(Exception):
    """Another transaction inserted the same key first: roll back and begin again (it then replays or is 409)."""


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Begun:
    """What claiming a key found: a response to replay, or the key is ours (`progress`: what a request that gave up
    or died stored before it stopped, for the taker-over to carry on from)."""

    replay: Replay | None = None
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_key(raw: str | None) -> str:
    """Required on POST: a UUID in its canonical 8-4-4-4-12 form (the spec's `format: uuid`), kept lowercase."""
    if raw is None or raw.strip() == "":
        raise p.invalid(
            "Missing x-idempotency-key header: POST requests require a unique UUID",
            "x-idempotency-key",
            "required",
        )
    key = canonical_uuid(raw.strip())
    if key is None:
        raise p.invalid(
            "Invalid x-idempotency-key: must be a UUID in its canonical form "
            "(e.g. 123e4567-e89b-12d3-a456-426614174000)",
            "x-idempotency-key",
            "invalid_format",
        )
    return key


def request_digest(body: bytes) -> str:
    """What "the same body" means: a JSON body compared as parsed (whitespace and key order do not matter), any
    other body byte for byte."""
    if body.strip():
        try:
            parsed = decode_json(body)
        except BodyError:
            pass
        else:
            body = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest()


class Idempotency:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def begin(self, tx: Tx, owner: str, key: str, method: str, path: str, digest: str) -> Begun:
        """Claim the key inside the caller's write transaction, or say what the first request got.

        The claim commits (or rolls back) with the caller's work. Raises 422 for another request under the key, 409
        while another request holds it, and `ClaimRace` when another transaction inserted it first."""
        s = self.rt.settings
        now = self.rt.clock.now(tx)
        wall = self.rt.clock.wall()
        rec = q.idempotency_record(tx, owner, key)
        if rec is not None and now - rec.created_at > s.idempotency_window_seconds:
            q.delete_idempotency_record(tx, owner, key)
            rec = None
        if rec is None:
            try:
                q.insert_idempotency_record(
                    tx,
                    {
                        "api_key": owner,
                        "idempotency_key": key,
                        "method": method,
                        "path": path,
                        "body_sha256": digest,
                        "state": "in_flight",
                        "created_at": now,
                        "lease_until": wall + s.idempotency_lease_seconds,
                    },
                )
            except IntegrityError:
                raise ClaimRace() from None
            return Begun()
        if rec.body_sha256 != digest or rec.path != path or rec.method != method:
            raise p.DakotaProblem(
                422,
                REUSED,
                errors=[{"field": "x-idempotency-key", "message": "reused with a different request", "code": "reused"}],
            )
        if rec.state == "done" and rec.response is not None and rec.status_code is not None:
            return Begun(replay=Replay(int(rec.status_code), dict(rec.response)))
        # In flight: a live lease means the request is still running; an expired one, that it died or gave up. Take
        # it over, unless another retry just did (the conditional UPDATE lets exactly one of them).
        lease_until = wall + s.idempotency_lease_seconds
        taken = rec.lease_until <= wall and q.update_idempotency_record(
            tx, owner, key, only_if_lease=rec.lease_until, lease_until=lease_until
        )
        if not taken:
            raise p.DakotaProblem(409, IN_PROGRESS)
        return Begun(progress=dict(rec.response or {}))

    def save_progress(self, tx: Tx, owner: str, key: str, progress: dict[str, Any]) -> None:
        """Store what a multi-transaction request has done so far (and renew its lease) in the caller's transaction."""
        lease_until = self.rt.clock.wall() + self.rt.settings.idempotency_lease_seconds
        q.update_idempotency_record(tx, owner, key, response=progress, lease_until=lease_until)

    def complete(self, tx: Tx, owner: str, key: str, status: int, body: dict[str, Any]) -> None:
        """Store the response in the caller's transaction, the one that finishes the request's work."""
        q.update_idempotency_record(tx, owner, key, state="done", status_code=status, response=body)

    def give_up(self, owner: str, key: str) -> None:
        """A multi-transaction request stopped before its response: end its lease, so a retry carries on at once."""
        with self.rt.store.write() as tx:
            record = q.idempotency_record(tx, owner, key)
            if record is not None and record.state == "in_flight":
                q.update_idempotency_record(tx, owner, key, lease_until=0.0)

    def run(
        self,
        owner: str,
        raw_key: str | None,
        method: str,
        path: str,
        raw_body: bytes,
        action: Callable[[Tx], tuple[int, dict[str, Any]]],
    ) -> Outcome:
        """`action(session)` once per (owner, idempotency key), in one write transaction with the claim and the
        stored response; later requests with the key replay that response. A request that raises stores nothing."""
        key = parse_key(raw_key)
        digest = request_digest(raw_body)
        for _attempt in range(3):
            try:
                with self.rt.store.write() as tx:
                    begun = self.begin(tx, owner, key, method, path, digest)
                    if begun.replay is not None:
                        return Outcome(begun.replay.status, begun.replay.body, replayed=True)
                    status, body = action(tx)
                    self.complete(tx, owner, key, status, body)
                return Outcome(status, body)
            except ClaimRace:
                continue  # the other transaction committed: the next pass replays it (or is 409)
        raise p.DakotaProblem(409, IN_PROGRESS)
