"""`Store.query` on PostgreSQL: one AUTOCOMMIT connection per thread, kept between reads."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import func, select

from simulator.core.store import SandboxState, Store
from tests.support import postgres_database, require_postgres

_READ = select(SandboxState.value).where(SandboxState.key == "probe")


@pytest.fixture
def store() -> Iterator[Store]:
    require_postgres()
    s = Store(postgres_database("kyc_sandbox_reader"))
    s.create_schema()
    with s.write() as tx:
        s.put_state(tx, "probe", {"n": 1})
    yield s
    s.dispose()


def admin(store: Store) -> psycopg.Connection:
    return psycopg.connect(store.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def reader_pid(store: Store) -> int:
    """The server process behind this thread's reader."""
    row = store.query(select(func.pg_backend_pid().label("pid")))
    assert row is not None
    return int(row["pid"])


def value(store: Store) -> object:
    row = store.query(_READ)
    return None if row is None else row["value"]


def test_reads_see_each_commit_and_leave_no_transaction_open(store: Store) -> None:
    assert value(store) == {"n": 1}
    with store.write() as tx:
        store.put_state(tx, "probe", {"n": 2})
    assert value(store) == {"n": 2}
    with admin(store) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (reader_pid(store),)).fetchone()
    assert row is not None and row[0] == "idle"  # not "idle in transaction": nothing held between reads


def test_each_thread_reads_on_its_own_connection(store: Store) -> None:
    value(store)
    mine = reader_pid(store)
    theirs: list[int] = []

    def read() -> None:
        assert value(store) == {"n": 1}
        theirs.append(reader_pid(store))

    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert theirs and theirs[0] != mine
    value(store)
    assert reader_pid(store) == mine  # kept, not taken from the pool each time


def test_a_reader_the_server_dropped_is_replaced(store: Store) -> None:
    value(store)
    old = reader_pid(store)
    with admin(store) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (old,))
    assert value(store) == {"n": 1}
    assert reader_pid(store) != old


def test_a_forked_child_reads_on_its_own_connection_and_leaves_the_parents_alone(store: Store) -> None:
    value(store)
    parent = reader_pid(store)
    pid = os.fork()
    if pid == 0:  # the child: a read of its own, then exit without finalizing anything
        try:
            ok = value(store) == {"n": 1} and reader_pid(store) != parent
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert value(store) == {"n": 1}
    assert reader_pid(store) == parent  # the parent's session survived the child
