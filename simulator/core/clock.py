"""The one simulated clock. Real time by default; advanced, set or frozen through the control plane.

Its offset lives in the store (`sandbox_state['clock']`), so every worker process agrees on "now". Only Sumsub's
request-signature window uses wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from simulator.core.errors import ControlError
from simulator.core.ids import KSUID_LAST_EPOCH
from simulator.core.store import Store

_KEY = "clock"
# The latest simulated time: Dakota's ids (KSUIDs) are minted from "now", and their timestamps end here.
LATEST = float(KSUID_LAST_EPOCH)
# The state read once per transaction is kept in `session.info`: a write transaction reads "now" several times
# (a bulk-import row four times), and each read would otherwise be a SELECT (the ORM identity map only holds the
# row weakly). Every change below goes through `_remember`, so the cache never outlives a change in its session.
_SESSION_CACHE = "sandbox_clock_state"


@dataclass(frozen=True)
class ClockState:
    offset: float = 0.0
    frozen_at: float | None = None

    def now(self, wall: float) -> float:
        return self.frozen_at if self.frozen_at is not None else wall + self.offset

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "frozen_at": self.frozen_at}


def _clock_state(raw: dict[str, Any] | None) -> ClockState:
    return ClockState(offset=float(raw.get("offset", 0.0)), frozen_at=raw.get("frozen_at")) if raw else ClockState()


class Clock:
    """Simulated time in epoch seconds (float)."""

    def __init__(self, store: Store, wall: Any = time.time) -> None:
        self._store = store
        self._wall = wall
        self._approx: tuple[float, ClockState] | None = None

    def wall(self) -> float:
        return float(self._wall())

    def _state(self, session: Session, *, for_update: bool = False) -> ClockState:
        cached = session.info.get(_SESSION_CACHE)
        if isinstance(cached, ClockState) and not for_update:
            return cached
        # Only changes lock the clock row: every write transaction reads "now", and locking it there would
        # serialize all writers of a PostgreSQL sandbox on one row.
        if for_update:
            raw = self._store.get_state(session, _KEY, for_update=True)
        else:  # the process cache while nothing changed state (a SELECT per transaction otherwise)
            raw = self._store.cached_state(session, _KEY)[_KEY]
        st = _clock_state(raw)
        session.info[_SESSION_CACHE] = st
        return st

    def _remember(self, session: Session, st: ClockState) -> None:
        self._store.put_state(session, _KEY, st.to_dict())
        session.info[_SESSION_CACHE] = st
        self._approx = None

    def now(self, session: Session | None = None) -> float:
        """Current simulated time; pass the open session to read it inside a transaction."""
        if session is not None:
            return self._state(session).now(self.wall())
        # Outside a transaction: the process cache, which opens a read itself only when it must (a transaction
        # around a cache hit cost more than the rest of a GET).
        return _clock_state(self._store.cached_state(None, _KEY)[_KEY]).now(self.wall())

    def approximate_now(self, max_age: float = 0.2) -> float:
        """Simulated time from a state at most `max_age` seconds old: for records (the journal), never decisions."""
        cached = self._approx
        mono = time.monotonic()
        if cached is None or mono - cached[0] > max_age:
            with self._store.read() as s:
                cached = (mono, self._state(s))
            self._approx = cached
        return cached[1].now(self.wall())

    def now_dt(self, session: Session | None = None) -> datetime:
        return datetime.fromtimestamp(self.now(session), tz=UTC)

    def describe(self, session: Session | None = None) -> dict[str, Any]:
        if session is None:
            with self._store.read() as s:
                return self.describe(s)
        st = self._state(session)
        now = st.now(self.wall())
        return {
            "now": iso(now),
            "epoch": now,
            "offset_seconds": st.offset if st.frozen_at is None else st.frozen_at - self.wall(),
            "frozen": st.frozen_at is not None,
        }

    def advance(self, session: Session, seconds: float) -> float:
        """Move simulated time forward; returns the new now."""
        if seconds < 0:
            raise ControlError("seconds must be >= 0: the simulated clock never goes back", field="seconds")
        st = self._state(session, for_update=True)
        if st.frozen_at is not None:
            new = ClockState(offset=st.offset, frozen_at=st.frozen_at + seconds)
        else:
            new = ClockState(offset=st.offset + seconds, frozen_at=None)
        _within_range(new.now(self.wall()), "seconds")
        self._remember(session, new)
        return new.now(self.wall())

    def set(self, session: Session, *, epoch: float | None = None, frozen: bool | None = None) -> float:
        """Jump to `epoch` (never backwards) and/or freeze or unfreeze time."""
        st = self._state(session, for_update=True)
        wall = self.wall()
        current = st.now(wall)
        target = current if epoch is None else float(epoch)
        if target < current - 1e-6:
            raise ControlError(
                f"cannot set the clock back from {iso(current)} to {iso(target)}: it only moves forward",
                field="now",
            )
        _within_range(target, "now")
        freeze = (st.frozen_at is not None) if frozen is None else frozen
        new = ClockState(offset=st.offset, frozen_at=target) if freeze else ClockState(offset=target - wall)
        self._remember(session, new)
        return new.now(wall)

    def reset(self, session: Session) -> None:
        self._remember(session, ClockState())


def _within_range(epoch: float, field: str) -> None:
    if epoch > LATEST:
        raise ControlError(
            f"the simulated clock cannot pass {iso(LATEST)}: Dakota's ids (KSUIDs) carry a 32-bit timestamp "
            f"that ends there (asked for {iso(epoch)})",
            field=field,
        )


def iso(epoch: float) -> str:
    """RFC 3339 UTC with a Z, seconds precision (Dakota's date-time style)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sumsub_datetime(epoch: float) -> str:
    """Sumsub's 'YYYY-MM-DD HH:MM:SS' (GMT)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def sumsub_review_datetime(epoch: float) -> str:
    """Sumsub's review dates: 'YYYY-MM-DD HH:MM:SS+0000'."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S+0000")
