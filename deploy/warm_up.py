"""Run once while the image is built: serve the sandbox briefly and walk one flow, so that Python writes the bytecode
of every module serving imports and the bundled contracts' JSON cache ($KYC_SANDBOX_CACHE_DIR).

The image keeps only that bytecode: its other modules (the fixtures generator's Faker, Pact, rich, ...) are compiled
in memory when a CLI command other than `serve` uses them, which keeps the image small without slowing a cold start.
Only the public CLI and HTTP API are used; a failure fails the build.

    python deploy/warm_up.py            (with the runtime environment's kyc-sandbox on PATH)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

TOKEN = uuid.uuid4().hex  # a control-plane token for this run only (sent as X-Sandbox-Token)
ADMIN_KEY = "dk_sandbox_admin_4KLkSmzQbL6Xs8xnUjssdGHX7PfhHpAb"  # the sandbox's well-known Dakota admin key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, method: str, path: str, body: object | None = None, headers: dict[str, str] | None = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("X-Sandbox-Token", TOKEN)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return bytes(resp.read())


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SANDBOX_HOST": "127.0.0.1",
            "SANDBOX_PORT": str(port),
            "SANDBOX_BASE_URL": base,
            "SANDBOX_DATABASE_URL": f"sqlite:///{tmp}/warm.db",
            "SANDBOX_CONTROL_TOKEN": TOKEN,
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        server = subprocess.Popen(["kyc-sandbox", "serve", "--quiet"], env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    call(base, "GET", "/_sandbox/health")
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        print("warm-up: the sandbox did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
            donor = json.loads(
                call(base, "POST", "/_sandbox/donors", {"profile": "gb-passport", "share_with": "dakota.xyz_158913"})
            )
            result = json.loads(
                call(
                    base,
                    "POST",
                    "/customers/bulk-import-sumsub-tokens",
                    {"tokens": [donor["share_token"]["token"]]},
                    {"x-api-key": ADMIN_KEY, "x-idempotency-key": str(uuid.uuid4())},
                )
            )
            if result.get("succeeded") != 1:
                print(f"warm-up: the import did not succeed: {result}", file=sys.stderr)
                return 1
            for path in ("/openapi/dakota.json", "/openapi/sumsub.json", "/openapi/control.json", "/_sandbox/clock"):
                call(base, "GET", path)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    print("warm-up: served one flow; bytecode and contract cache written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
