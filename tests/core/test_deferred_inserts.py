"""`insert_rows` / `deferred_inserts`: the bulk import's batched INSERTs keep each row all-or-nothing."""

from __future__ import annotations

from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import Table, func, select

from simulator.core.seed import DAKOTA_ORG_ID
from simulator.core.store import deferred_inserts, deferred_values, insert_rows
from simulator.dakota.models import Application, Customer

CUSTOMERS = cast(Table, Customer.__table__)
APPLICATIONS = cast(Table, Application.__table__)


def customer(n: int) -> dict[str, Any]:
    return {
        "id": f"cust{n:023d}",
        "organization_id": DAKOTA_ORG_ID,
        "name": f"Customer {n}",
        "email": None,
        "customer_type": "individual",
        "kyb_status": "pending",
        "external_id": None,
        "application_id": None,
        "source": "test",
        "created_at": 1.0,
        "updated_at": 1.0,
    }


def count(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def test_rows_wait_for_the_block_and_failed_units_leave_nothing(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as session:
        before = count(session)
        with deferred_inserts(session):
            for n in range(4):
                try:
                    with deferred_inserts(session), session.begin_nested():
                        insert_rows(session, CUSTOMERS, customer(n))
                        if n == 2:
                            raise ValueError("this unit fails")
                except ValueError:
                    pass
            assert count(session) == before  # nothing written yet
            assert deferred_values(session, CUSTOMERS, "id") == {customer(n)["id"] for n in (0, 1, 3)}
        assert count(session) == before + 3  # the three units that completed, in one statement
        ids = set(session.scalars(select(Customer.id).where(Customer.source == "test")))
        assert ids == {customer(n)["id"] for n in (0, 1, 3)}


def test_an_error_in_the_block_discards_every_waiting_row(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as session:
        before = count(session)
        with pytest.raises(RuntimeError), deferred_inserts(session):
            insert_rows(session, CUSTOMERS, [customer(7), customer(8)])
            raise RuntimeError("boom")
        assert count(session) == before
        assert session.info.get("sandbox_deferred_inserts") is None  # later inserts run at once again
        insert_rows(session, CUSTOMERS, customer(9))
        assert count(session) == before + 1


def test_parents_are_inserted_before_children(app: Flask) -> None:
    """Tables are written in first-use order, so a row's parent (customer) lands before its child (application):
    the foreign key is enforced on both stores, so the other order would fail."""
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as session:
        with deferred_inserts(session):
            for n in range(3):
                c = customer(20 + n)
                insert_rows(session, CUSTOMERS, c)
                insert_rows(
                    session,
                    APPLICATIONS,
                    {
                        "id": f"appl{n:023d}",
                        "organization_id": DAKOTA_ORG_ID,
                        "customer_id": c["id"],
                        "application_type": "individual",
                        "status": "pending",
                        "decision": None,
                        "decision_method": None,
                        "token": f"tok-{n}",
                        "individual_id": f"ind{n:024d}",
                        "individual": {},
                        "sumsub": None,
                        "documents": [],
                        "attestations": {},
                        "flags": {},
                        "version": 1,
                        "created_at": 1.0,
                        "updated_at": 1.0,
                        "submitted_at": None,
                        "auto_decide_at": None,
                        "expires_at": 2.0,
                    },
                )
        apps = session.scalar(select(func.count()).select_from(Application).where(Application.token.like("tok-%")))
        assert apps == 3


# ------------------------------------------------------------------ raw statements (FastQuery / execute_in)
def _idempotency_row(key: str, response: Any) -> dict[str, Any]:
    return {
        "api_key": "raw-vs-core",
        "idempotency_key": key,
        "method": "POST",
        "path": "/x",
        "body_sha256": "0" * 64,
        "state": "done",
        "status_code": 200,
        "response": response,
        "created_at": 1.5,
        "lease_until": 2.25,
    }


@pytest.mark.parametrize(
    "response",
    [{"nested": [1, 2.5, None, "é"], "ok": True}, [], None, "text"],
    ids=["object", "empty-list", "none", "string"],
)
def test_a_raw_insert_stores_exactly_what_a_core_insert_stores(app: Flask, response: Any) -> None:
    """Bind processors (JSON here: None becomes JSON null, as SQLAlchemy stores it) apply on the raw path too."""
    from sqlalchemy import insert, text

    from simulator.core.store import FastQuery, fetch_all_in, insert_now
    from simulator.dakota.models import IdempotencyRecord

    table = cast(Table, IdempotencyRecord.__table__)
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as session:
        session.connection().execute(insert(table), _idempotency_row("core", response))
        insert_now(session, table, _idempotency_row("raw", response))
        stored = {
            r[0]: r[1:]
            for r in session.execute(
                text(
                    "SELECT idempotency_key, CAST(response AS TEXT), status_code, created_at, lease_until "
                    "FROM dakota_idempotency WHERE api_key = 'raw-vs-core'"
                )
            )
        }
        assert stored["raw"] == stored["core"]
        decoded = FastQuery(
            select(table.c.idempotency_key, table.c.response).where(table.c.api_key == "raw-vs-core"), decode=True
        )
        read = dict(fetch_all_in(session, decoded))
        assert read == {"core": response, "raw": response}
        core_read = session.execute(decoded.stmt)  # the same SELECT through SQLAlchemy's own result processing
        assert read == dict(core_read.all())


def test_execute_in_reports_the_rows_it_changed_and_runs_in_the_callers_transaction(app: Flask) -> None:
    from sqlalchemy import bindparam, update

    from simulator.core.store import FastQuery, execute_in

    store = app.extensions["kyc_sandbox"].rt.store
    bump = FastQuery(
        update(CUSTOMERS).where(CUSTOMERS.c.source == bindparam("p_source")).values(name=bindparam("name"))
    )
    with pytest.raises(RuntimeError), store.write() as session:
        insert_rows(session, CUSTOMERS, [customer(n) for n in (10, 11)])
        assert execute_in(session, bump, {"p_source": "test", "name": "renamed"}) == 2
        assert execute_in(session, bump, {"p_source": "nobody", "name": "x"}) == 0
        raise RuntimeError("roll it all back")
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.source == "test")) == 0


def test_raw_statements_inside_a_savepoint_roll_back_with_it(app: Flask) -> None:
    from simulator.core.store import insert_now

    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as session:
        before = count(session)
        insert_now(session, CUSTOMERS, customer(20))  # outside any savepoint: the transaction's connection
        for n in (21, 22):
            try:
                with session.begin_nested():
                    insert_now(session, CUSTOMERS, customer(n))
                    if n == 21:
                        raise ValueError("this savepoint rolls back")
            except ValueError:
                pass
        insert_now(session, CUSTOMERS, customer(23))
        assert count(session) == before + 3
    with store.read() as session:
        ids = set(session.scalars(select(Customer.id).where(Customer.source == "test")))
    assert ids == {customer(n)["id"] for n in (20, 22, 23)}


def test_driver_errors_on_the_raw_path_are_sqlalchemys_own(app: Flask) -> None:
    """A duplicate key on a raw INSERT is `sqlalchemy.exc.IntegrityError`, as on the Core path: the idempotency
    claim's retry and the app's error handlers catch that family, whichever path ran the statement."""
    from sqlalchemy.exc import IntegrityError

    from simulator.core.store import insert_now

    store = app.extensions["kyc_sandbox"].rt.store
    with pytest.raises(IntegrityError), store.write() as session:
        insert_now(session, CUSTOMERS, customer(30))
        insert_now(session, CUSTOMERS, customer(30))
    with store.read() as session:
        assert session.get(Customer, customer(30)["id"]) is None


def test_a_raw_insert_fills_in_python_side_defaults_as_core_does(app: Flask) -> None:
    """Columns left out of a row get their model defaults (scalars, and a fresh value from callables), exactly
    as a Core INSERT of the same row stores them."""
    from sqlalchemy import insert, text

    from simulator.core.store import insert_now

    store = app.extensions["kyc_sandbox"].rt.store
    row = customer(40)
    for k in ("kyb_status", "source"):
        del row[k]  # both have defaults ("pending", "api")
    app_row = {
        "id": "app-defaults-raw",
        "organization_id": DAKOTA_ORG_ID,
        "customer_id": row["id"],
        "application_type": "individual",
        "token": "t-raw",
        "individual_id": "ind-raw",
        "created_at": 1.0,
        "updated_at": 1.0,
        "expires_at": 2.0,
    }
    columns = "status, CAST(individual AS TEXT), CAST(documents AS TEXT), CAST(attestations AS TEXT), version"
    with store.write() as session:
        insert_now(session, CUSTOMERS, row)
        session.connection().execute(insert(CUSTOMERS), {**row, "id": "core-" + row["id"][5:]})
        insert_now(session, APPLICATIONS, [app_row, {**app_row, "id": "app-defaults-raw2", "token": "t-raw2"}])
        session.connection().execute(insert(APPLICATIONS), {**app_row, "id": "app-defaults-core", "token": "t-core"})
        stored = {
            r[0]: tuple(r[1:])
            for r in session.execute(
                text("SELECT id, kyb_status, source FROM dakota_customers WHERE name = :n"), {"n": row["name"]}
            )
        }
        apps = {
            r[0]: tuple(r[1:])
            for r in session.execute(
                text(f"SELECT id, {columns} FROM dakota_applications WHERE id LIKE 'app-defaults-%'")
            )
        }
    assert set(stored.values()) == {("pending", "api")} and len(stored) == 2
    assert apps["app-defaults-raw"] == apps["app-defaults-core"] == apps["app-defaults-raw2"]
    assert apps["app-defaults-raw"][0] == "pending" and apps["app-defaults-raw"][-1] == 1


def test_detached_row_holds_its_values_and_becomes_persistent_like_a_loaded_row(app: Flask) -> None:
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import make_transient_to_detached

    from simulator.core.store import detached_row, insert_now

    store = app.extensions["kyc_sandbox"].rt.store
    values = customer(50)
    row = detached_row(Customer, values)
    assert (row.id, row.name, row.kyb_status, row.email) == (values["id"], "Customer 50", "pending", None)
    assert sa_inspect(row).transient
    with store.write() as session:
        insert_now(session, CUSTOMERS, values)
        make_transient_to_detached(row)
        session.add(row)
        assert session.get(Customer, values["id"]) is row  # the identity map holds it: no second SELECT
        row.name = "renamed"  # an ordinary ORM change: flushed at commit
    with store.read() as session:
        assert session.get(Customer, values["id"]).name == "renamed"
