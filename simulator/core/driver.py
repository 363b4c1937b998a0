"""SQLite's driver path: a Core statement compiled once, run on the transaction's DB-API cursor.

Measured on SQLite (a SELECT by primary key): SQLAlchemy's per-execution work (execution context, parameter and
result processing, result metadata) costs about 19 µs, the SQL itself about 2 µs; a donor or a one-token import runs
about thirty statements. So a statement that needs none of that work is compiled by SQLAlchemy once (named
parameters) and run with the DB-API cursor of the connection SQLAlchemy holds for the transaction. It needs none of
it when it has no expanding IN parameter and every bound value and result column is of a type SQLite's dialect
leaves alone, or is JSON (text in SQLite: `json.dumps` / `json.loads`, as SQLAlchemy's JSON type does) or Boolean
(0/1). Anything else, and every statement on PostgreSQL, goes through SQLAlchemy (`prepare` answers None).

Public APIs only: `ClauseElement.compile`, `SQLCompiler.binds` / `.params`, `Select.selected_columns`,
`TypeEngine.dialect_impl` / `.bind_processor` / `.result_processor`, `Connection.connection` (the DB-API connection).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, Executable, Float, Table, exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Delete, Select, Update

_DIALECT = sqlite.dialect(paramstyle="named")
Convert = Callable[[Any], Any]


def _encode_json(value: Any) -> Any:
    return None if value is None else json.dumps(value)


def _decode_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _decode_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _bind(type_: Any) -> Convert | bool | None:
    """How a bound value of this type is sent (None: as is); False: not on this path."""
    if isinstance(type_, JSON):
        return _encode_json
    if isinstance(type_, Boolean | Float):
        return None  # sqlite3 sends True/False as 1/0; a REAL column stores an int as a float
    return None if type_.dialect_impl(_DIALECT).bind_processor(_DIALECT) is None else False


def _result(type_: Any) -> Convert | bool | None:
    if isinstance(type_, JSON):
        return _decode_json
    if isinstance(type_, Boolean):
        return _decode_bool
    if isinstance(type_, Float):
        return None  # REAL comes back a float
    return None if type_.dialect_impl(_DIALECT).result_processor(_DIALECT, None) is None else False


@dataclass(frozen=True)
class Prepared:
    """A statement as the driver runs it: its SQL, the defaults of its own bound values, and the conversions."""

    sql: str
    defaults: Mapping[str, Any]
    encode: Mapping[str, Convert]
    decode: Sequence[Convert | None] | None  # per result column (None: not a SELECT)
    columns: Sequence[str]  # an INSERT's columns (a row leaving one out gets its default, or NULL)
    needs: frozenset[str] = frozenset()  # an INSERT's columns with a computed default: a row must give them

    def takes(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Whether these rows can go this way (they give every column whose default SQLAlchemy computes)."""
        return all(self.needs <= row.keys() for row in rows)

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out = {**self.defaults, **given}
        for name, encode in self.encode.items():
            if name in out:
                out[name] = encode(out[name])
        return out


_E = TypeVar("_E", bound=Executable)
_UNPREPARED = object()
_PREBUILT: dict[int, tuple[Executable, Any]] = {}
_INSERTS: dict[Table, Prepared | None] = {}


def prebuilt(stmt: _E) -> _E:
    """Mark a statement built once (at import, or once per shape) for the driver path; returns it unchanged.
    Statements built per call are not marked: compiling them each time would cost more than it saves. The
    statement is compiled on its first run, not here (nothing happens at import)."""
    _PREBUILT[id(stmt)] = (stmt, _UNPREPARED)  # kept referenced: its id stays its own
    return stmt


def prepare(stmt: Executable) -> Prepared | None:
    """The driver form of a prebuilt statement; None for any other, or one that needs SQLAlchemy's processing."""
    held = _PREBUILT.get(id(stmt))
    if held is None or held[0] is not stmt:
        return None
    prepared = held[1]
    if prepared is _UNPREPARED:
        prepared = _prepare(stmt)
        _PREBUILT[id(stmt)] = (stmt, prepared)
    result: Prepared | None = prepared
    return result


