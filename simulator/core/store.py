"""The one store: SQLAlchemy over a SQLite file (default), in-memory SQLite (tests) or PostgreSQL.

Contract: every domain change happens inside `Store.write()`, one transaction (a `Tx`, see core.tx) that either
commits whole or leaves nothing. On SQLite a write transaction starts with BEGIN IMMEDIATE, after queueing on the
`WriterLock`, so concurrent writers (threads or worker processes on one file) serialize instead of failing on lock
upgrades; on PostgreSQL, rows read for update are locked (`Tx.get(..., for_update=True)`) and single use is a
conditional UPDATE whose row lock makes the second writer see the first one's commit.

Only SQLAlchemy's public API is used: `Session` and Core statements for everything, engine events for SQLite's
pragmas and BEGIN (the pattern SQLAlchemy documents for pysqlite), AUTOCOMMIT connections for single-statement
reads.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Executable,
    Float,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from simulator.core import driver
from simulator.core.tx import Tx

_T = TypeVar("_T")


class Base(DeclarativeBase):
    """Declarative base shared by every table of the sandbox."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, float: Float}


class SandboxState(Base):
    """Small key/value rows shared by all workers (clock offset, seed, settings changed at run time)."""

    __tablename__ = "sandbox_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


_STATE = cast(Table, SandboxState.__table__)
_STATE_ROWS = select(_STATE.c.key, _STATE.c.value).where(_STATE.c.key.in_(bindparam("keys", expanding=True)))
_VERSION = select(_STATE.c.value).where(_STATE.c.key == bindparam("key"))
VERSION_STATE = "_state_version"  # the change signal on PostgreSQL (see Store.cached)
# The PostgreSQL advisory lock that serializes preparing a database (schema, then seed) across starting sandboxes.
PREPARE_LOCK_KEY = 715391
SCHEMA_HEAD = "0002_event_seq_index"  # the newest revision in simulator/migrations/versions (a test keeps them equal)
WAL_AUTOCHECKPOINT_PAGES = 20_000  # about 80 MB of WAL at most between checkpoints when none runs in the background
SQLITE_POOL = 16  # a worker's threads (8), its dispatcher, and room: SQLite connections are cheap


