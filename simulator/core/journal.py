"""The bounded request journal: one row per API call, oldest dropped past `journal_size`."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from sqlalchemy import Float, Integer, String, Table, Text, bindparam, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from simulator.core.driver import prebuilt
from simulator.core.store import Base
from simulator.core.text import storable
from simulator.core.tx import Tx


class JournalEntry(Base):
    __tablename__ = "sandbox_journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    api: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    request_id: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "request_id": self.request_id,
            "note": self.note,
        }


_TABLE = cast(Table, JournalEntry.__table__)
_LAST_ID = prebuilt(select(func.max(_TABLE.c.id)))
_PRUNE = prebuilt(delete(_TABLE).where(_TABLE.c.id <= bindparam("below")))


def write_many(tx: Tx, size: int, rows: list[dict[str, Any]]) -> None:
    """Write entries (one executemany), then prune what fell out of the window (every 50 entries)."""
    if not rows:
        return
    tx.insert(_TABLE, rows)
    last = int(tx.scalar(_LAST_ID) or 0)
    if last % 50 < len(rows) or len(rows) >= 50:
        tx.execute(_PRUNE, {"below": last - size})


class JournalBuffer:
    """Entries collected by one process and written in batches, off the request's critical path.

    A request appends to memory; the dispatcher thread flushes every half second, and reading the journal flushes
    first, so a process always sees its own requests. Other workers' entries appear within one flush interval.
    """

    def __init__(self, size: int, max_pending: int = 200) -> None:
        self.size = size
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.flushed_at = 0.0  # time.monotonic() of the last take()

    def add(self, **fields: Any) -> bool:
        """Queue an entry; True when the buffer is full enough that the caller should flush."""
        # Hostile requests are journalled too: their text is made storable here, so that one entry can never fail
        # the batch it is written with (a lone surrogate, or a NUL on PostgreSQL).
        entry = {k: storable(v) if isinstance(v, str) else v for k, v in fields.items()}
        with self._lock:
            self._pending.append(entry)
            return len(self._pending) >= self.max_pending

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            self.flushed_at = time.monotonic()
            rows, self._pending = self._pending, []
            return rows

    def clear(self) -> None:
        with self._lock:
            self._pending = []


def entries(tx: Tx, *, limit: int, api: str | None = None, since_id: int = 0) -> list[dict[str, Any]]:
    q = select(JournalEntry).where(JournalEntry.id > since_id)
    if api:
        q = q.where(JournalEntry.api == api)
    rows = tx.scalars(q.order_by(JournalEntry.id.desc()).limit(limit))
    return [r.to_dict() for r in reversed(rows)]


def count(tx: Tx) -> int:
    return int(tx.scalar(select(func.count()).select_from(JournalEntry)) or 0)
