"""The bounded request journal: one row per API call, oldest dropped past `journal_size`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Float, Integer, String, Text, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.core.store import Base


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


def record(session: Session, size: int, **fields: Any) -> None:
    # Hostile input is journalled too: make it storable everywhere (PostgreSQL text refuses NUL).
    clean = {k: v.replace("\x00", "\\0") if isinstance(v, str) else v for k, v in fields.items()}
    # A Core INSERT, not the ORM unit of work: this runs on every request, and the ORM's add + flush cost more
    # than the rest of a small GET.
    result: CursorResult[Any] = session.execute(insert(JournalEntry).values(**clean))  # type: ignore[assignment]
    pk = result.inserted_primary_key
    entry_id = int(pk[0]) if pk else 0
    # Prune in batches so most requests pay one INSERT only.
    if entry_id % 50 == 0:
        session.execute(delete(JournalEntry).where(JournalEntry.id <= entry_id - size))


def entries(session: Session, *, limit: int, api: str | None = None, since_id: int = 0) -> list[dict[str, Any]]:
    q = select(JournalEntry).where(JournalEntry.id > since_id)
    if api:
        q = q.where(JournalEntry.api == api)
    rows = session.scalars(q.order_by(JournalEntry.id.desc()).limit(limit))
    return [r.to_dict() for r in reversed(list(rows))]


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)
