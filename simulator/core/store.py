"""The one store: SQLAlchemy over a SQLite file (default), in-memory SQLite (tests) or PostgreSQL.

Contract: every domain change happens inside `Store.write()`, one transaction that either commits whole or leaves
nothing. On SQLite a write transaction starts with BEGIN IMMEDIATE, so concurrent writers (threads or worker
processes on one file) serialize instead of failing on lock upgrades; on PostgreSQL, single-use is enforced by
conditional UPDATEs whose row locks make the second writer see the first one's commit.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Float, String, Table, bindparam, create_engine, event, insert, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, configure_mappers, mapped_column
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

_M = TypeVar("_M")
_T = TypeVar("_T")


class Base(DeclarativeBase):
    """Declarative base shared by every table of the sandbox."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, float: Float}


class SandboxState(Base):
    """Small key/value rows shared by all workers (clock offset, seed, settings changed at run time)."""

    __tablename__ = "sandbox_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


VERSION_STATE = "_state_version"  # the change signal on PostgreSQL (see Store.cached)
_VERSION_SEEN = "sandbox_version_seen"

# The PostgreSQL advisory lock that serializes preparing a database (schema, then seed) across starting sandboxes.
PREPARE_LOCK_KEY = 715391
SCHEMA_HEAD = "0002_event_seq_index"  # the newest revision in simulator/migrations/versions (a test keeps them equal)


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


def detached_row(model: type[_M], values: dict[str, Any]) -> _M:
    """An instance of `model` holding `values`, built as the ORM builds the rows it loads (no constructor, no
    attribute events: a fifteenth of the cost). For read-only copies and rows written with raw statements; it
    belongs to no session (`make_transient_to_detached` and `session.add` make it a persistent row)."""
    configure_mappers()  # a flag check once the models are configured
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)
    return obj


def locked_get(session: Session, model: type[_M], pk: Any) -> _M | None:
    """`session.get`, locking the row (SELECT ... FOR UPDATE) inside a write transaction on PostgreSQL."""
    if session.info.get("lock_rows"):
        return session.get(model, pk, with_for_update=True)
    return session.get(model, pk)


def lock_rows(session: Session) -> bool:
    return bool(session.info.get("lock_rows"))


# ------------------------------------------------------------------ deferred inserts
# A bulk import inserts six rows per token; one executemany per table at the end of a chunk costs a fraction of
# six statements per row. Only rows nothing reads back in the same transaction may be deferred.
_DEFERRED = "sandbox_deferred_inserts"
_INSERTS: dict[tuple[Table, tuple[str, ...]], FastQuery] = {}


