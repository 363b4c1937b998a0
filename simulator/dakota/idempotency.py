"""`x-idempotency-key` on POSTs: replay the first response, 422 on another body, 409 while in flight.

Records are per API key, live for the idempotency window on the simulated clock, and hold a lease in wall time
so a worker killed mid-request does not block retries forever.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulator.core.runtime import Runtime
from simulator.core.store import FastQuery, execute_in, fetch_in, insert_now
from simulator.dakota import problems as p
from simulator.dakota.models import IdempotencyRecord

_RECORDS = cast(Table, IdempotencyRecord.__table__)
_PK = (_RECORDS.c.api_key == bindparam("p_api_key"), _RECORDS.c.idempotency_key == bindparam("p_key"))
_COMPLETE = FastQuery(
    update(_RECORDS)
    .where(*_PK)
    .values(
        state=bindparam("state"),
        status_code=bindparam("status_code"),
        response=bindparam("response", type_=_RECORDS.c.response.type),
    )
)
_DELETE = FastQuery(delete(_RECORDS).where(*_PK))
_TAKE_OVER = FastQuery(
    update(_RECORDS)
    .where(*_PK, _RECORDS.c.lease_until == bindparam("p_lease"))
    .values(lease_until=bindparam("lease_until"))
)
_READ_COLUMNS = ("created_at", "body_sha256", "path", "method", "state", "status_code", "response", "lease_until")
_READ = FastQuery(select(*(_RECORDS.c[name] for name in _READ_COLUMNS)).where(*_PK), decode=True)
_CREATED, _SHA, _PATH, _METHOD, _STATE, _STATUS, _RESPONSE, _LEASE = range(len(_READ_COLUMNS))


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_key(raw: str | None) -> str:
    """Required on POST and must be a UUID (Dakota rejects other formats)."""
    if raw is None or raw.strip() == "":
        raise p.invalid(
            "Missing x-idempotency-key header: POST requests require a unique UUID",
            "x-idempotency-key",
            "required",
        )
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise p.invalid(
            "Invalid x-idempotency-key: must be a UUID (e.g. 123e4567-e89b-12d3-a456-426614174000)",
            "x-idempotency-key",
            "invalid_format",
        ) from None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Idempotency:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def begin(self, api_key: str, key: str, method: str, path: str, digest: str) -> Replay | None:
        """Claim the key (own transaction, committed at once), or say what the first request got."""
        for _attempt in range(3):
            try:
                return self._begin_once(api_key, key, method, path, digest)
            except IntegrityError:
                continue  # another worker inserted the same key first: read it on the next pass
        raise p.DakotaProblem(409, "A request with this x-idempotency-key is already in progress")

    def _begin_once(self, api_key: str, key: str, method: str, path: str, digest: str) -> Replay | None:
        with self.rt.store.write() as session:
            return self.claim(session, api_key, key, method, path, digest)

    def claim(self, session: Session, api_key: str, key: str, method: str, path: str, digest: str) -> Replay | None:
        """`begin` inside the caller's write transaction: the claim commits (or rolls back) with the caller's
        work. A concurrent claim of the same key waits for this transaction, then sees the claim. Raises
        IntegrityError when another transaction inserted the same key first (retry the transaction)."""
        s = self.rt.settings
        now = self.rt.clock.now(session)
        wall = self.rt.clock.wall()
        pk = {"p_api_key": api_key, "p_key": key}
        # Records are only ever written with Core, so a raw read inside the transaction sees all of them (an ORM
        # get cost more than the rest of the claim).
        rec = fetch_in(session, _READ, **pk)
        if rec is not None and now - rec[_CREATED] > s.idempotency_window_seconds:
            execute_in(session, _DELETE, pk)
            rec = None
        if rec is None:
            # It fails at once on a duplicate key (another transaction claimed it first).
            insert_now(
                session,
                _RECORDS,
                {
                    "api_key": api_key,
                    "idempotency_key": key,
                    "method": method,
                    "path": path,
                    "body_sha256": digest,
                    "state": "in_flight",
                    "created_at": now,
                    "lease_until": wall + s.idempotency_lease_seconds,
                },
            )
            return None
        if rec[_SHA] != digest or rec[_PATH] != path or rec[_METHOD] != method:
            raise p.DakotaProblem(
                422,
                "x-idempotency-key was already used with a different request body or path; "
                "use a fresh key per logical operation",
                errors=[
                    {
                        "field": "x-idempotency-key",
                        "message": "reused with a different request",
                        "code": "reused",
                    }
                ],
            )
        response = rec[_RESPONSE]
        if rec[_STATE] == "done" and response is not None and rec[_STATUS] is not None:
            return Replay(int(rec[_STATUS]), dict(response))
        # A live lease means the first attempt is still running; an expired one, that it died: take it over,
        # unless another retry just did (the conditional UPDATE lets exactly one of them).
        lease = {"p_lease": rec[_LEASE], "lease_until": wall + s.idempotency_lease_seconds}
        if rec[_LEASE] > wall or execute_in(session, _TAKE_OVER, {**pk, **lease}) != 1:
            raise p.DakotaProblem(
                409,
                "A request with this x-idempotency-key is still in progress; retry after it completes",
            )
        return None

    def run(
        self,
        api_key: str,
        raw_key: str | None,
        method: str,
        path: str,
        raw_body: bytes,
        execute: Callable[[], tuple[int, dict[str, Any]]],
    ) -> Outcome:
        """Execute once per (API key, idempotency key); replay the stored response afterwards.

        A request that raises (a 4xx problem, or a crash) stores nothing: retrying with the same key runs again.
        """
        key = parse_key(raw_key)
        replay = self.begin(api_key, key, method, path, body_hash(raw_body))
        if replay is not None:
            return Outcome(replay.status, replay.body, replayed=True)
        try:
            status, body = execute()
        except BaseException:
            self.release(api_key, key)
            raise
        self.finish(api_key, key, status, body)
        return Outcome(status, body)

    def finish(self, api_key: str, key: str, status: int, body: dict[str, Any]) -> None:
        with self.rt.store.write() as session:
            self.complete(session, api_key, key, status, body)

    def complete(self, session: Session, api_key: str, key: str, status: int, body: dict[str, Any]) -> None:
        """`finish` inside the caller's write transaction: the response is stored with the request's last work."""
        execute_in(
            session,
            _COMPLETE,
            {"p_api_key": api_key, "p_key": key, "state": "done", "status_code": status, "response": body},
        )

    def release(self, api_key: str, key: str) -> None:
        """Forget an in-flight claim whose request failed before producing a response."""
        with self.rt.store.write() as session:
            rec = session.get(IdempotencyRecord, (api_key, key))
            if rec is not None and rec.state == "in_flight":
                session.delete(rec)