def alembic_config(conn: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[1] / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


class ChangeSignal:
    """A token that moves whenever rarely-changed shared state changes, cheap enough to check on every request.

    Hot state (fault rules, rate limits, the clock offset, reference tables) is cached per process and re-read only
    when the token moved, so a change made through any worker applies to the very next request in every worker. The
    token is moved after commit, so a reader that sees the new token also sees the new rows. A SQLite file keeps
    the token in a memory-mapped sidecar file (`<db>.signal`) that every process on the host maps; in-memory SQLite
    keeps it in this process. PostgreSQL (hosts share no memory) keeps it in a state row instead (see Store).
    """

    def __init__(self, path: str | None) -> None:
        self._local = 0
        self._map: mmap.mmap | None = None
        if path is not None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size < 8:
                    os.ftruncate(fd, 8)
                self._map = mmap.mmap(fd, 8)
            finally:
                os.close(fd)

    def token(self) -> bytes:
        if self._map is not None:
            return self._map[0:8]
        return self._local.to_bytes(8, "little")

    def bump(self) -> None:
        if self._map is not None:
            self._map[0:8] = os.urandom(8)
        else:
            self._local += 1


class WriterLock:
    """Queues a SQLite file's writers, threads and processes alike, so that they hand the write lock straight on.

    SQLite lets one connection write at a time; a writer that finds the file locked sleeps in its busy handler in
    growing steps (1, 2, 5, 10 ms...) and retries, so with two worker processes a busy sandbox imported slower than
    with one. Here threads of a process wait on a lock and processes on `flock` of a sidecar file (`<db>.lock`):
    the kernel wakes the next writer the moment the last one commits. The kernel also drops the lock of a process
    that dies, even by SIGKILL, so a crash never leaves it held. Other programs writing the file without it are
    still safe: they meet SQLite's own lock and its busy handler as before.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def _file(self) -> int:
        # One descriptor per process: a forked worker must not share its master's (flock belongs to the open file).
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._threads:
            self._depth += 1
            try:
                if self._depth == 1:
                    fcntl.flock(self._file(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    if self._depth == 1:
                        fcntl.flock(self._file(), fcntl.LOCK_UN)
            finally:
                self._depth -= 1


def _sqlite_file(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path or None


class Store:
    """Owns the engine; hands out read and write transactions (`Tx`), and keeps rarely changed data per process."""

    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3 is the driver we ship
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._memory_lock: threading.RLock | None = None
        self._file_write_lock: WriterLock | None = None
        self.signal: ChangeSignal | None = None
        self._sqlite_path: str | None = None
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._readers = threading.local()  # per-thread AUTOCOMMIT connections (`query`)
        self._pid = os.getpid()
        if self.is_sqlite:
            path = _sqlite_file(url)
            memory = path is None or path == ":memory:"
            kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            if memory:
                # One shared connection, or every thread would see its own empty database; the lock keeps
                # threads from interleaving their transactions on that one connection.
                kwargs["poolclass"] = StaticPool
                self._memory_lock = threading.RLock()
            else:
                assert path is not None
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                kwargs.update(pool_size=SQLITE_POOL, max_overflow=SQLITE_POOL)
                self._file_write_lock = WriterLock(path + ".lock")
                self._sqlite_path = path
            engine = create_engine(url, **kwargs)
            _install_sqlite_hooks(engine, wal=not memory)
            self.signal = ChangeSignal(None if memory or path is None else path + ".signal")
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=12, max_overflow=20)
        self.engine: Engine = engine
        self._write_engine: Engine = engine.execution_options(sandbox_immediate=True)

    # ------------------------------------------------------------------ schema
    def create_schema(self, metadata: MetaData | None = None) -> None:
        """Bring the schema to the current revision: create it on an empty database, migrate an older one.

        A fresh database gets `create_all` plus the head revision stamp (fast: no Alembic import); a database
        at an older revision is upgraded with Alembic. On PostgreSQL an advisory lock serializes sandboxes
        starting at once against one database. Every model module must be imported first (simulator.models).
        """
        metadata = metadata or Base.metadata
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PREPARE_LOCK_KEY})
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" in tables:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if current != SCHEMA_HEAD:
                    self.migrate(conn)
            elif tables & set(metadata.tables):
                # Made by a version of the sandbox before migrations existed: it is the initial revision.
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES ('0001_initial')"))
                metadata.create_all(conn)  # tables that version did not have yet
                self.migrate(conn)
            else:
                metadata.create_all(conn)
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": SCHEMA_HEAD})

    def lock_for_prepare(self, tx: Tx) -> None:
        """Hold the lock `create_schema` takes until `tx` ends: sandboxes starting at once against one PostgreSQL
        database then seed it (and make its webhook key) once. SQLite serializes writers already."""
        if not self.is_sqlite:
            tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PREPARE_LOCK_KEY})

    @staticmethod
    def migrate(conn: Any) -> None:
        """`alembic upgrade head` on this connection."""
        from alembic import command

        command.upgrade(alembic_config(conn), "head")

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only transaction (never blocks writers on SQLite WAL)."""
        with self._serialized(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield Tx(session, writes=False, locks_rows=False, on_driver=self.is_sqlite)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction: its queued inserts are written and it commits on success; any exception rolls
        back everything."""
        with (
            self._serialized(),
            self._process_writer(),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            tx = Tx(session, writes=True, locks_rows=not self.is_sqlite, on_driver=self.is_sqlite)
            yield tx
            tx.flush_later()
            if tx.state_changed and self.signal is None:
                self._bump_version(tx)  # in the transaction: the new token commits with the new rows
        if tx.state_changed and self.signal is not None:
            self.signal.bump()  # after commit: whoever sees the new token reads the new rows

    def query(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
        """The first row of one statement (by column name), read outside any transaction (a single statement is
        atomic on its own).

        For the GETs: a transaction around one SELECT cost as much as the SELECT. Each thread keeps one AUTOCOMMIT
        connection (SQLAlchemy's documented isolation level for this); a forked worker opens its own, and a
        connection the server dropped is replaced once (a SELECT is safe to repeat)."""
        prepared = driver.prepare(stmt) if self.is_sqlite else None
        with self._serialized():
            if prepared is not None:
                return next(driver.run(self._reader(), prepared, params).mappings(), None)
            for attempt in (1, 2):
                try:
                    row = self._reader().execute(stmt, params).mappings().first()
                    return cast(Mapping[str, Any] | None, row)  # a RowMapping, by column name
                except DBAPIError as exc:
                    if attempt == 2 or not exc.connection_invalidated:
                        raise
        raise AssertionError("unreachable")

    def _reader(self) -> Connection:
        if self._pid != os.getpid():
            # Forked: the pool's connections are the parent's. Drop them without closing them (SQLAlchemy's recipe),
            # and keep the parent's readers referenced: finalizing them here must never end the parent's sessions.
            self.engine.dispose(close=False)
            _INHERITED.append(self._readers)
            self._readers = threading.local()
            self._pid = os.getpid()
        held: _Reader | None = getattr(self._readers, "reader", None)
        if held is None or held.conn.invalidated or held.conn.closed:
            held = self._readers.reader = _Reader(self.engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
        return held.conn

    @contextmanager
    def _process_writer(self) -> Iterator[None]:
        # SQLite allows one writer: writers of every thread and process queue here (see WriterLock).
        if self._file_write_lock is None:
            yield
            return
        with self._file_write_lock.hold():
            yield

    @contextmanager
    def _serialized(self) -> Iterator[None]:
        if self._memory_lock is None:
            yield
            return
        with self._memory_lock:
            yield

    # ------------------------------------------------------------------ shared state and the per-process cache
    def get_state(self, tx: Tx, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        """A state row; `for_update` locks it (PostgreSQL) for a read-modify-write cycle."""
        row = tx.get(SandboxState, key, for_update=for_update)
        return dict(row.value) if row is not None else None

    def put_state(self, tx: Tx, key: str, value: dict[str, Any]) -> None:
        tx.mark_state_changed()
        row = tx.get(SandboxState, key)
        if row is None:
            tx.add(SandboxState(key=key, value=value))
        else:
            row.value = value

    def cached_state(self, tx: Tx | None, *keys: str) -> dict[str, dict[str, Any] | None]:
        """State rows (`None` for a missing one) for hot paths, through `cached`. Callers must not mutate them."""

        def load(t: Tx) -> dict[str, dict[str, Any] | None]:
            rows = {r["key"]: r["value"] for r in t.mappings(_STATE_ROWS, {"keys": list(keys)})}
            return {k: (dict(rows[k]) if k in rows else None) for k in keys}

        return self.cached(tx, "sandbox_state:" + ",".join(keys), load)

    def cached(self, tx: Tx | None, name: str, load: Callable[[Tx], _T]) -> _T:
        """`load(tx)` (or in a new read transaction), kept per process while the change signal has not moved: for
        rarely changed data whose every change marks its transaction `state_changed` (as `put_state` does). Inside a
        transaction that changed state it loads every time."""
        token = self._token(tx)  # before loading: a later change means load again
        usable = token is not None and (tx is None or not tx.state_changed)
        if usable:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == token:
                return cast(_T, hit[1])
        if tx is None:
            with self.read() as t:
                value = load(t)
        else:
            value = load(tx)
        if usable:
            self._cache[name] = (token, value)
        return value

    def _token(self, tx: Tx | None) -> Any:
        """The change signal's current value: the mmap'd counter (SQLite), else the version row (PostgreSQL, read
        once per transaction: a bulk import asks for cached data several times per row)."""
        if self.signal is not None:
            return self.signal.token()
        if tx is not None and tx.signal_read:
            return tx.signal_token
        row = self.query(_VERSION, {"key": VERSION_STATE})
        token = None if row is None else repr(row["value"])  # None until a first change: load every time
        if tx is not None:
            tx.signal_token, tx.signal_read = token, True
        return token

    def _bump_version(self, tx: Tx) -> None:
        # PostgreSQL's change signal: a random token in a state row, replaced by every transaction that changes
        # state (random, so a wipe and re-seed can never bring back a token some worker still holds).
        stmt = pg_insert(_STATE).values(key=VERSION_STATE, value={"token": os.urandom(12).hex()})
        tx.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))

    # ------------------------------------------------------------------ housekeeping
    def checkpoint(self) -> tuple[int, int] | None:
        """Copy committed WAL pages into the SQLite file without blocking anyone (a PASSIVE checkpoint): what
        the dispatcher does each tick so that requests never run one. Returns (WAL pages, pages copied); None
        when there is no WAL (in-memory SQLite, PostgreSQL)."""
        if self._sqlite_path is None:
            return None
        _busy, log, done = self._reader().exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(log), int(done)

    def dispose(self) -> None:
        held: _Reader | None = getattr(self._readers, "reader", None)
        if held is not None:
            held.close()  # this thread's reader (other threads' close with their threads)
        self._readers = threading.local()
        self.engine.dispose()


class _Reader:
    """A thread's AUTOCOMMIT connection for `Store.query`: closed when its thread ends (its thread-local storage
    goes) or by `Store.dispose`; never by another process (a forked child)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pid = os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid() and not self.conn.closed:
            self.conn.close()

    def __del__(self) -> None:
        with suppress(Exception):  # a connection the server already dropped: nothing to close
            self.close()


# Readers a forked child inherited from its parent: kept referenced so that finalizing them never ends the parent's
# sessions.
_INHERITED: list[Any] = []


def _install_sqlite_hooks(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # The commit that crosses SQLite's default 1,000 pages runs the checkpoint inline, with the request
            # waiting on it (a tenth of a 100-token import). Served workers checkpoint in the background instead
            # (`Store.checkpoint`, every dispatcher tick); this higher mark only bounds the WAL without them.
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # SQLAlchemy's documented recipe for pysqlite transactions, with BEGIN IMMEDIATE for writes: a writer takes
        # the write lock up front instead of failing to upgrade a read lock. AUTOCOMMIT readers begin nothing.
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sandbox_immediate") else "BEGIN")
