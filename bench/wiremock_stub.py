"""The WireMock column: a static stub of `GET /customers/{id}`, the floor a hand-written mock sets.

The standalone jar comes from the npm registry (`npm install wiremock@WIREMOCK_VERSION`, which ships it) into a
cache directory; nothing is downloaded from anywhere else. Served with the machine's `java` on a free 127.0.0.1
port, with one stub answering the sandbox's own body and headers for the sampled customer (same size, same
Content-Type, the x-api-key required), and one for /_sandbox/health so start-up and connection spreading work as
they do for the sandbox. No request journal, no request logging, no gzip, no chunked encoding (a Content-Length, as
the sandbox sends). Without java (or npm, when the jar is not cached yet), the column says n/a.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from builds import HOST, Server, Servers, cache_root, free_port, spawn

WIREMOCK_VERSION = "3.13.2"
_SERVER_HEADERS = {"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"}


def wiremock_jar(install: bool, say: Callable[[str], None]) -> tuple[Path | None, str]:
    """The cached jar (installed now if allowed), or None and why not."""
    if shutil.which("java") is None:
        return None, "no java on this machine"
    home = cache_root() / f"bench-wiremock-{WIREMOCK_VERSION}"
    jar = next(iter(sorted(home.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))), None)
    if jar is not None:
        return jar, ""
    npm = shutil.which("npm")
    if not install or npm is None:
        return None, "wiremock not cached and " + ("npm not found" if npm is None else "--no-install given")
    say(f"installing wiremock@{WIREMOCK_VERSION} from the npm registry into {home} (once)")
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(home),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"wiremock@{WIREMOCK_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    jar = next(iter(sorted(home.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))), None)
    if jar is None:
        return None, f"npm install wiremock failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return jar, ""


def java_version() -> str:
    done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    first = (done.stderr or done.stdout).strip().splitlines()
    return first[0].replace('"', "") if first else "java"


def serve_stub(
    servers: Servers, jar: Path, path: str, api_key: str, body: bytes, headers: list[tuple[str, str]]
) -> Server:
    root = servers.dir / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    kept = {k: v for k, v in headers if k.lower() not in _SERVER_HEADERS}
    customer = {
        "request": {"method": "GET", "url": path, "headers": {"x-api-key": {"equalTo": api_key}}},
        "response": {"status": 200, "body": body.decode("utf-8"), "headers": kept},
    }
    health = {
        "request": {"method": "GET", "url": "/_sandbox/health"},
        "response": {"status": 200, "jsonBody": {"status": "ok", "pid": 0}},
    }
    (root / "mappings" / "customer.json").write_text(json.dumps(customer))
    (root / "mappings" / "health.json").write_text(json.dumps(health))
    port = free_port()
    cmd = [
        "java",
        "-jar",
        str(jar),
        "--port",
        str(port),
        "--bind-address",
        HOST,
        "--root-dir",
        str(root),
        "--disable-banner",
        "--no-request-journal",
        "--disable-request-logging",
        "--disable-gzip",
        "--use-chunked-encoding",
        "never",
    ]
    return servers.add(spawn("wiremock", cmd, servers.dir, port))
