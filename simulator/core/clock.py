"""The one simulated clock. Real time by default; advanced, set or frozen through the control plane.

Its offset lives in the store (`sandbox_state['clock']`), so every worker process agrees on "now". Only Sumsub's
request-signature window uses wall time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulator.core.errors import ControlError
from simulator.core.ids import KSUID_LAST_EPOCH
from simulator.core.store import Store
from simulator.core.tx import Tx

_KEY = "clock"
# The latest simulated time: Dakota's ids (KSUIDs) are minted from "now", and their timestamps end here.
LATEST = float(KSUID_LAST_EPOCH)


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

    def _state(self, tx: Tx, *, for_update: bool = False) -> ClockState:
        # Read once per transaction (`Tx.clock`): a write transaction reads "now" several times (a bulk-import row
        # four times). Every change goes through `_remember`, so the memo never outlives a change in its transaction.
        if isinstance(tx.clock, ClockState) and not for_update:
            return tx.clock
        # Only changes lock the clock row: every write transaction reads "now", and locking it there would
        # serialize all writers of a PostgreSQL sandbox on one row.
        if for_update:
            raw = self._store.get_state(tx, _KEY, for_update=True)
        else:  # the process cache while nothing changed state (a SELECT per transaction otherwise)
            raw = self._store.cached_state(tx, _KEY)[_KEY]
        st = _clock_state(raw)
        tx.clock = st
        return st

    def _remember(self, tx: Tx, st: ClockState) -> None:
        self._store.put_state(tx, _KEY, st.to_dict())
        tx.clock = st
        self._approx = None

    def now(self, tx: Tx | None = None) -> float:
        """Current simulated time; pass the open transaction to read it inside one."""
        if tx is not None:
            return self._state(tx).now(self.wall())
        # Outside a transaction: the process cache, which opens a read itself only when it must (a transaction
        # around a cache hit cost more than the rest of a GET).
        return _clock_state(self._store.cached_state(None, _KEY)[_KEY]).now(self.wall())

    def approximate_now(self, max_age: float = 0.2) -> float:
        """Simulated time from a state at most `max_age` seconds old: for records (the journal), never decisions."""
        cached = self._approx
        mono = time.monotonic()
        if cached is None or mono - cached[0] > max_age:
            with self._store.read() as t:
                cached = (mono, self._state(t))
            self._approx = cached
        return cached[1].now(self.wall())

    def now_dt(self, tx: Tx | None = None) -> datetime:
        return datetime.fromtimestamp(self.now(tx), tz=UTC)

    def describe(self, tx: Tx | None = None) -> dict[str, Any]:
        if tx is None:
            with self._store.read() as t:
                return self.describe(t)
        st = self._state(tx)
        now = st.now(self.wall())
        return {
            "now": iso(now),
            "epoch": now,
            "offset_seconds": st.offset if st.frozen_at is None else st.frozen_at - self.wall(),
            "frozen": st.frozen_at is not None,
        }

    def advance(self, tx: Tx, seconds: float) -> float:
        """Move simulated time forward; returns the new now."""
        if math.isnan(seconds):  # Python's JSON reads NaN, and every comparison with it is false
            raise ControlError("seconds is required: a number >= 0", field="seconds")
        if seconds < 0:
            raise ControlError("seconds must be >= 0: the simulated clock never goes back", field="seconds")
        st = self._state(tx, for_update=True)
        if st.frozen_at is not None:
            new = ClockState(offset=st.offset, frozen_at=st.frozen_at + seconds)
        else:
            new = ClockState(offset=st.offset + seconds, frozen_at=None)
        _within_range(new.now(self.wall()), "seconds")
        self._remember(tx, new)
        return new.now(self.wall())

    def set(self, tx: Tx, *, epoch: float | None = None, frozen: bool | None = None) -> float:
        """Jump to `epoch` (never backwards) and/or freeze or unfreeze time."""
        st = self._state(tx, for_update=True)
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
        self._remember(tx, new)
        return new.now(wall)

    def reset(self, tx: Tx) -> None:
        self._remember(tx, ClockState())


def instant(value: str | float) -> float:
    """`now` as the control plane takes it (an RFC 3339 timestamp with a timezone, or epoch seconds) in epoch
    seconds; its shape was checked against the contract."""
    if not isinstance(value, str):
        return float(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ControlError(f"now: {value!r} is not an RFC 3339 timestamp", field="now") from None
    if moment.tzinfo is None:
        raise ControlError("now must carry a timezone (e.g. 2026-01-01T00:00:00Z)", field="now")
    return moment.timestamp()


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
