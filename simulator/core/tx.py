"""The unit of work: one transaction, and what the domain keeps for it while it runs.

Services receive a `Tx`, never a bare session: every value a transaction reads once and reuses is a named field
here (the clock, the next Dakota event number, the change signal's token), and rows that nothing reads back before
the end are queued with `insert_later` and written as one INSERT per table when the transaction ends (a bulk import
inserts six rows per token: one executemany per table costs a fraction of six statements per row).

Core statements run on the transaction's connection after pending ORM changes are written (as the session's
autoflush would), so a read always sees what the transaction wrote, except rows still queued with `insert_later`:
queue only rows this transaction does not read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Executable, Table, insert
from sqlalchemy.engine import Connection, Result, Row
from sqlalchemy.orm import Session

from simulator.core import driver

_M = TypeVar("_M")
_INSERTS: dict[Table, Any] = {}  # one INSERT statement per table, built once


def _insert(table: Table) -> Any:
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


class Tx:
    """A read or write transaction and its unit of work (see the module docstring)."""

    def __init__(self, session: Session, *, writes: bool, locks_rows: bool, on_driver: bool = False) -> None:
        self.session = session
        self.on_driver = on_driver  # SQLite: prebuilt statements run on the DB-API cursor (core.driver)
        self.writes = writes
        # PostgreSQL write transactions lock the rows they read for update (SQLite serializes whole transactions).
        self.locks_rows = locks_rows
        # Set by anything that changes rarely-changed shared state: after commit, every process re-reads it.
        self.state_changed = False
        self.clock: Any = None  # the simulated clock's state, read at most once (core.clock)
        self.signal_token: Any = None  # the change signal's token, read at most once (PostgreSQL; core.store)
        self.signal_read = False
        self.event_seq: dict[str, int] = {}  # the last Dakota event number handed out, per organisation
        self._later: dict[Table, list[dict[str, Any]]] = {}
        self._conn: Connection | None = None
        self._orm = False  # whether ORM entities were used: only then can the session have changes to write

    # ------------------------------------------------------------------ statements
    def execute(
        self, stmt: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Result[Any]:
        """A Core statement, on the transaction's connection (the ORM's per-execution work is not needed for
        rows; it cost more than the statement). Pending ORM changes are written first, as the session would."""
        return self._connection().execute(stmt, params)

    def _connection(self) -> Connection:
        session = self.session
        if self._orm and (session.new or session.dirty or session.deleted):  # (`dirty` walks the identity map)
            session.flush()
        if self._conn is None:
            self._conn = session.connection()  # the transaction's connection: asking for it each time costs
        return self._conn

    def _run(
        self, stmt: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
    ) -> Result[Any] | driver.Rows:
        prepared = driver.prepare(stmt) if self.on_driver else None
        if prepared is None:
            return self.execute(stmt, params)
        return driver.run(self._connection(), prepared, params)

    def run(self, stmt: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None) -> None:
        """An UPDATE or DELETE whose result nobody reads (a list of parameter sets: executemany)."""
        self._run(stmt, params)

    def all(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Row[Any]]:
        return self.execute(stmt, params).all()

    def first(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Row[Any] | None:
        return self.execute(stmt, params).first()

    def mapping(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
        """The first row, by column name (what the row types are built from)."""
        rows = self.mappings(stmt, params)
        return rows[0] if rows else None

    def mappings(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        result = self._run(stmt, params)
        if isinstance(result, driver.Rows):
            return list(result.mappings())
        return cast(list[Mapping[str, Any]], list(result.mappings()))  # RowMappings, by column name

    def scalar(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
        return self._run(stmt, params).scalar()

    def column(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row's first column."""
        result = self._run(stmt, params)
        if isinstance(result, driver.Rows):
            return [row[0] for row in result.rows]
        return list(result.scalars())

    def scalars(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row's first column; ORM entities for a `select(Model)` (through the session)."""
        self._orm = True
        return list(self.session.scalars(stmt, params))

    def rowcount(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> int:
        """Run an UPDATE or DELETE; how many rows it matched (a conditional UPDATE's verdict)."""
        result: Any = self._run(stmt, params)
        return int(result.rowcount)

    # ------------------------------------------------------------------ ORM entities
    def get(self, model: type[_M], key: Any, *, for_update: bool = False) -> _M | None:
        """The row by primary key; `for_update` locks it (PostgreSQL) for a read-modify-write cycle."""
        self._orm = True
        return self.session.get(model, key, with_for_update=for_update and self.locks_rows)

    def add(self, obj: object) -> None:
        self._orm = True
        self.session.add(obj)

    def delete(self, obj: object) -> None:
        self._orm = True
        self.session.delete(obj)

    def flush(self) -> None:
        self.session.flush()

    # ------------------------------------------------------------------ inserts
    def insert(self, table: Table, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
        """INSERT now (a list: one executemany)."""
        if rows:
            self._insert_rows(table, rows if isinstance(rows, list) else [rows])

    def insert_later(self, table: Table, rows: dict[str, Any] | Iterable[dict[str, Any]]) -> None:
        """Queue rows for one INSERT per table when the transaction ends (parents first: tables in first-use
        order). Only for rows nothing reads back in this transaction."""
        batch = self._later.setdefault(table, [])
        if isinstance(rows, dict):
            batch.append(rows)
        else:
            batch.extend(rows)

    def queued(self, table: Table) -> list[dict[str, Any]]:
        """The rows of `table` waiting for `flush_later` (to keep generated keys unique before they are written)."""
        return self._later.get(table, [])

    def flush_later(self) -> None:
        """Write the queued rows now (the store does this before commit)."""
        later, self._later = self._later, {}
        for table, rows in later.items():
            if rows:
                self._insert_rows(table, rows)

    def _insert_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        prepared = driver.prepare_insert(table) if self.on_driver else None
        if prepared is None or not prepared.takes(rows):
            self.execute(_insert(table), rows)
        else:
            driver.run(self._connection(), prepared, rows)

    def mark_state_changed(self) -> None:
        """This transaction changed shared state that processes keep (see `Store.cached`)."""
        self.state_changed = True
