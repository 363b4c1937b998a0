"""The unit of work (`Tx`): queued inserts are written whole when the transaction commits, or not at all."""

from __future__ import annotations

from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import Table, func, select

from simulator.core.tx import Tx
from simulator.dakota.models import ApiKey, Application, Customer
from simulator.seed import DAKOTA_ORG_ID

CUSTOMERS = cast(Table, Customer.__table__)
APPLICATIONS = cast(Table, Application.__table__)
KEYS = cast(Table, ApiKey.__table__)


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


def application(n: int, customer_id: str) -> dict[str, Any]:
    return {
        "id": f"appl{n:023d}",
        "organization_id": DAKOTA_ORG_ID,
        "customer_id": customer_id,
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
    }


def count(tx: Tx) -> int:
    return int(tx.scalar(select(func.count()).select_from(CUSTOMERS).where(CUSTOMERS.c.source == "test")) or 0)


def test_queued_rows_are_written_when_the_transaction_ends(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as tx:
        tx.insert_later(CUSTOMERS, [customer(1), customer(2)])
        tx.insert_later(CUSTOMERS, customer(3))
        assert count(tx) == 0  # nothing written yet
        assert [r["id"] for r in tx.queued(CUSTOMERS)] == [customer(n)["id"] for n in (1, 2, 3)]
    with store.read() as tx:
        assert count(tx) == 3


def test_an_error_discards_every_queued_row(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.insert(CUSTOMERS, customer(6))
        tx.insert_later(CUSTOMERS, [customer(7), customer(8)])
        raise RuntimeError("boom")
    with store.read() as tx:
        assert count(tx) == 0


def test_parents_are_inserted_before_children(app: Flask) -> None:
    """Tables are written in first-use order, so a row's parent (customer) lands before its child (application):
    the foreign key is enforced on both stores, so the other order would fail."""
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as tx:
        for n in range(3):
            c = customer(20 + n)
            tx.insert_later(CUSTOMERS, c)
            tx.insert_later(APPLICATIONS, application(n, c["id"]))
    with store.read() as tx:
        apps = tx.scalar(select(func.count()).select_from(APPLICATIONS).where(APPLICATIONS.c.token.like("tok-%")))
        assert apps == 3


def test_queued_rows_get_python_side_defaults_as_any_core_insert(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    with store.write() as tx:
        tx.insert_later(KEYS, {"key": "k-defaults", "organization_id": DAKOTA_ORG_ID, "role": "viewer"})
    with store.read() as tx:
        row = tx.first(select(KEYS.c.permissions, KEYS.c.name).where(KEYS.c.key == "k-defaults"))
        assert row is not None and (row.permissions, row.name) == ([], "")


def test_state_changed_in_a_transaction_moves_the_change_signal_only_after_commit(app: Flask) -> None:
    store = app.extensions["kyc_sandbox"].rt.store
    before = store._token(None)
    with pytest.raises(RuntimeError), store.write() as tx:
        store.put_state(tx, "probe", {"n": 1})
        raise RuntimeError("rolled back")
    assert store._token(None) == before
    with store.write() as tx:
        store.put_state(tx, "probe", {"n": 2})
        assert tx.state_changed
    assert store._token(None) != before
