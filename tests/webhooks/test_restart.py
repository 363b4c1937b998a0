"""Webhook delivery from a real `kyc-sandbox serve`: background dispatch, and nothing lost across a crash."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.harness.clients import harness_session
from simulator.harness.openapi import OpenApiContract
from simulator.harness.pytest_plugin import SandboxProcess
from simulator.harness.receiver import WebhookReceiver
from tests.support import ADMIN_KEY, Kit, make_kit, mint_and_import, target_for
from tests.support.webhooks import outbox

pytestmark = pytest.mark.served


class Server(SandboxProcess):
    """`kyc-sandbox serve` on a given SQLite file, in its own process group so a crash takes all its workers."""

    def __init__(self, database: Path) -> None:
        super().__init__(database_url=f"sqlite:///{database}", own_session=True)


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kyc-sandbox-restart-") as tmp:
        yield Path(tmp)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts; whatever still runs at the end is stopped."""
    started: list[Server] = []
    yield started
    for server in started:
        if not server.stopped:
            server.kill()  # a throwaway server on a throwaway database: no graceful shutdown needed


def start(servers: list[Server], database: Path) -> Server:
    server = Server(database)
    servers.append(server)
    return server


def kit_for(server: Server, contract: OpenApiContract, own: dict[str, OpenApiContract]) -> Kit:
    return make_kit(harness_session(), server.base_url, contract, own)


def wait_until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_a_scheduled_retry_survives_a_crash_and_arrives_unchanged_from_the_next_server(
    workdir: Path,
    servers: list[Server],
    vendor_contract: OpenApiContract,
    own_contracts: dict[str, OpenApiContract],
    rx: WebhookReceiver,
) -> None:
    database = workdir / "sandbox.db"
    rx.always(500)
    first = start(servers, database)
    kit = kit_for(first, vendor_contract, own_contracts)
    target_for(kit, rx.url)
    public_key = kit.http.get(f"{kit.base_url}/_sandbox/webhooks/public-key").json()["public_key_hex"]
    row = mint_and_import(kit, "gb-passport")

    # The background dispatcher tries at once; the receiver fails it; a retry is scheduled 60 s later.
    [failed] = rx.wait_for(1)
    assert failed.answered == 500
    [item] = wait_until(lambda: [i for i in outbox(kit) if i["attempts"] == 1 and i["status"] == "pending"])
    assert item["event_type"] == "customer.created"

    first.kill()  # SIGKILL: no shutdown hooks, no flush beyond what was committed
    rx.always(200)
    second = start(servers, database)
    kit2 = kit_for(second, vendor_contract, own_contracts)

    # Same state, same key, same pending retry; nothing went out on restart (not due yet).
    assert kit2.http.get(f"{kit2.base_url}/_sandbox/webhooks/public-key").json()["public_key_hex"] == public_key
    [survivor] = outbox(kit2)
    assert {k: survivor[k] for k in ("id", "event_id", "status", "attempts", "next_attempt_at")} == {
        k: item[k] for k in ("id", "event_id", "status", "attempts", "next_attempt_at")
    }
    assert kit2.admin.get_customer(row["customer_id"]).status_code == 200
    time.sleep(1.0)  # a few background dispatcher ticks
    assert len(rx.received) == 1

    advanced = kit2.control.advance(61)
    assert advanced.status_code == 200, advanced.text

    _, retried = rx.wait_for(2, timeout=10)
    assert retried.answered == 200
    assert retried.body == failed.body
    assert retried.header("X-Dakota-Event-ID") == failed.header("X-Dakota-Event-ID") == item["event_id"]
    assert retried.verify_dakota(public_key)
    assert failed.verify_dakota(public_key)
    delivered = wait_until(lambda: [i for i in outbox(kit2) if i["status"] == "delivered"])
    assert delivered[0]["id"] == item["id"]
    assert delivered[0]["attempts"] == 2
    events = kit2.http.get(f"{kit2.base_url}/events", headers={"x-api-key": ADMIN_KEY}).json()["data"]
    assert [e["id"] for e in events] == [item["event_id"]]
    time.sleep(0.5)
    assert len(rx.received) == 2  # delivered once more, not twice
    assert not kit.contract_problems, kit.contract_problems
    assert not kit2.contract_problems, kit2.contract_problems


def test_background_dispatch_delivers_without_any_clock_move(served: Kit, rx: WebhookReceiver) -> None:
    target_for(served, rx.url)
    offset = served.control.clock()["offset_seconds"]
    row = mint_and_import(served, "gb-passport")

    [hook] = rx.wait_for(1, timeout=5)

    assert hook.json()["type"] == "customer.created"
    assert hook.json()["data"]["object"]["customer_id"] == row["customer_id"]
    public_key = served.http.get(f"{served.base_url}/_sandbox/webhooks/public-key").json()["public_key_hex"]
    assert hook.verify_dakota(public_key)
    assert abs(served.control.clock()["offset_seconds"] - offset) < 1
    delivered = wait_until(lambda: [i for i in outbox(served) if i["status"] == "delivered"], timeout=5)
    assert delivered[0]["attempts"] == 1


def test_the_webhook_signing_key_survives_a_reset_in_every_worker(served_sandbox: Any) -> None:
    """Receivers are configured with the published key; a reset (served by any worker) must not change it."""
    import requests as rq

    base = served_sandbox.base_url
    before = {rq.get(f"{base}/_sandbox/webhooks/public-key", timeout=10).json()["public_key_hex"] for _ in range(6)}
    assert rq.post(f"{base}/_sandbox/reset", json={}, timeout=10).status_code == 200
    after = {rq.get(f"{base}/_sandbox/webhooks/public-key", timeout=10).json()["public_key_hex"] for _ in range(6)}
    assert len(before) == 1 and after == before