def insert_rows(session: Session, table: Table, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
    """INSERT `rows` now, or inside `deferred_inserts` when it ends (rows of one table must share their keys)."""
    batch = rows if isinstance(rows, list) else [rows]
    if not batch:
        return
    stack: list[list[tuple[Table, list[dict[str, Any]]]]] | None = session.info.get(_DEFERRED)
    if not stack:
        insert_now(session, table, batch)
    else:
        stack[-1].append((table, batch))


def deferred_values(session: Session, table: Table, column: str) -> set[Any]:
    """Values of `column` in rows of `table` waiting in any enclosing `deferred_inserts` (to keep generated keys
    unique before they reach the database)."""
    stack: list[list[tuple[Table, list[dict[str, Any]]]]] = session.info.get(_DEFERRED) or []
    return {r[column] for buffer in stack for t, batch in buffer if t is table for r in batch}


@contextmanager
def deferred_inserts(session: Session) -> Iterator[None]:
    """`insert_rows` inside waits, then runs as one executemany per table, in first-use order (parents first),
    when the block ends without an exception; nested, its rows join the enclosing block's instead. An exception
    discards the block's waiting rows."""
    stack: list[list[tuple[Table, list[dict[str, Any]]]]] = session.info.setdefault(_DEFERRED, [])
    mine: list[tuple[Table, list[dict[str, Any]]]] = []
    stack.append(mine)
    try:
        yield
    finally:
        stack.pop()
        if not stack:
            session.info.pop(_DEFERRED, None)
    if stack:  # nested (a row in its savepoint): its rows join the enclosing block's
        stack[-1].extend(mine)
        return
    tables: dict[Table, list[dict[str, Any]]] = {}
    for table, batch in mine:
        tables.setdefault(table, []).extend(batch)
    for table, batch in tables.items():
        insert_now(session, table, batch)


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with the Python-side column defaults a Core INSERT would fill in (a raw one fills in nothing)."""
    missing = [c for c in table.columns if c.default is not None and c.key not in rows[0]]
    if not missing:
        return rows
    for c in missing:
        default: Any = c.default
        if not (default.is_scalar or default.is_callable):
            raise TypeError(f"{table.name}.{c.key}: only scalar and callable defaults are filled in")

    def fill(row: dict[str, Any]) -> dict[str, Any]:
        # A callable runs per row (a fresh dict each), as SQLAlchemy runs it; it wraps plain callables to take a
        # context argument.
        extra = {c.key: (d.arg if (d := cast(Any, c.default)).is_scalar else d.arg(None)) for c in missing}
        return {**row, **extra}

    return [fill(r) for r in rows]


def _insert(table: Table, row: dict[str, Any]) -> FastQuery:
    """An INSERT of exactly `row`'s columns (one per table and column set, compiled once per dialect); rows must
    already hold every column with a Python-side default (`_with_defaults`), or SQLAlchemy would add it."""
    key = (table, tuple(row))
    stmt = _INSERTS.get(key)
    if stmt is None:
        values = {name: bindparam(name, type_=table.c[name].type) for name in row}
        stmt = _INSERTS[key] = FastQuery(insert(table).values(values))
    return stmt


STATE_CHANGED = "sandbox_state_changed"  # session.info flag: this transaction wrote sandbox_state


def mark_state_changed(session: Session) -> None:
    """Tell the store that this transaction changed `sandbox_state`, so it signals every process after commit."""
    session.info[STATE_CHANGED] = True


class ChangeSignal:
    """A token that moves whenever `sandbox_state` changes, cheap enough to check on every request.

    Hot state (fault rules, rate limits, the clock offset) is cached per process and re-read only when the token
    moved, so a rule set through any worker applies to the very next request in every worker. The token is moved
    after commit, so a reader that sees the new token also sees the new rows. A SQLite file keeps the token in a
    memory-mapped sidecar file (`<db>.signal`) that every process on the host maps; in-memory SQLite keeps it in
    this process. PostgreSQL has no token (hosts share no memory): its readers read the rows every time.
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


class FastQuery:
    """A Core statement compiled once per dialect and run on a raw DBAPI cursor: for the hottest statements.

    It skips the ORM and SQLAlchemy's per-execution work (cache keys, execution contexts, result processing).
    Parameters go through the same bind processors SQLAlchemy would apply (JSON, binary), so an INSERT or UPDATE
    stores exactly what a Core execution stores; results come back as the driver returns them, unless `decode`.
    Bind parameters are named with `bindparam` (give them the column's type when it has a processor).
    """

    def __init__(self, stmt: ClauseElement, *, decode: bool = False) -> None:
        """`decode=True`: result values go through SQLAlchemy's result processors too (JSON text decoded on
        SQLite), so rows hold what a Core execution returns."""
        self.stmt = stmt
        self.decode = decode
        self._compiled: dict[str, _Plan] = {}
        self._results: dict[str, tuple[Callable[[Any], Any] | None, ...]] = {}

    def prepare(self, dialect: Any, params: dict[str, Any]) -> tuple[str, Any]:
        plan = self._plan(dialect)
        return plan.sql, plan.args(params)

    def prepare_many(self, dialect: Any, rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
        plan = self._plan(dialect)
        return plan.sql, [plan.args(r) for r in rows]

    def _plan(self, dialect: Any) -> _Plan:
        plan = self._compiled.get(dialect.name)
        if plan is None:
            compiled = cast(SQLCompiler, self.stmt.compile(dialect=dialect))
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            defaults = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
            processors = {
                name: proc
                for name, b in compiled.binds.items()
                if (proc := b.type._cached_bind_processor(dialect)) is not None
            }
            plan = _Plan(str(compiled), order, defaults, processors)
            self._compiled[dialect.name] = plan
        return plan

    def rows(self, dialect: Any, description: Any, raw: list[Any]) -> list[tuple[Any, ...]]:
        """Driver rows as tuples, through the result processors when the query decodes (chosen, as SQLAlchemy
        chooses them, by the column types the driver reports: once per dialect)."""
        if not self.decode:
            return [tuple(r) for r in raw]
        results = self._results.get(dialect.name)
        if results is None:
            columns = cast(Any, self.stmt).selected_columns
            found = tuple(
                c.type._cached_result_processor(dialect, d[1]) for c, d in zip(columns, description, strict=True)
            )
            results = self._results[dialect.name] = found if any(found) else ()
        if not results:
            return [tuple(r) for r in raw]
        return [tuple(p(v) if p is not None else v for p, v in zip(results, r, strict=True)) for r in raw]


@dataclass(frozen=True)
class _Plan:
    sql: str
    order: tuple[str, ...] | None
    defaults: dict[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    def __post_init__(self) -> None:
        # Positional statements (SQLite) build their tuple in one pass: name, processor, default, in order.
        if self.order is not None:
            missing = object()
            steps = tuple((n, self.processors.get(n), self.defaults.get(n, missing)) for n in self.order)
            object.__setattr__(self, "_steps", steps)
            object.__setattr__(self, "_missing", missing)

    def args(self, params: dict[str, Any]) -> Any:
        if self.order is not None:
            missing = self._missing  # type: ignore[attr-defined]
            out = []
            for name, proc, default in self._steps:  # type: ignore[attr-defined]
                value = params[name] if default is missing or name in params else default
                # Applied to None too, as SQLAlchemy does (a JSON column stores None as JSON null).
                out.append(value if proc is None else proc(value))
            return tuple(out)
        merged = {**self.defaults, **params} if self.defaults else params
        if self.processors:
            procs = self.processors
            merged = {k: (procs[k](v) if k in procs else v) for k, v in merged.items()}
        return merged


_RAW = "sandbox_raw_connection"


def _cursor(session: Session) -> Any:
    # `session.connection()` costs more than a raw statement: keep its driver connection for the transaction. A
    # savepoint is a new transaction object, so inside one the first call still goes through `connection()`,
    # which is what emits the SAVEPOINT.
    tx = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_RAW)
    if held is None or held[0] is not tx:
        conn = session.connection()
        held = session.info[_RAW] = (
            session.get_nested_transaction() or session.get_transaction(),
            conn.dialect,
            conn.connection.dbapi_connection,
        )
    return held[1], held[2].cursor()  # type: ignore[union-attr]


def fetch_in(session: Session, query: FastQuery, **params: Any) -> tuple[Any, ...] | None:
    """The first row of a `FastQuery` inside the session's transaction, on its raw driver connection.

    It sees what the transaction wrote, but pending ORM changes are not flushed first: use it only for tables the
    transaction writes with Core (or not at all). An ORM query costs ten times as much as the SELECT itself.
    """
    return next(iter(fetch_all_in(session, query, _limit=1, **params)), None)


def fetch_all_in(session: Session, query: FastQuery, _limit: int | None = None, **params: Any) -> list[tuple[Any, ...]]:
    """Every row of a `FastQuery` inside the session's transaction (as `fetch_in`)."""
    dialect, cur = _cursor(session)
    sql, args = query.prepare(dialect, params)
    try:
        cur.execute(sql, args)
        rows = cur.fetchmany(_limit) if _limit is not None else cur.fetchall()
        return query.rows(dialect, cur.description, rows)
    except Exception as exc:
        raise _wrapped(dialect, exc, sql, args) from exc
    finally:
        cur.close()


def _wrapped(dialect: Any, exc: Exception, sql: str, args: Any) -> Exception:
    """A driver error as SQLAlchemy would raise it (IntegrityError, DataError, ...), so callers and the app's
    error handlers see one family of exceptions whichever path ran the statement."""
    base = dialect.loaded_dbapi.Error
    if isinstance(exc, base):
        wrapped: Exception = DBAPIError.instance(sql, args, exc, base)
        return wrapped
    return exc


def insert_now(session: Session, table: Table, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
    """INSERT `rows` at once, even inside `deferred_inserts` (rows of one table must share their keys)."""
    batch = rows if isinstance(rows, list) else [rows]
    if batch:
        batch = _with_defaults(table, batch)
        execute_in(session, _insert(table, batch[0]), batch)


def execute_in(session: Session, stmt: FastQuery, rows: dict[str, Any] | list[dict[str, Any]]) -> int:
    """Run an INSERT / UPDATE / DELETE `FastQuery` inside the session's transaction (executemany for a list);
    returns the driver's rowcount. Like `fetch_in`, it bypasses the ORM: the session does not see the change."""
    dialect, cur = _cursor(session)
    sql, args = stmt.prepare_many(dialect, rows) if isinstance(rows, list) else stmt.prepare(dialect, rows)
    try:
        if isinstance(rows, list):
            cur.executemany(sql, args)
        else:
            cur.execute(sql, args)
        return int(cur.rowcount)
    except Exception as exc:
        raise _wrapped(dialect, exc, sql, args) from exc
    finally:
        cur.close()


def _sqlite_file(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path or None


_STATE = cast(Table, SandboxState.__table__)
_VERSION_READ = FastQuery(select(_STATE.c.value).where(_STATE.c.key == VERSION_STATE))


class Store:
    """Owns the engine; hands out read and write transactions."""

    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3 is the driver we ship
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._memory_lock: threading.RLock | None = None
        self._file_write_lock: WriterLock | None = None
        self.signal: ChangeSignal | None = None
        self._sqlite_path: str | None = None
        self._readers = threading.local()  # per-thread read-only connections (`fetch_one`)
        self._pool_pid = os.getpid()
        self._cache: dict[str, tuple[bytes, Any]] = {}
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
            if not memory and path is not None:
                self._file_write_lock = WriterLock(path + ".lock")
                self._sqlite_path = path
            self.signal = ChangeSignal(None if memory or path is None else path + ".signal")
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
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PREPARE_LOCK_KEY})
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

    def lock_for_prepare(self, session: Session) -> None:
        """Hold the lock `create_schema` takes until `session`'s transaction ends: sandboxes starting at once against
        one PostgreSQL database then seed it (and make its webhook key) once. SQLite serializes writers already."""
        if not self.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PREPARE_LOCK_KEY})

    @staticmethod
    def migrate(conn: Any) -> None:
        """`alembic upgrade head` on this connection."""
        from alembic import command

        command.upgrade(alembic_config(conn), "head")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never blocks writers on SQLite WAL)."""
        with self._serialized(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def fetch_one(self, query: FastQuery, **params: Any) -> tuple[Any, ...] | None:
        """The first row of a `FastQuery` (one statement: atomic on its own, no transaction around it)."""
        dialect = self.engine.dialect
        sql, args = query.prepare(dialect, params)
        try:
            if self._sqlite_path is not None:
                found = self._sqlite_reader().execute(sql, args)
                row, description = found.fetchone(), found.description
            elif not self.is_sqlite:
                row, description = self._postgres_read(sql, args)
            else:
                with self._serialized():
                    conn = self.engine.raw_connection()
                    try:
                        cur = conn.cursor()
                        try:
                            cur.execute(sql, args)
                            row, description = cur.fetchone(), cur.description
                        finally:
                            cur.close()
                    finally:
                        conn.close()  # back to the pool, which rolls back whatever the driver opened
        except Exception as exc:
            raise _wrapped(dialect, exc, sql, args) from exc
        return query.rows(dialect, description, [row])[0] if row is not None else None

    def _postgres_read(self, sql: str, args: Any) -> tuple[Any, Any]:
        # One autocommit connection per thread, kept out of the pool: a pooled read paid three round trips (the
        # pre-ping, the SELECT, the rollback on return), and GETs read twice (the change signal, then the row).
        # A connection the server dropped is replaced once; a SELECT is safe to repeat.
        for attempt in (1, 2):
            conn = self._postgres_reader()
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql, args)
                    return cur.fetchone(), cur.description
                finally:
                    cur.close()
            except self.engine.dialect.loaded_dbapi.OperationalError:
                if attempt == 2 or not conn.closed:
                    raise  # the statement failed, not the connection
        raise AssertionError("unreachable")

    def _postgres_reader(self) -> Any:
        local = self._readers
        held: _PostgresReader | None = getattr(local, "pg", None)
        if held is None or held.pid != os.getpid() or held.conn.closed:
            if held is not None and held.pid != os.getpid():
                _INHERITED.append(held)  # the parent's session: never finalized (closed) from here
            if self._pool_pid != os.getpid():
                # Forked: the pool's connections are the parent's sessions. Drop them (unclosed) and start afresh.
                self.engine.dispose(close=False)
                self._pool_pid = os.getpid()
            held = local.pg = _PostgresReader(self.engine.raw_connection())
        return held.conn

    def _sqlite_reader(self) -> sqlite3.Connection:
        # One autocommit, query-only connection per thread (and process: never one inherited across a fork); a
        # single SELECT outside a transaction reads the latest commit (WAL) without the pool's checkout and reset.
        local = self._readers
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            assert self._sqlite_path is not None
            conn = sqlite3.connect(self._sqlite_path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA query_only=ON")
            local.conn, local.pid = conn, os.getpid()
        return conn

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
            if session.info.get(STATE_CHANGED) and self.signal is None:
                self._bump_version(session)  # in the transaction: the new token commits with the new rows
        if session.info.get(STATE_CHANGED) and self.signal is not None:
            self.signal.bump()  # after commit: whoever sees the new token reads the new rows

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

    def get_state(self, session: Session, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        """A state row; `for_update` locks it (PostgreSQL) for a read-modify-write cycle."""
        row = locked_get(session, SandboxState, key) if for_update else session.get(SandboxState, key)
        return dict(row.value) if row is not None else None

    def cached_state(self, session: Session | None, *keys: str) -> dict[str, dict[str, Any] | None]:
        """State rows (`None` for a missing one) for hot paths, through `cached`. Callers must not mutate them."""

        def load(s: Session) -> dict[str, dict[str, Any] | None]:
            rows = {r.key: r.value for r in s.scalars(select(SandboxState).where(SandboxState.key.in_(keys)))}
            return {k: (dict(rows[k]) if k in rows else None) for k in keys}

        return self.cached(session, "sandbox_state:" + ",".join(keys), load)

    def _bump_version(self, session: Session) -> None:
        # PostgreSQL's change signal: a random token in a state row, replaced by every transaction that changes
        # state (random, so a wipe and re-seed can never bring back a token some worker still holds).
        row = {"key": VERSION_STATE, "value": {"token": os.urandom(12).hex()}}
        stmt = pg_insert(_STATE).values(row)
        session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))

    def _token(self, session: Session | None) -> Any:
        """The change signal's current value: the mmap'd counter (SQLite), else the version row (PostgreSQL,
        one primary-key read on a pooled connection: hosts share no memory). On PostgreSQL a transaction reads
        it once and keeps it: a bulk import asks for cached data several times per row."""
        if self.signal is not None:
            return self.signal.token()
        if session is not None and _VERSION_SEEN in session.info:
            return session.info[_VERSION_SEEN]
        row = self.fetch_one(_VERSION_READ)
        token = None if row is None else repr(row[0])  # None until a first change: load every time
        if session is not None:
            session.info[_VERSION_SEEN] = token
        return token

    def cached(self, session: Session | None, name: str, load: Callable[[Session], _T]) -> _T:
        """`load(session)` (or in a new read transaction), kept per process while the change signal has not moved:
        for rarely changed data whose every change calls `mark_state_changed` (as `put_state` does). On
        PostgreSQL the signal is a version row every state-changing transaction replaces. Inside a transaction
        that changed state it loads every time."""
        token = self._token(session)  # before loading: a later change means load again
        usable = token is not None and (session is None or not session.info.get(STATE_CHANGED))
        if usable:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == token:
                return cast(_T, hit[1])
        if session is None:
            with self.read() as s:
                value = load(s)
        else:
            value = load(session)
        if usable and token is not None:
            self._cache[name] = (token, value)
        return value

    def put_state(self, session: Session, key: str, value: dict[str, Any]) -> None:
        mark_state_changed(session)
        row = session.get(SandboxState, key)
        if row is None:
            session.add(SandboxState(key=key, value=value))
        else:
            row.value = value

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy committed WAL pages into the SQLite file without blocking anyone (a PASSIVE checkpoint): what
        the dispatcher does each tick so that requests never run one. Returns (WAL pages, pages copied); None
        when there is no WAL (in-memory SQLite, PostgreSQL)."""
        if self._sqlite_path is None:
            return None
        conn = self.engine.raw_connection()  # autocommit at the driver: no transaction may be open around it
        try:
            cur = conn.cursor()
            try:
                _busy, log, done = cur.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                cur.close()
        finally:
            conn.close()
        return int(log), int(done)

    def dispose(self) -> None:
        held: _PostgresReader | None = getattr(self._readers, "pg", None)
        if held is not None:
            held.close()  # this thread's PostgreSQL reader (other threads' close with their threads)
            self._readers.pg = None
        self.engine.dispose()


