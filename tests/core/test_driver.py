"""SQLite's driver path (simulator.core.driver): the same rows, values and errors as SQLAlchemy's own execution, and
the statements it must leave to SQLAlchemy are left to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulator.core import driver
from simulator.core.tx import Tx

META = MetaData()
THINGS = Table(
    "things",
    META,
    Column("id", String(8), primary_key=True),
    Column("n", Integer, default=7),
    Column("x", Float),
    Column("flag", Boolean, default=False),
    Column("doc", JSON, default=dict),
)
DATED = Table("dated", META, Column("id", String(8), primary_key=True), Column("at", DateTime))
COLUMNS = (THINGS.c.id, THINGS.c.n, THINGS.c.x, THINGS.c.flag, THINGS.c.doc)
BY_ID = driver.prebuilt(select(*COLUMNS).where(THINGS.c.id == bindparam("id")))
SET_DOC = driver.prebuilt(
    update(THINGS).where(THINGS.c.id == bindparam("b_id")).values(doc=bindparam("v_doc", type_=JSON))
)
NOT_MARKED = select(THINGS.c.id).where(THINGS.c.id == bindparam("id"))
EXPANDING = driver.prebuilt(select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True))))
WITH_DATETIME = driver.prebuilt(select(DATED.c.at).where(DATED.c.id == bindparam("id")))


@pytest.fixture
def engine() -> Iterator[Any]:
    e = create_engine("sqlite://")
    META.create_all(e)
    yield e
    e.dispose()


def _tx(session: Session, on_driver: bool) -> Tx:
    return Tx(session, writes=True, locks_rows=False, on_driver=on_driver)


@pytest.mark.parametrize("on_driver", [True, False])
def test_rows_and_values_are_the_same_on_both_paths(engine: Any, on_driver: bool) -> None:
    with Session(engine) as session, session.begin():
        tx = _tx(session, on_driver)
        tx.insert(THINGS, [{"id": "a", "x": 1, "flag": True, "doc": {"k": [1, "é"]}}])
        tx.insert_later(THINGS, {"id": "b", "n": 3, "x": 2.5, "flag": False, "doc": {}})
        tx.flush_later()
        assert tx.mapping(BY_ID, {"id": "a"}) == {"id": "a", "n": 7, "x": 1.0, "flag": True, "doc": {"k": [1, "é"]}}
        assert tx.mapping(BY_ID, {"id": "b"}) == {"id": "b", "n": 3, "x": 2.5, "flag": False, "doc": {}}
        assert tx.rowcount(SET_DOC, {"b_id": "a", "v_doc": ["x"]}) == 1
        row = tx.mapping(BY_ID, {"id": "a"})
        assert row is not None and row["doc"] == ["x"]
        assert tx.mapping(BY_ID, {"id": "zz"}) is None
        assert tx.column(BY_ID, {"id": "b"}) == ["b"]


def test_a_row_without_a_computed_default_goes_through_sqlalchemy(engine: Any) -> None:
    """`doc` defaults to dict() (a callable: SQLAlchemy computes it); a row leaving it out still gets {}."""
    with Session(engine) as session, session.begin():
        tx = _tx(session, True)
        tx.insert(THINGS, {"id": "c"})
        assert tx.mapping(BY_ID, {"id": "c"}) == {"id": "c", "n": 7, "x": None, "flag": False, "doc": {}}


def test_what_the_driver_path_leaves_to_sqlalchemy() -> None:
    assert driver.prepare(BY_ID) is not None
    assert driver.prepare_insert(THINGS) is not None
    assert driver.prepare(NOT_MARKED) is None  # built per call: never compiled here
    assert driver.prepare(EXPANDING) is None  # an expanding IN
    assert driver.prepare(WITH_DATETIME) is None  # a type SQLite's dialect processes (text <-> datetime)
    assert driver.prepare_insert(DATED) is None  # ditto, for the table's INSERT
    assert driver.prepare(insert(THINGS)) is None  # INSERTs go through prepare_insert only


def test_the_drivers_errors_are_sqlalchemys(engine: Any) -> None:
    """The idempotency claim catches IntegrityError, the app answers OperationalError 503: whichever path ran."""
    with Session(engine) as session, session.begin():
        tx = _tx(session, True)
        tx.insert(THINGS, {"id": "d", "doc": {}})
        with pytest.raises(IntegrityError):
            tx.insert(THINGS, {"id": "d", "doc": {}})
