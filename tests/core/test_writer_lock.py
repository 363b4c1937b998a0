"""The SQLite writers' queue (`WriterLock`): every write transaction of every process holds `<db>.lock`."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from simulator.app import create_app
from simulator.core.store import SandboxState, Store, WriterLock
from simulator.settings import Settings


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path}/sandbox.db")
    s.create_schema()
    yield s
    s.dispose()


def held_elsewhere(path: Path) -> bool:
    """Whether another open file (another process, as far as flock is concerned) holds the lock now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_lock_file_for_exactly_its_duration(store: Store, tmp_path: Path) -> None:
    lock = tmp_path / "sandbox.db.lock"
    with store.write() as tx:
        store.put_state(tx, "k", {"n": 1})
        assert held_elsewhere(lock)
    assert not held_elsewhere(lock)
    with store.read():
        assert not held_elsewhere(lock)  # readers never queue behind writers (WAL)


def test_a_failed_write_releases_the_lock(store: Store, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), store.write():
        raise RuntimeError("boom")
    assert not held_elsewhere(tmp_path / "sandbox.db.lock")


def test_nested_holds_in_one_thread_release_only_at_the_outermost(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    lock = WriterLock(str(path))
    with lock.hold():
        with lock.hold():
            assert held_elsewhere(path)
        assert held_elsewhere(path)
    assert not held_elsewhere(path)


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "x.lock"))
    inside, peak = [0], [0]

    def work() -> None:
        for _ in range(200):
            with lock.hold():
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1


def test_a_forked_child_opens_its_own_lock_file_and_queues_behind_its_parent(tmp_path: Path) -> None:
    # Sharing the parent's descriptor would share its flock: the child would walk straight past a held lock.
    path = tmp_path / "x.lock"
    lock = WriterLock(str(path))
    with lock.hold():
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if the lock is held against it
            try:
                fcntl.flock(lock._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


HOLDER = """
import sys, time
from simulator.core.store import SandboxState, Store
store = Store(sys.argv[1])
with store.write() as tx:
    tx.add(SandboxState(key="half-done", value={}))
    tx.flush()
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_by_sigkill_frees_the_lock_and_leaves_nothing_behind(store: Store, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sandbox.db"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            assert held_elsewhere(tmp_path / "sandbox.db.lock")
        finally:
            holder.kill()  # SIGKILL, mid-transaction
            holder.wait(timeout=10)
    done = threading.Event()

    def write() -> None:
        with store.write() as tx:
            store.put_state(tx, "after", {"ok": True})
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(timeout=20), "the dead writer's lock was never released"
    with store.read() as tx:
        keys = set(tx.scalars(select(SandboxState.key)))
        assert "after" in keys and "half-done" not in keys
        assert tx.scalar(select(func.count()).select_from(SandboxState)) == len(keys)


def impatient(store: Store) -> None:
    """Every connection the store opens from now on gives up at once on a locked file (not after 30 s)."""
    event.listen(store.engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=0"))
    store.engine.dispose()


def test_a_write_lock_still_busy_is_sqlalchemys_operational_error(store: Store, tmp_path: Path) -> None:
    # Another program holds SQLite's own write lock (it does not queue on <db>.lock); our BEGIN IMMEDIATE gives up
    # at once here, and must fail as SQLAlchemy's OperationalError (the app answers that with 503 and Retry-After).
    impatient(store)
    other = sqlite3.connect(tmp_path / "sandbox.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"), store.write() as tx:
            store.put_state(tx, "k", {})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not held_elsewhere(tmp_path / "sandbox.db.lock")


def test_the_app_answers_a_busy_store_with_503_and_retry_after(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/busy.db"))
    impatient(app.extensions["kyc_sandbox"].rt.store)
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        reply = app.test_client().post("/_sandbox/donors", json={"profile": "gb-passport"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert reply.status_code == 503, reply.get_data(as_text=True)
    assert reply.headers["Retry-After"] == "1"
    assert "busy" in reply.get_json()["error"]["message"]
