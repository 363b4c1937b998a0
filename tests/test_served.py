"""Against a real `kyc-sandbox serve` (2 granian workers, one SQLite file) over HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from simulator.harness.clients import ControlApi, harness_session
from simulator.sumsub.profiles import fake_image
from tests.support import ADMIN_KEY, CLIENTS, DONOR_ID, Kit, ServedSandbox, dakota_headers

pytestmark = pytest.mark.served


def test_whole_flow_over_http_with_signed_sumsub_requests(served: Kit) -> None:
    donor = served.donor
    created = donor.create_applicant(
        "basic-kyc-level",
        {
            "externalUserId": "flow-user-1",
            "email": "jane.doe@mail.example",
            "fixedInfo": {
                "firstName": "Jane",
                "lastName": "Doe",
                "dob": "1990-02-03",
                "nationality": "GBR",
                "addresses": [{"street": "High Street", "buildingNumber": "12", "town": "Oxford", "country": "GBR"}],
            },
        },
    )
    assert created.status_code == 200, created.text
    applicant_id = created.json()["id"]
    up = donor.add_id_doc(
        applicant_id,
        {"idDocType": "PASSPORT", "country": "GBR", "firstName": "JANE", "lastName": "DOE", "number": "123456789"},
        fake_image("flow"),
    )
    assert up.status_code == 200, up.text
    assert up.headers["X-Image-Id"].isdigit()
    assert donor.test_completed(applicant_id).json() == {"ok": 1}
    assert donor.review_status(applicant_id).json()["reviewResult"] == {"reviewAnswer": "GREEN"}

    minted = donor.generate_share_token(applicant_id, "dakota.xyz_158913")
    assert minted.status_code == 200
    token = minted.json()["token"]
    result = served.bulk([token])
    assert result["succeeded"] == 1, result
    row = result["results"][0]
    assert row["name"] == "Jane Doe (from Sumsub)"
    app = served.application(row["customer_id"], row["application_id"])
    assert app["application_status"] == "pending"
    individual = app["entities"]["primary_individual"]
    assert individual["address"] == {"street1": "High Street 12", "city": "Oxford", "country": "GB"}
    assert [d["document_type"] for d in app["validation"]["primary_individual"]["documents"]["uploaded_documents"]] == [
        "passport"
    ]

    second = donor.generate_share_token(applicant_id, "dakota.xyz_158913").json()["token"]
    assert served.control.advance(21 * 60).status_code == 200
    late = served.bulk([second])
    assert late["results"][0] == {
        "name": "Unknown",
        "success": False,
        "error": "Failed to redeem share token: Share token expired",
    }


def test_concurrent_redemptions_of_one_token_across_workers_give_exactly_one_success(served: Kit) -> None:
    token = served.token("gb-passport")
    barrier = threading.Barrier(24)

    def redeem(_: int) -> dict[str, Any]:
        http = harness_session()
        barrier.wait()
        resp = http.post(
            f"{served.base_url}/customers/bulk-import-sumsub-tokens",
            json={"tokens": [token]},
            headers=dakota_headers(),
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        row: dict[str, Any] = resp.json()["results"][0]
        return row

    with ThreadPoolExecutor(24) as pool:
        rows = list(pool.map(redeem, range(24)))
    winners = [r for r in rows if r["success"]]
    assert len(winners) == 1
    assert all("Tokens are single-use" in r["error"] for r in rows if not r["success"])
    customers = served.admin.list_customers(limit=100).json()
    assert customers["meta"]["total_count"] == 1


def test_concurrent_requests_with_one_idempotency_key_redeem_once(served: Kit) -> None:
    tokens = [served.token("gb-passport"), served.token("us-ssn")]
    key = str(uuid.uuid4())
    barrier = threading.Barrier(12)

    def send(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(
            f"{served.base_url}/customers/bulk-import-sumsub-tokens",
            json={"tokens": tokens},
            headers={"x-api-key": ADMIN_KEY, "x-idempotency-key": key},
            timeout=60,
        )

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(send, range(12)))
    assert {r.status_code for r in responses} <= {200, 409}
    bodies = [r.json() for r in responses if r.status_code == 200]
    assert bodies, "at least the first request completes"
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["succeeded"] == 2
    assert served.admin.list_customers().json()["meta"]["total_count"] == 2
    replay = served.admin.bulk_import_sumsub_tokens(tokens, idempotency_key=key)
    assert replay.json() == bodies[0]
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_cli_sumsub_command_signs_requests_against_a_served_sandbox(served_sandbox: ServedSandbox, served: Kit) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "sumsub",
            "GET",
            "/resources/status/api",
            "--base-url",
            served.base_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert '"ok": 1' in out.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "sumsub",
            "GET",
            "/resources/applicants/000000000000000000000000/one",
            "--client",
            DONOR_ID,
            "--base-url",
            served.base_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "Applicant not found" in bad.stdout
    assert CLIENTS[DONOR_ID]["secret_key"] not in bad.stdout


def _one_session_per_worker(base_url: str, workers: int = 2, attempts: int = 200) -> dict[int, requests.Session]:
    """Keep-alive sessions, one pinned to each worker process (a connection stays with the worker that took it)."""
    sessions: dict[int, requests.Session] = {}
    for _ in range(attempts):
        http = harness_session()
        pid = http.get(f"{base_url}/_sandbox/health", timeout=10).json()["pid"]
        if pid in sessions:
            http.close()
        else:
            sessions[pid] = http
        if len(sessions) == workers:
            return sessions
    pytest.fail(f"{attempts} connections reached only workers {sorted(sessions)}")


def test_fault_rules_and_clock_changes_apply_in_every_worker_at_once(served: Kit) -> None:
    """Workers cache hot state (rules, clock) until the store's change signal moves: no request may see it stale."""
    base = served.base_url
    sessions = _one_session_per_worker(base)
    customer = f"{base}/customers/2hSbxNoSuchCustomer00000001"
    headers = {"x-api-key": ADMIN_KEY}
    for http in sessions.values():  # every worker has read (and cached) the rules and the clock
        assert http.get(customer, headers=headers, timeout=10).status_code == 404
    for round_ in range(3):
        for setter_pid, setter in sessions.items():
            rule = {"id": f"r{round_}-{setter_pid}", "api": "dakota", "method": "GET", "status": 503}
            assert setter.post(f"{base}/_sandbox/faults", json={"rules": [rule]}, timeout=10).status_code == 200
            for http in sessions.values():
                resp = http.get(customer, headers=headers, timeout=10)
                assert resp.status_code == 503 and resp.headers["X-Sandbox-Fault"] == rule["id"], resp.text
            assert setter.post(f"{base}/_sandbox/faults", json={"rules": []}, timeout=10).status_code == 200
            for http in sessions.values():
                assert http.get(customer, headers=headers, timeout=10).status_code == 404

            before = {
                pid: http.get(f"{base}/_sandbox/health", timeout=10).json()["clock"]["epoch"]
                for pid, http in sessions.items()
            }
            assert setter.post(f"{base}/_sandbox/clock/advance", json={"seconds": 3600}, timeout=10).status_code == 200
            for pid, http in sessions.items():
                after = http.get(f"{base}/_sandbox/health", timeout=10).json()["clock"]["epoch"]
                assert after - before[pid] >= 3600, f"worker {pid} still on the old clock"