class _PostgresReader:
    """A thread's autocommit PostgreSQL connection for `Store.fetch_one`, detached from the pool; closed when the
    thread ends (its thread-local storage goes), or by `Store.dispose`."""

    def __init__(self, fairy: Any) -> None:
        conn = fairy.driver_connection
        assert conn is not None
        fairy.detach()  # out of the pool for good: the pool neither counts nor resets it
        conn.rollback()  # the pool's pre-ping may have opened a transaction
        conn.autocommit = True
        self.fairy, self.conn, self.pid = fairy, conn, os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid():  # never a parent's session from a forked child
            self.fairy.close()

    def __del__(self) -> None:
        with suppress(Exception):  # a connection the server already dropped: nothing to close
            self.close()


# PostgreSQL readers a forked child inherited with its parent's thread: kept referenced so that finalizing them in
# the child never ends the parent's session.
_INHERITED: list[Any] = []

WAL_AUTOCHECKPOINT_PAGES = 20_000  # about 80 MB of WAL at most between checkpoints when none runs in the background


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
    def _on_begin(conn: Any) -> None:
        # On the driver connection: SQLAlchemy's statement machinery cost a fifth of a small write transaction. Its
        # errors (a lock still busy after busy_timeout) are raised as SQLAlchemy's, as that machinery raised them.
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("sandbox_immediate", False) else "BEGIN"
        try:
            conn.connection.dbapi_connection.execute(sql)
        except Exception as exc:
            raise _wrapped(conn.dialect, exc, sql, ()) from exc
