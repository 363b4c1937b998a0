"""`kyc-sandbox webhooks listen` against a served sandbox."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.support import Kit, ServedSandbox, dakota_headers, free_port, mint_and_import

pytestmark = pytest.mark.served


def test_listen_prints_each_webhook_with_a_verified_signature_and_shows_retries(
    served_sandbox: ServedSandbox, served: Kit
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "webhooks", "listen", "--port", str(port), "--fail-first", "1",
         "--count", "2", "--base-url", served.base_url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.post(f"http://127.0.0.1:{port}/probe-not-counted", timeout=0.2)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            break
        # The probe above was received as a (non-JSON) webhook and answered 500 (the first of --fail-first 1).
        target = requests.post(
            f"{served.base_url}/webhooks/targets",
            json={"url": f"http://127.0.0.1:{port}/hooks", "global": True},
            headers=dakota_headers(),
            timeout=10,
        )
        assert target.status_code == 201
        mint_and_import(served)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "dakota customer.created" in out
    assert "answered 200; signature ok" in out
    assert '"type": "customer.created"' in out