def prepare_insert(table: Table) -> Prepared | None:
    """The driver form of `INSERT INTO table` (every column), or None."""
    if table not in _INSERTS:
        _INSERTS[table] = _prepare_insert(table)
    return _INSERTS[table]


def _prepare(stmt: Executable) -> Prepared | None:
    if not isinstance(stmt, Select | Update | Delete):
        return None
    compiled: Any = stmt.compile(dialect=_DIALECT)
    encode: dict[str, Convert] = {}
    for name, bind in compiled.binds.items():
        if bind.expanding:
            return None
        how = _bind(bind.type)
        if how is False:
            return None
        if how is not None:
            encode[name] = how  # type: ignore[assignment]
    decode: list[Convert | None] | None = None
    if isinstance(stmt, Select):
        decode = []
        for column in stmt.selected_columns:
            how = _result(column.type)
            if how is False:
                return None
            decode.append(how)  # type: ignore[arg-type]
    return Prepared(str(compiled), dict(compiled.params), encode, decode, ())


def _prepare_insert(table: Table) -> Prepared | None:
    """Every column named, its scalar default filled in when a row leaves it out (SQLAlchemy's own rule)."""
    defaults: dict[str, Any] = {}
    encode: dict[str, Convert] = {}
    needs: set[str] = set()
    for column in table.columns:
        if column.server_default is not None:
            return None  # left out, the database would fill it in: SQLAlchemy's to run
        default = column.default
        if default is not None:
            if getattr(default, "is_scalar", False):
                defaults[column.key] = default.arg  # type: ignore[attr-defined]
            else:
                needs.add(column.key)  # a callable or SQL default: rows without it go through SQLAlchemy
        how = _bind(column.type)
        if how is False:
            return None
        if how is not None:
            encode[column.key] = how  # type: ignore[assignment]
    names = [c.key for c in table.columns]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    return Prepared(sql, defaults, encode, None, tuple(names), frozenset(needs))


class Rows:
    """What a driver-path statement answered, with the parts of SQLAlchemy's Result the data layer uses."""

    def __init__(self, names: Sequence[str], rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.names = names
        self.rows = rows
        self.rowcount = rowcount

    def mappings(self) -> Iterator[dict[str, Any]]:
        names = self.names
        return (dict(zip(names, row, strict=True)) for row in self.rows)

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


# The driver's errors as SQLAlchemy raises them (the app answers a busy store 503, the idempotency claim catches an
# IntegrityError): the same classes, whichever path ran the statement.
_ERRORS: dict[str, type[exc.DBAPIError]] = {
    "OperationalError": exc.OperationalError,
    "IntegrityError": exc.IntegrityError,
    "DataError": exc.DataError,
    "ProgrammingError": exc.ProgrammingError,
    "InterfaceError": exc.InterfaceError,
    "InternalError": exc.InternalError,
    "NotSupportedError": exc.NotSupportedError,
    "DatabaseError": exc.DatabaseError,
}


def run(conn: Connection, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Rows:
    """Run the statement on the connection's DB-API cursor (a list of parameter sets: executemany)."""
    try:
        return _run(conn, prepared, params)
    except sqlite3.Error as err:
        raise _ERRORS.get(type(err).__name__, exc.DBAPIError)(prepared.sql, None, err) from err


def _run(conn: Connection, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Rows:
    cursor = conn.connection.cursor()
    try:
        if isinstance(params, Sequence):
            batch = [prepared.params(p) for p in params]
            if prepared.columns:
                batch = [{n: row.get(n) for n in prepared.columns} for row in batch]
            cursor.executemany(prepared.sql, batch)
            return Rows((), [], cursor.rowcount)
        values = prepared.params(params or {})
        if prepared.columns:
            values = {n: values.get(n) for n in prepared.columns}
        cursor.execute(prepared.sql, values)
        if prepared.decode is None:
            return Rows((), [], cursor.rowcount)
        decode = prepared.decode
        rows = [tuple(v if f is None else f(v) for f, v in zip(decode, row, strict=True)) for row in cursor.fetchall()]
        return Rows([d[0] for d in cursor.description], rows, cursor.rowcount)
    finally:
        cursor.close()
