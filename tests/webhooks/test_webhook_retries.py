"""Failed Dakota deliveries: retried on the simulated clock until the last attempt, timeouts and unreachable
receivers included; the outbox that holds them.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from flask import Flask

from simulator.app import create_app
from simulator.dakota.events import RETRY_DELAYS as DAKOTA_RETRY_DELAYS
from simulator.harness.openapi import OpenApiContract
from simulator.harness.receiver import WebhookReceiver
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from tests.support import Kit, dakota_headers, make_kit, mint_and_import, target_for
from tests.support.webhooks import advance, dispatch, history, outbox, public_key, replay


def test_a_failed_delivery_is_retried_60_seconds_later_on_the_simulated_clock(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.script(500)
    mint_and_import(kit)

    first = dispatch(kit)

    assert [(f["outcome"], f["status_code"], f["attempt"]) for f in first] == [("retry_scheduled", 500, 1)]
    [item] = outbox(kit)
    assert item["kind"] == "dakota"
    assert item["status"] == "pending"
    assert item["attempts"] == 1
    assert item["last_status_code"] == 500
    due = datetime.fromisoformat(item["next_attempt_at"].replace("Z", "+00:00")).timestamp()
    assert abs(due - (kit.control.clock()["epoch"] + DAKOTA_RETRY_DELAYS[0])) < 3

    assert dispatch(kit) == []  # not due yet
    assert advance(kit, 58) == []
    assert len(rx.received) == 1

    fired = advance(kit, 3)

    assert [(f["id"], f["outcome"], f["attempt"]) for f in fired] == [(item["id"], "delivered", 2)]
    first_try, second_try = rx.wait_for(2)
    assert (first_try.answered, second_try.answered) == (500, 200)
    # At least once: the same event, same id, both signed.
    assert first_try.body == second_try.body
    assert first_try.header("X-Dakota-Event-ID") == second_try.header("X-Dakota-Event-ID")
    assert second_try.verify_dakota(public_key(kit))
    assert outbox(kit, status="delivered")[0]["id"] == item["id"]
    assert advance(kit, 3600) == []


def test_an_unreachable_receiver_counts_as_a_failed_attempt(kit: Kit) -> None:
    with WebhookReceiver() as gone:
        url = gone.url
    target_for(kit, url)
    mint_and_import(kit)
    [attempt] = dispatch(kit)
    assert attempt["outcome"] == "retry_scheduled"
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("ConnectionError")
    assert outbox(kit)[0]["status"] == "pending"


def test_a_delivery_that_keeps_failing_ends_failed_after_the_last_attempt(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.always(500)
    mint_and_import(kit)
    outcomes = [f["outcome"] for f in dispatch(kit)]
    for delay in DAKOTA_RETRY_DELAYS:
        outcomes += [f["outcome"] for f in advance(kit, delay + 1)]

    attempts = len(DAKOTA_RETRY_DELAYS) + 1
    assert outcomes == ["retry_scheduled"] * (attempts - 1) + ["failed"]
    assert len(rx.received) == attempts
    [item] = outbox(kit, status="failed")
    assert item["attempts"] == item["max_attempts"] == attempts
    assert len(item["log"]) == attempts
    assert outbox(kit, status="pending") == []
    assert history(kit, status="failed")["data"][0]["attempts"] == attempts
    assert advance(kit, 7 * 24 * 3600) == []
    # A replay still works once the receiver is healthy again.
    rx.always(200)
    assert replay(kit, item["event_id"]).status_code == 200
    assert [f["outcome"] for f in dispatch(kit)] == ["delivered"]


def test_a_target_records_when_it_was_last_attempted_and_healthy(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    rx.script(500)
    mint_and_import(kit)
    advance(kit, 10)
    dispatch(kit)
    url = f"{kit.base_url}/webhooks/targets/{t['id']}"
    after_failure = kit.http.get(url, headers=dakota_headers(idempotency=False)).json()
    assert after_failure["time_last_attempted"] >= t["time_last_attempted"] + 10
    assert after_failure["time_last_healthy"] == t["time_last_healthy"]
    advance(kit, 61)
    healthy = kit.http.get(url, headers=dakota_headers(idempotency=False)).json()
    assert healthy["time_last_healthy"] == healthy["time_last_attempted"] > after_failure["time_last_attempted"]


def test_deleting_a_target_stops_its_pending_retries(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    rx.script(500)
    mint_and_import(kit)
    dispatch(kit)
    assert len(rx.received) == 1

    deleted = kit.http.delete(f"{kit.base_url}/webhooks/targets/{t['id']}", headers=dakota_headers(idempotency=False))
    assert deleted.status_code == 204

    assert advance(kit, 3600) == []
    assert len(rx.received) == 1
    [item] = outbox(kit)
    assert item["status"] == "failed"
    assert "deleted" in item["last_error"]


@pytest.fixture
def slow_kit(
    sandbox_settings: Settings, vendor_contract: OpenApiContract, own_contracts: dict[str, OpenApiContract]
) -> Iterator[Kit]:
    """The suite's sandbox, but giving receivers only one second to answer."""
    app: Flask = create_app(replace(sandbox_settings, webhook_timeout_seconds=1))
    if not sandbox_settings.database_url.startswith("sqlite"):
        app.extensions["kyc_sandbox"].reset()
    http, base = in_process_session(app)
    kit = make_kit(http, base, vendor_contract, own_contracts)
    yield kit
    app.extensions["kyc_sandbox"].close()
    assert not kit.contract_problems, "\n".join(str(p) for p in kit.contract_problems)


def test_a_receiver_that_times_out_is_a_failed_attempt_and_is_retried(slow_kit: Kit, rx: WebhookReceiver) -> None:
    target_for(slow_kit, rx.url)
    rx.script((200, 3.0))
    mint_and_import(slow_kit)

    started = time.monotonic()
    [attempt] = dispatch(slow_kit)

    assert time.monotonic() - started < 2.5  # the sandbox stopped waiting after its one-second timeout
    assert attempt["outcome"] == "retry_scheduled"
    assert attempt["status_code"] is None
    assert attempt["error"] == "timed out after 1s"
    [item] = outbox(slow_kit)
    assert item["status"] == "pending"
    assert item["attempts"] == 1

    [retry] = advance(slow_kit, 61)
    assert retry["outcome"] == "delivered"
    hooks = rx.wait_for(2)
    assert hooks[0].body == hooks[1].body
    assert outbox(slow_kit)[0]["status"] == "delivered"


def test_the_outbox_filters_are_validated(kit: Kit) -> None:
    for bad in ({"status": "lost"}, {"kind": "stripe"}):
        resp = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/outbox", params=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["error"]["field"] == next(iter(bad)), bad