def test_webhook_targets_changed_in_one_worker_route_events_in_every_worker(served: Kit) -> None:
    """Workers keep each organisation's webhook routing until a target changes anywhere."""
    base = served.base_url
    sessions = list(_one_session_per_worker(base).values())

    def post(http: requests.Session, path: str, body: Any) -> requests.Response:
        headers = dakota_headers()
        return http.post(f"{base}{path}", json=body, headers=headers, timeout=10)

    def import_through(http: requests.Session) -> None:
        row = post(http, "/customers/bulk-import-sumsub-tokens", {"tokens": [served.token()]}).json()["results"][0]
        assert row["success"], row

    def queued() -> int:
        """Dakota deliveries queued so far, whatever became of them."""
        items = served.http.get(f"{base}/_sandbox/webhooks/outbox", params={"kind": "dakota"}, timeout=10).json()
        return len(items["items"])

    for http in sessions:  # every worker has routed (and kept) "no targets"
        import_through(http)
    assert queued() == 0
    setter, other = sessions
    target = post(setter, "/webhooks/targets", {"url": "http://127.0.0.1:9/hook", "global": True})
    assert target.status_code == 201, target.text
    import_through(other)
    assert queued() == 1  # the other worker routed its customer.created to the new target at once
    deleted = other.delete(
        f"{base}/webhooks/targets/{target.json()['id']}", headers={"x-api-key": ADMIN_KEY}, timeout=10
    )
    assert deleted.status_code in (200, 204), deleted.text
    import_through(setter)
    assert queued() == 1  # and the first worker stopped routing to it at once


def test_a_chunked_body_over_the_limit_is_413_over_real_http(served_sandbox: ServedSandbox, served: Kit) -> None:
    """The audit: chunked framing bypassed the size limit on the real server (the body was cut and accepted)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(served_sandbox.base_url)
    start = json.dumps({"name": "Chunky Customer", "customer_type": "individual"}).encode()
    spaces = b" " * (1 << 20)

    def chunks() -> Any:
        yield start
        for _ in range(20):  # 20 MiB of spaces after valid JSON; the limit is 16 MiB
            yield spaces

    headers = {"x-api-key": ADMIN_KEY, "x-idempotency-key": str(uuid.uuid4()), "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    status: int | None = None
    try:
        conn.request("POST", "/customers", body=chunks(), headers=headers, encode_chunked=True)
        status = conn.getresponse().status
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server answered and closed before reading the rest: what it answered is in the journal
    finally:
        conn.close()
    assert status in (413, None)
    control = ControlApi(served_sandbox.base_url)
    deadline = time.monotonic() + 5
    while True:  # each worker writes its journal every half second
        entries = control.journal(limit=50).json()["entries"]
        if any(e["path"] == "/customers" and e["method"] == "POST" for e in entries) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["status"] for e in entries if e["path"] == "/customers" and e["method"] == "POST"] == [413]
    listed = requests.get(f"{served_sandbox.base_url}/customers", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    assert all(c["name"] != "Chunky Customer" for c in listed.json()["data"])
