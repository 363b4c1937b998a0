"""`Store.fetch_one` on PostgreSQL: one autocommit connection per thread, outside the pool."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import select

from simulator.core.store import FastQuery, SandboxState, Store
from tests.conftest import postgres_database, require_postgres

_READ = FastQuery(select(SandboxState.value).where(SandboxState.key == "probe"))


@pytest.fixture
def store() -> Iterator[Store]:
    require_postgres()
    s = Store(postgres_database("kyc_sandbox_reader"))
    s.create_schema()
    with s.write() as session:
        s.put_state(session, "probe", {"n": 1})
    yield s
    s.dispose()


def admin(store: Store) -> psycopg.Connection:
    return psycopg.connect(store.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def reader_pid(store: Store) -> int:
    held = store._readers.pg  # this thread's reader
    assert held is not None
    return int(held.conn.info.backend_pid)


def test_reads_see_each_commit_and_leave_no_transaction_open(store: Store) -> None:
    assert store.fetch_one(_READ) == ({"n": 1},)
    with store.write() as session:
        store.put_state(session, "probe", {"n": 2})
    assert store.fetch_one(_READ) == ({"n": 2},)
    with admin(store) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (reader_pid(store),)).fetchone()
    assert row is not None and row[0] == "idle"  # not "idle in transaction": nothing held between reads


def test_each_thread_reads_on_its_own_connection(store: Store) -> None:
    store.fetch_one(_READ)
    mine = reader_pid(store)
    theirs: list[int] = []

    def read() -> None:
        assert store.fetch_one(_READ) == ({"n": 1},)
        theirs.append(reader_pid(store))

    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert theirs and theirs[0] != mine
    store.fetch_one(_READ)
    assert reader_pid(store) == mine  # kept, not taken from the pool each time


def test_a_reader_the_server_dropped_is_replaced(store: Store) -> None:
    store.fetch_one(_READ)
    old = reader_pid(store)
    with admin(store) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (old,))
    assert store.fetch_one(_READ) == ({"n": 1},)
    assert reader_pid(store) != old


def test_a_forked_child_reads_on_its_own_connection_and_leaves_the_parents_alone(store: Store) -> None:
    store.fetch_one(_READ)
    parent = reader_pid(store)
    pid = os.fork()
    if pid == 0:  # the child: a read of its own, then exit without finalizing anything
        try:
            ok = store.fetch_one(_READ) == ({"n": 1},) and reader_pid(store) != parent
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.fetch_one(_READ) == ({"n": 1},)
    assert reader_pid(store) == parent  # the parent's session survived the child
