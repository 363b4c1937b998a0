"""The dispatcher: an idle tick only reads, and only a request that queued work wakes it.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from simulator.harness.receiver import WebhookReceiver
from tests.support import Kit, mint_and_import, target_for


def _write_transactions(app: Flask) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []
    engine = app.extensions["kyc_sandbox"].rt.store.engine

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("sandbox_immediate"):  # `Store.write`, on either store
            seen.append("write transaction")

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in statement:
            seen.append(statement)

    return seen


def test_an_idle_dispatcher_tick_takes_no_write_transaction(kit: Kit, app: Flask, rx: WebhookReceiver) -> None:
    """The dispatcher polls twice a second; with nothing due it only reads, so it never holds up writers."""
    target_for(kit, rx.url)
    mint_and_import(kit)
    sb = app.extensions["kyc_sandbox"]
    assert len(sb.tick()) == 1  # the import's customer.created goes out
    writes = _write_transactions(app)
    assert sb.tick(kicked=True) == [] and sb.tick(kicked=True) == []
    assert writes == []
    mint_and_import(kit)  # now something is due: the next tick claims and delivers it
    assert len(sb.tick(kicked=True)) == 1 and writes


def test_only_a_request_that_queued_work_wakes_the_dispatcher(kit: Kit, app: Flask, rx: WebhookReceiver) -> None:
    queued = app.extensions["kyc_sandbox"].outbox.work_queued
    queued.clear()
    mint_and_import(kit)  # no webhook target yet: nothing to deliver
    assert not queued.is_set()
    target_for(kit, rx.url)
    queued.clear()
    mint_and_import(kit)  # customer.created is queued for the target
    assert queued.is_set()
