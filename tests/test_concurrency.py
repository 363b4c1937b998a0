"""Concurrency and crash safety against real `kyc-sandbox serve` processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from simulator.harness.clients import harness_session
from simulator.sumsub.profiles import fake_image
from tests.support import ADMIN_KEY, Kit, ServedSandbox, make_kit, mint_and_import, postgres_database, require_postgres

pytestmark = pytest.mark.served

STORES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=STORES)
def four_workers(request: pytest.FixtureRequest) -> Iterator[ServedSandbox]:
    """`kyc-sandbox serve --workers 4` on each store."""
    url = None
    if request.param == "postgresql":
        require_postgres()
        url = postgres_database("kyc_sandbox_concurrency")
    server = ServedSandbox(workers=4, database_url=url)
    yield server
    server.stop()


@pytest.fixture
def sandbox(four_workers: ServedSandbox) -> Kit:
    kit = make_kit(harness_session(), four_workers.base_url, None)
    assert kit.control.reset().status_code == 200
    return kit


def _post_import(base_url: str, tokens: list[str], key: str | None = None) -> requests.Response:
    return requests.post(
        f"{base_url}/customers/bulk-import-sumsub-tokens",
        json={"tokens": tokens},
        headers={"x-api-key": ADMIN_KEY, "x-idempotency-key": key or str(uuid.uuid4())},
        timeout=120,
    )


def test_64_concurrent_redemptions_of_one_token_across_4_workers_give_exactly_one_success(sandbox: Kit) -> None:
    token = sandbox.token("gb-passport")
    barrier = threading.Barrier(64)

    def redeem(_: int) -> dict[str, Any]:
        barrier.wait()
        resp = _post_import(sandbox.base_url, [token])
        assert resp.status_code == 200, resp.text
        row: dict[str, Any] = resp.json()["results"][0]
        return row

    with ThreadPoolExecutor(64) as pool:
        rows = list(pool.map(redeem, range(64)))
    assert sum(1 for r in rows if r["success"]) == 1
    assert all("Tokens are single-use" in r["error"] for r in rows if not r["success"])
    assert sandbox.admin.list_customers().json()["meta"]["total_count"] == 1
    assert sandbox.control.token_status(token).json()["state"] == "redeemed"


def test_concurrent_requests_with_one_idempotency_key_run_once(sandbox: Kit) -> None:
    tokens = [sandbox.token("gb-passport") for _ in range(3)]
    key = str(uuid.uuid4())
    barrier = threading.Barrier(32)

    def send(_: int) -> requests.Response:
        barrier.wait()
        return _post_import(sandbox.base_url, tokens, key)

    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(send, range(32)))
    assert {r.status_code for r in responses} <= {200, 409}
    done = [r.json() for r in responses if r.status_code == 200]
    assert done and all(d == done[0] for d in done)
    assert done[0]["succeeded"] == 3
    assert sandbox.admin.list_customers().json()["meta"]["total_count"] == 3


def test_concurrent_document_uploads_to_one_application_lose_nothing(sandbox: Kit) -> None:
    row = mint_and_import(sandbox, "gb-passport")
    app_token = sandbox.admin.application_token(row["customer_id"])
    application = sandbox.admin.get_application(row["application_id"], app_token, include="entities").json()
    individual_id = application["entities"]["primary_individual"]["id"]
    url = f"{sandbox.base_url}/applications/{row['application_id']}/associated-individuals/{individual_id}/documents"

    def upload(i: int) -> int:
        body = {
            "type": "source_of_wealth",
            "file_type": "png",
            "file_content": base64.b64encode(fake_image(f"sow-{i}")).decode(),
            "country": "GB",
        }
        headers = {"X-Application-Token": app_token, "x-idempotency-key": str(uuid.uuid4())}
        return requests.post(url, json=body, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(upload, range(24)))
    assert statuses == [201] * 24
    after = sandbox.admin.get_application(row["application_id"], app_token, include="validation").json()
    uploaded = after["validation"]["primary_individual"]["documents"]["uploaded_documents"]
    assert sum(1 for d in uploaded if d["document_type"] == "source_of_wealth") == 24


def test_concurrent_clock_advances_all_count(sandbox: Kit) -> None:
    sandbox.control.set_clock(frozen=True)
    start = sandbox.control.clock()["epoch"]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: sandbox.control.advance(10).status_code, range(16)))
    assert sandbox.control.clock()["epoch"] == pytest.approx(start + 160)


def _worker_pids(master: int) -> list[int]:
    path = f"/proc/{master}/task/{master}/children"
    with open(path) as fh:
        return [int(p) for p in fh.read().split()]


def _wait_healthy(kit: Kit) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if kit.control.health().status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("the sandbox did not come back after the worker was killed")


def _import_and_kill(server: ServedSandbox, kit: Kit, tokens: list[str], before: int) -> None:
    """Start a 100-token import and SIGKILL the worker once a few rows have committed."""
    (worker,) = _worker_pids(server.proc.pid)
    thread = threading.Thread(target=lambda: _swallow(lambda: _post_import(server.base_url, tokens)))
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and thread.is_alive():
        if kit.admin.list_customers(limit=1).json()["meta"]["total_count"] >= before + 3:
            os.kill(worker, signal.SIGKILL)
            break
        time.sleep(0.001)
    thread.join(60)
    _wait_healthy(kit)


def _swallow(call: Any) -> None:
    with contextlib.suppress(requests.RequestException):  # the connection dies with the worker
        call()


@pytest.mark.parametrize("store", STORES)
def test_sigkill_during_a_100_token_import_leaves_every_row_whole_or_untouched(store: str) -> None:
    url = None
    if store == "postgresql":
        require_postgres()
        url = postgres_database("kyc_sandbox_crash")
    server = ServedSandbox(workers=1, database_url=url)
    try:
        kit = make_kit(harness_session(), server.base_url, None)
        kit.control.reset()
        # Each row costs a Sumsub round trip at Dakota; slowing it makes the kill land mid-import reliably.
        slow_rows = {"rules": [{"api": "internal", "path": "dakota.import_row", "latency": {"ms": 25}}]}
        assert kit.http.post(f"{server.base_url}/_sandbox/faults", json=slow_rows).status_code == 200
        all_tokens: list[str] = []
        partial = False
        for _attempt in range(4):  # a kill can land after the last row; then try again with fresh tokens
            donor = kit.control.create_donor("gb-passport").json()["applicant_id"]
            tokens = [kit.control.mint(donor).json()["token"] for _ in range(100)]
            all_tokens += tokens
            before = kit.admin.list_customers(limit=1).json()["meta"]["total_count"]
            _import_and_kill(server, kit, tokens, before)
            spent = sum(1 for t in tokens if kit.control.token_status(t).json()["state"] == "redeemed")
            if 0 < spent < 100:
                partial = True
                break
        assert partial, "no kill landed in the middle of an import"
        states = {t: kit.control.token_status(t).json() for t in all_tokens}
        redeemed = {t: s for t, s in states.items() if s["state"] == "redeemed"}
        untouched = [t for t, s in states.items() if s["state"] == "active"]
        assert len(redeemed) + len(untouched) == len(all_tokens)
        customers = kit.admin.list_customers(limit=100).json()
        assert customers["meta"]["total_count"] == len(redeemed)
        assert kit.admin.list_applications(limit=1).json()["meta"]["total_count"] == len(redeemed)
        provider_ids = set()
        cursor: str | None = None
        while True:
            page = kit.admin.list_customers(limit=100, **({"starting_after": cursor} if cursor else {})).json()
            for c in page["data"]:
                app_token = c["application_url"].split("token=", 1)[1]
                body = kit.admin.get_application(c["application_id"], app_token, include="entities").json()
                verification = body["entities"]["primary_individual"]["sumsub_verification"]
                provider_ids.add(verification["provider_applicant_id"])
            if not page["meta"]["has_more_after"]:
                break
            cursor = page["data"][-1]["id"]
        assert provider_ids == {s["redeemed_applicant_id"] for s in redeemed.values()}
        for applicant_id in provider_ids:
            assert kit.dakota_sumsub.get_applicant(applicant_id).status_code == 200
        # The untouched tokens still import; the spent ones say so.
        kit.http.delete(f"{server.base_url}/_sandbox/faults")
        retry_tokens = all_tokens[-100:]
        retry = kit.bulk(retry_tokens)
        assert retry["succeeded"] == sum(1 for t in retry_tokens if t in untouched)
        assert retry["failed"] == sum(1 for t in retry_tokens if t in redeemed)
    finally:
        server.stop()
