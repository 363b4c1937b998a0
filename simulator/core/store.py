"""The one store: SQLAlchemy over a SQLite file (default), in-memory SQLite (tests) or PostgreSQL.

Contract: every domain change happens inside `Store.write()`, one transaction that either commits whole or leaves
nothing. On SQLite a write transaction starts with BEGIN IMMEDIATE, so concurrent writers (threads or worker
processes on one file) serialize instead of failing on lock upgrades; on PostgreSQL, single-use is enforced by
conditional UPDATEs whose row locks make the second writer see the first one's commit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, Float, String, create_engine, event, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

_M = TypeVar("_M")


class Base(DeclarativeBase):
    """Declarative base shared by every table of the sandbox."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, float: Float}


class SandboxState(Base):
    """Small key/value rows shared by all workers (clock offset, seed, settings changed at run time)."""

    __tablename__ = "sandbox_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


SCHEMA_HEAD = "0001_initial"  # the newest revision in simulator/migrations/versions (a test keeps them equal)


def register_models() -> None:
    """Import every model module so its tables are on Base.metadata."""
    from simulator.control import faults as _faults  # noqa: F401
    from simulator.core import journal as _journal  # noqa: F401
    from simulator.dakota import models as _dakota_models  # noqa: F401
    from simulator.sumsub import models as _sumsub_models  # noqa: F401
    from simulator.webhooks import models as _webhook_models  # noqa: F401


def alembic_config(conn: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[1] / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def locked_get(session: Session, model: type[_M], pk: Any) -> _M | None:
    """`session.get`, locking the row (SELECT ... FOR UPDATE) inside a write transaction on PostgreSQL."""
    if session.info.get("lock_rows"):
        return session.get(model, pk, with_for_update=True)
    return session.get(model, pk)


def lock_rows(session: Session) -> bool:
    return bool(session.info.get("lock_rows"))


def _sqlite_file(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path or None


class Store:
    """Owns the engine; hands out read and write transactions."""

    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3 is the driver we ship
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._memory_lock: threading.RLock | None = None
        self._file_write_lock: threading.RLock | None = None
        if self.is_sqlite:
            path = _sqlite_file(url)
            memory = path is None or path == ":memory:"
            if not memory and path is not None:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            if memory:
                # One shared connection, or every thread would see its own empty database; the lock keeps
                # threads from interleaving their transactions on that one connection.
                kwargs["poolclass"] = StaticPool
                self._memory_lock = threading.RLock()
            engine = create_engine(url, **kwargs)
            _install_sqlite_hooks(engine, wal=not memory)
            if not memory:
                self._file_write_lock = threading.RLock()
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = engine
        self._write_engine: Engine = engine.execution_options(sandbox_immediate=True)

    def create_schema(self) -> None:
        """Bring the schema to the current revision: create it on an empty database, migrate an older one.

        A fresh database gets `create_all` plus the head revision stamp (fast: no Alembic import); a database
        at an older revision is upgraded with Alembic. On PostgreSQL an advisory lock serializes sandboxes
        starting at once against one database.
        """
        register_models()
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(715391)"))
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" in tables:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if current != SCHEMA_HEAD:
                    self.migrate(conn)
            elif tables & set(Base.metadata.tables):
                # Made by a version of the sandbox before migrations existed: it is the initial revision.
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES ('0001_initial')"))
                Base.metadata.create_all(conn)  # tables that version did not have yet
                self.migrate(conn)
            else:
                Base.metadata.create_all(conn)
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": SCHEMA_HEAD})

    @staticmethod
    def migrate(conn: Any) -> None:
        """`alembic upgrade head` on this connection."""
        from alembic import command

        command.upgrade(alembic_config(conn), "head")

    def drop_schema(self) -> None:
        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never blocks writers on SQLite WAL)."""
        with self._serialized(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back everything on any exception."""
        with (
            self._serialized(),
            self._process_writer(),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            # SQLite serializes write transactions already (BEGIN IMMEDIATE); elsewhere rows read for update
            # are locked, so concurrent read-modify-write cycles (JSON columns, the clock) lose nothing.
            session.info["lock_rows"] = not self.is_sqlite
            yield session

    @contextmanager
    def _process_writer(self) -> Iterator[None]:
        # SQLite allows one writer; threads of one process queue here instead of in SQLite's busy handler, which
        # sleeps in growing steps and would cost far more than the wait itself. Other processes still use it.
        if self._file_write_lock is None:
            yield
            return
        with self._file_write_lock:
            yield

    @contextmanager
    def _serialized(self) -> Iterator[None]:
        if self._memory_lock is None:
            yield
            return
        with self._memory_lock:
            yield

    def get_state(self, session: Session, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        """A state row; `for_update` locks it (PostgreSQL) for a read-modify-write cycle."""
        row = locked_get(session, SandboxState, key) if for_update else session.get(SandboxState, key)
        return dict(row.value) if row is not None else None

    def put_state(self, session: Session, key: str, value: dict[str, Any]) -> None:
        row = session.get(SandboxState, key)
        if row is None:
            session.add(SandboxState(key=key, value=value))
        else:
            row.value = value

    def state_keys(self, session: Session) -> list[str]:
        return list(session.scalars(select(SandboxState.key)))

    def dispose(self) -> None:
        self.engine.dispose()


def _install_sqlite_hooks(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sandbox_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
