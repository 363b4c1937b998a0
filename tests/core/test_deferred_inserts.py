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
