"""Schema migrations: the models and the Alembic revisions agree, and every way into a database ends at head."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from simulator.core.store import SCHEMA_HEAD, Base, Store, alembic_config
from tests.support import postgres_database, require_postgres


def test_schema_head_constant_is_the_newest_revision() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == SCHEMA_HEAD


def _diffs(url: str) -> list[Any]:
    import simulator.models  # noqa: F401  (every table on the metadata)

    engine = create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return list(diffs)


def _fresh_postgres(name: str) -> str:
    require_postgres()
    url = postgres_database(name)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _empty_database(store: str, tmp_path: Any, name: str) -> str:
    return f"sqlite:///{tmp_path}/{name}" if store == "sqlite" else _fresh_postgres("kyc_sandbox_migrations")


def _migrated(url: str, revision: str, *then: str) -> None:
    """`alembic upgrade <revision>` on `url`, then the statements `then`, in one transaction."""
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
        for sql in then:
            conn.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_migrations_from_empty_build_exactly_the_models(store: str, tmp_path: Any) -> None:
    url = _empty_database(store, tmp_path, "m.db")
    _migrated(url, "head")
    assert _diffs(url) == []


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_create_schema_on_an_empty_database_stamps_head_and_matches_the_models(store: str, tmp_path: Any) -> None:
    url = _empty_database(store, tmp_path, "s.db")
    s = Store(url)
    s.create_schema()
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
    s.dispose()
    assert _diffs(url) == []


def test_a_database_made_before_migrations_is_adopted_and_kept(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    # What those versions made: the initial revision's schema (their models), with no alembic_version.
    _migrated(
        url,
        "0001_initial",
        "DROP TABLE alembic_version",
        "INSERT INTO sandbox_state (key, value) VALUES ('keep', '{\"me\": 1}')",
    )
    s = Store(url)
    s.create_schema()
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
        assert conn.execute(text("SELECT count(*) FROM sandbox_state WHERE key = 'keep'")).scalar() == 1
    s.dispose()
    assert _diffs(url) == []


def test_create_schema_is_idempotent(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/twice.db"
    for _ in range(3):
        s = Store(url)
        s.create_schema()
        s.dispose()
    engine = create_engine(url)
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()


def test_sandboxes_starting_at_once_on_one_postgres_database_do_not_collide() -> None:
    url = _fresh_postgres("kyc_sandbox_migrations")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        s = Store(url)
        barrier.wait()
        try:
            s.create_schema()
        except BaseException as exc:
            errors.append(exc)
        finally:
            s.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _diffs(url) == []


def test_sandboxes_starting_at_once_on_one_postgres_database_seed_it_once() -> None:
    """Replicas of a team sandbox start together: one seeds the new database and makes its webhook key, the others
    wait for it and find both (before, all but one failed on the seed rows' primary keys)."""
    from simulator.app import Sandbox
    from simulator.core.runtime import Runtime
    from simulator.seed import SUMSUB_CLIENTS
    from simulator.settings import Settings

    url = _fresh_postgres("kyc_sandbox_migrations")
    errors: list[BaseException] = []
    keys: list[str] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        sb = Sandbox.build(Runtime.build(Settings(database_url=url)))
        barrier.wait()
        try:
            sb.prepare()
            keys.append(sb.dakota.events.public_key()["public_key_hex"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            sb.rt.store.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(keys) == 4 and len(set(keys)) == 1
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sumsub_clients")).scalar() == len(SUMSUB_CLIENTS)
    engine.dispose()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_database_at_the_first_revision_is_upgraded_on_start_and_keeps_its_rows(store: str, tmp_path: Any) -> None:
    url = _empty_database(store, tmp_path, "r1.db")
    _migrated(
        url,
        "0001_initial",
        "INSERT INTO dakota_events (id, organization_id, type, created, envelope, replay_count, seq) "
        "VALUES ('ev1', 'org1', 'customer.created', 1.0, '{}', 0, 7)",
    )
    s = Store(url)
    s.create_schema()
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
        assert conn.execute(text("SELECT seq FROM dakota_events WHERE id = 'ev1'")).scalar() == 7
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("dakota_events")}
    s.dispose()
    assert indexes == {"ix_dakota_events_org_seq": ["organization_id", "seq"]}
    assert _diffs(url) == []


def test_the_next_event_seq_is_one_index_step_not_a_scan(tmp_path: Any) -> None:
    # Every bulk import reads max(seq) of the organisation's events; a scan grew with every event ever emitted.
    from simulator.dakota.queries import LAST_EVENT_SEQ

    s = Store(f"sqlite:///{tmp_path}/plan.db")
    s.create_schema()
    compiled = LAST_EVENT_SEQ.params(org="org1").compile(s.engine, compile_kwargs={"literal_binds": True})
    with s.engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    s.dispose()
    assert "COVERING INDEX ix_dakota_events_org_seq" in plan, plan
