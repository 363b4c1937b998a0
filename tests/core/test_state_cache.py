"""The per-process cache of hot state (`Store.cached_state`) and the change signal that keeps it exact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from simulator import seed
from simulator.core.store import Store
from tests.support import DONOR_ID, Kit


@pytest.fixture
def two_stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one SQLite file, as two worker processes have (they share only the file and its sidecar)."""
    url = f"sqlite:///{tmp_path}/sandbox.db"
    a, b = Store(url), Store(url)
    import simulator.models  # noqa: F401  (every table)

    a.create_schema()
    yield a, b
    a.dispose()
    b.dispose()


def count_selects(store: Store) -> list[str]:
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    return seen


def test_a_change_committed_through_one_store_is_seen_by_the_other_at_once(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    assert b.cached_state(None, "faults") == {"faults": None}
    for n in range(5):
        with a.write() as tx:
            a.put_state(tx, "faults", {"n": n})
        assert b.cached_state(None, "faults") == {"faults": {"n": n}}


def test_unchanged_state_is_served_from_the_cache_without_a_select(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    with a.write() as tx:
        a.put_state(tx, "faults", {"n": 1})
    selects = count_selects(b)
    assert b.cached_state(None, "faults", "clock") == {"faults": {"n": 1}, "clock": None}
    assert len(selects) == 1  # both keys in one statement
    for _ in range(10):
        assert b.cached_state(None, "faults", "clock") == {"faults": {"n": 1}, "clock": None}
    assert len(selects) == 1
    with a.write() as tx:  # any state change, even of another key, moves the signal
        a.put_state(tx, "other", {})
    b.cached_state(None, "faults")
    assert len(selects) == 2


def test_a_rolled_back_change_is_never_cached_or_signalled(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    with a.write() as tx:
        a.put_state(tx, "faults", {"n": 1})
    before = a.signal.token() if a.signal else b""
    with pytest.raises(RuntimeError), a.write() as tx:
        a.put_state(tx, "faults", {"n": 2})
        assert a.cached_state(tx, "faults") == {"faults": {"n": 2}}  # its own transaction sees it...
        raise RuntimeError("boom")
    assert a.signal is not None and a.signal.token() == before
    assert a.cached_state(None, "faults") == {"faults": {"n": 1}}  # ...but it never reached the cache
    assert b.cached_state(None, "faults") == {"faults": {"n": 1}}


def test_a_reset_wipe_moves_the_signal(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    with a.write() as tx:
        a.put_state(tx, "faults", {"n": 1})
    assert b.cached_state(None, "faults") == {"faults": {"n": 1}}
    with a.write() as tx:
        seed.wipe(tx)
    assert b.cached_state(None, "faults") == {"faults": None}


def test_the_suite_store_caches_until_its_signal_moves(app: Flask) -> None:
    """In-memory SQLite signals within its one process; PostgreSQL (hosts share no memory) through a version row
    that every state-changing transaction replaces."""
    store: Store = app.extensions["kyc_sandbox"].rt.store
    selects = count_selects(store)
    for _ in range(3):
        assert store.cached_state(None, "faults", "rate_limits") == {"faults": None, "rate_limits": None}
    with store.write() as tx:
        store.put_state(tx, "faults", {"n": 1})
    assert store.cached_state(None, "faults")["faults"] == {"n": 1}
    state_reads = [s for s in selects if "FROM sandbox_state" in s and " IN (" in s]  # cached_state reads
    assert len(state_reads) == 2  # the first read, then the one after the change
    assert (store.signal is not None) == store.is_sqlite


def test_made_up_level_and_client_names_never_grow_the_cache(app: Flask, kit: Kit) -> None:
    """Reference rows are cached as whole tables, so a caller inventing names cannot grow a worker's memory."""
    store: Store = app.extensions["kyc_sandbox"].rt.store
    donor = kit.sumsub(DONOR_ID)
    donor.create_applicant("basic-kyc-level", {"externalUserId": "warm-up"}).raise_for_status()
    before = set(store._cache)
    for i in range(20):
        resp = donor.create_applicant(f"no-such-level-{i}", {"externalUserId": f"made-up-{i}"})
        assert resp.status_code == 400 and "not found" in resp.json()["description"]
        created = kit.control.create_donor(profile="gb-passport", client_id=f"no-such-client-{i}")
        assert created.status_code == 404
    assert set(store._cache) == before
    kit.contract_problems.clear()


def test_requests_leave_wal_checkpoints_to_the_background(two_stores: tuple[Store, Store]) -> None:
    """Commits do not checkpoint at SQLite's default 1,000 pages; `Store.checkpoint` (each dispatcher tick) does."""
    from sqlalchemy import text

    from simulator.core.store import WAL_AUTOCHECKPOINT_PAGES

    a, _b = two_stores
    with a.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
    with a.write() as tx:
        tx.execute(text("CREATE TABLE filler (x BLOB)"))
    for _ in range(30):  # about 1,200 pages of WAL: past the default mark
        with a.write() as tx:
            tx.execute(text("INSERT INTO filler VALUES (randomblob(160000))"))
    log, done = a.checkpoint() or (0, 0)
    assert log > 1000 and done == log  # all still in the WAL, until the background checkpoint copies them
    assert a.checkpoint() == (log, log)  # nothing new: the next tick has nothing to do
    memory = Store("sqlite://")
    assert memory.checkpoint() is None


def test_on_postgresql_a_change_through_one_host_is_seen_by_another_at_once() -> None:
    """Two stores on one PostgreSQL database, as two hosts sharing a sandbox: each caches, and a committed change
    (or a wipe and re-seed) through either is read by the other on its next call; a rolled-back one is not."""
    from tests.support import postgres_database, require_postgres

    require_postgres()
    url = postgres_database("kyc_sandbox_two_hosts")
    a, b = Store(url), Store(url)
    import simulator.models  # noqa: F401  (every table)

    try:
        a.create_schema()
        with a.write() as tx:
            seed.wipe(tx)
            seed.seed(tx)
        selects = count_selects(b)
        for _ in range(3):
            assert b.cached_state(None, "faults") == {"faults": None}
        assert len([q for q in selects if "FROM sandbox_state" in q and " IN (" in q]) == 1
        with a.write() as tx:
            a.put_state(tx, "faults", {"n": 1})
        assert b.cached_state(None, "faults") == {"faults": {"n": 1}}
        with pytest.raises(RuntimeError), a.write() as tx:
            a.put_state(tx, "faults", {"n": 2})
            raise RuntimeError("rolled back")
        assert b.cached_state(None, "faults") == {"faults": {"n": 1}}
        with a.write() as tx:  # a reset: every row gone, then the seed (the version row too)
            seed.wipe(tx)
            seed.seed(tx)
        assert b.cached_state(None, "faults") == {"faults": None}
    finally:
        a.dispose()
        b.dispose()
