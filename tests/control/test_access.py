"""Who may reach the sandbox: no web page can drive or read the control plane; a token guards it beyond loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from simulator.app import create_app
from simulator.harness.clients import ControlApi
from simulator.harness.pytest_plugin import SandboxProcess
from simulator.harness.transport import call_wsgi
from simulator.settings import Settings
from tests.support import ADMIN_KEY, ROOT
from tests.support.fuzz import changed_tables, fingerprint

EVIL = {"Origin": "http://evil.example", "Content-Type": "text/plain"}


def send(app: Flask, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
    status, _headers, _body = call_wsgi(app, method, target, body, {"Host": "127.0.0.1:8080", **(headers or {})})
    return int(status.split()[0])


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/_sandbox/reset", b""),
        ("/_sandbox/clock/advance", b'{"seconds": 3600}'),
        ("/_sandbox/faults", b'{"rules": [{"id": "x", "api": "dakota", "status": 503}]}'),
        ("/_sandbox/donors", b'{"profile": "gb-passport"}'),
    ],
)
def test_a_cross_site_form_post_cannot_drive_the_control_plane(app: Flask, target: str, body: bytes) -> None:
    """The audit: `Origin: http://evil.example` with `Content-Type: text/plain` reset the store (200)."""
    store = app.extensions["kyc_sandbox"].rt.store
    before = fingerprint(store)
    assert send(app, "POST", target, body, EVIL) == 403
    assert send(app, "POST", target, body, {"Content-Type": "text/plain"}) == 403  # a no-cors fetch, no Origin
    assert send(app, "POST", target, body, {"Origin": "http://evil.example", "Content-Type": "application/json"}) == 403
    assert changed_tables(before, fingerprint(store)) == []
    assert send(app, "GET", "/customers", headers={"x-api-key": ADMIN_KEY}) == 200  # no fault rule was set


def test_the_sandboxs_own_clients_still_drive_it(app: Flask) -> None:
    assert send(app, "POST", "/_sandbox/clock/advance", b'{"seconds": 1}', {"Content-Type": "application/json"}) == 200
    assert send(app, "DELETE", "/_sandbox/faults", headers={"X-Sandbox-Token": "anything"}) == 200
    same_origin = {"Origin": "http://127.0.0.1:8080", "Content-Type": "application/json"}
    assert send(app, "POST", "/_sandbox/reset", b"", same_origin) == 200


@pytest.mark.parametrize("target", ["/_sandbox/credentials", "/customers", "/resources/status/api", "/dashboard/"])
def test_a_foreign_host_name_is_refused_everywhere(app: Flask, target: str) -> None:
    """DNS rebinding: `GET /_sandbox/credentials` with `Host: attacker.example` returned every secret."""
    status, _h, body = call_wsgi(app, "GET", target, b"", {"Host": "attacker.example", "x-api-key": ADMIN_KEY})
    assert status.startswith("400"), body[:200]
    assert b"SANDBOX_ALLOWED_HOSTS" in body
    assert b"secret" not in body.lower()


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:8080", "127.0.0.5", "api.localhost"])
def test_loopback_names_are_always_accepted(app: Flask, host: str) -> None:
    status, _h, _b = call_wsgi(app, "GET", "/_sandbox/credentials", b"", {"Host": host})
    assert status.startswith("200")


def build(**settings: str) -> Flask:
    return create_app(Settings(database_url="sqlite://", background_dispatch=0, **settings))  # type: ignore[arg-type]


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for a in made:
        a.extensions["kyc_sandbox"].close()


def test_configured_and_base_url_host_names_are_accepted(apps: list[Flask]) -> None:
    apps.append(build(allowed_hosts="sandbox.internal, ci-runner", base_url="http://kyc.example:9000"))
    for host in ("sandbox.internal", "ci-runner:8080", "kyc.example:9000"):
        assert call_wsgi(apps[0], "GET", "/_sandbox/health", b"", {"Host": host})[0].startswith("200"), host
    assert call_wsgi(apps[0], "GET", "/_sandbox/health", b"", {"Host": "other.example"})[0].startswith("400")
    apps.append(build(allowed_hosts="*"))
    assert call_wsgi(apps[1], "GET", "/_sandbox/health", b"", {"Host": "anything.example"})[0].startswith("200")


def test_with_a_control_token_every_control_request_but_health_needs_it(apps: list[Flask]) -> None:
    apps.append(build(control_token="s3cret-token"))
    app = apps[0]
    assert send(app, "GET", "/_sandbox/health") == 200
    assert send(app, "GET", "/_sandbox/credentials") == 401
    assert send(app, "GET", "/_sandbox/credentials", headers={"X-Sandbox-Token": "wrong"}) == 401
    assert send(app, "GET", "/_sandbox/credentials", headers={"X-Sandbox-Token": "s3cret-token"}) == 200
    json_only = {"Content-Type": "application/json"}
    assert send(app, "POST", "/_sandbox/reset", b"{}", json_only) == 401
    assert send(app, "GET", "/customers", headers={"x-api-key": ADMIN_KEY}) == 200  # the fakes' own auth applies


def test_serve_beyond_loopback_generates_a_token_says_so_and_the_harness_uses_it() -> None:
    """`serve --host 0.0.0.0` started without a word and printed every secret."""
    server = SandboxProcess(host="0.0.0.0")
    try:
        banner = server.output()
        assert "warning:" in banner and "anything that can reach this port" in banner
        found = re.search(r"X-Sandbox-Token: (\S+)", banner)
        assert found is not None, banner
        token = found.group(1)
        assert "secret_key" not in banner
        assert requests.get(f"{server.base_url}/_sandbox/credentials", timeout=10).status_code == 401
        control = ControlApi(server.base_url, token=token)
        assert control.credentials()["dakota"]["api_keys"]
        assert control.reset().status_code == 200
        # The CLI's scenario runner, given the token the way CI gives it (SANDBOX_CONTROL_TOKEN).
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "simulator.cli",
                "scenario",
                "run",
                str(ROOT / "scenarios" / "transient-outage-retry.yaml"),
                "--base-url",
                server.base_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={"SANDBOX_CONTROL_TOKEN": token, "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        server.stop()


def test_serve_with_a_token_given_requires_that_token() -> None:
    server = SandboxProcess(host="0.0.0.0", env={"SANDBOX_CONTROL_TOKEN": "given-token"})
    try:
        assert "X-Sandbox-Token: <SANDBOX_CONTROL_TOKEN>" in server.output()
        assert ControlApi(server.base_url, token="given-token").reset().status_code == 200
        assert ControlApi(server.base_url, token="guess").reset().status_code == 401
    finally:
        server.stop()
