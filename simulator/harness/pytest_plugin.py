"""pytest plugin `kyc_sandbox` (entry point `pytest11`): a real sandbox for your integration tests.

    def test_my_onboarding_imports_a_shared_customer(kyc_sandbox):
        token = kyc_sandbox.token("gb-passport")                  # a verified donor shared with Dakota
        my_app = MyApp(dakota_url=kyc_sandbox.base_url, api_key=kyc_sandbox.admin_key)
        my_app.import_customers([token])                          # your code, over real HTTP
        assert kyc_sandbox.customers()["meta"]["total_count"] == 1

Fixtures (none starts anything until a test asks for it):

- `kyc_sandbox_server` (session): `kyc-sandbox serve` in a subprocess on a free port with a temp SQLite file, or the
  sandbox at `--kyc-sandbox-url URL` / `KYC_SANDBOX_URL` (nothing started; it gets reset before each test).
- `kyc_sandbox` (function): the server reset to its seeded state, with reference clients and helpers
  (`KycSandbox`).
- `kyc_sandbox_webhooks` (function): a local webhook receiver registered as a global Dakota webhook target.

Why a subprocess and not a server thread in the test process: the sandbox keeps its own clock and wall time for
request signatures, so tests that freeze time (freezegun, time-machine) or patch `requests` / `socket` (responses,
requests-mock) would otherwise reach into the sandbox too. It is also exactly what `kyc-sandbox serve` runs. It
costs about a second once per session.

When a test using `kyc_sandbox` fails, its report gets a "kyc-sandbox journal" section: the sandbox's last
requests with status and error text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import requests

from simulator.harness.clients import ControlApi, DakotaApi, SumsubApi, harness_session
from simulator.harness.served import SandboxProcess

URL_OPTION = "kyc_sandbox_url"
ENV_URL = "KYC_SANDBOX_URL"
DAKOTA_CLIENT_ID = "dakota.xyz_158913"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kyc-sandbox", "kyc-sandbox: Sumsub Reusable KYC → Dakota sandbox")
    group.addoption(
        "--kyc-sandbox-url",
        dest=URL_OPTION,
        default=None,
        metavar="URL",
        help=f"Run kyc_sandbox tests against this running sandbox (reset before each test); env {ENV_URL}.",
    )


class KycSandboxServer:
    """The session's sandbox: a process this plugin started, or a live one given by URL."""

    def __init__(self, base_url: str, process: SandboxProcess | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.process = process
        self.http = harness_session()
        self.credentials: dict[str, Any] = ControlApi(self.base_url, session=self.http).credentials()

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def reset(self) -> None:
        resp = ControlApi(self.base_url, session=self.http).reset()
        if resp.status_code != 200:
            raise RuntimeError(f"POST {self.base_url}/_sandbox/reset answered {resp.status_code}: {resp.text[:300]}")

    def close(self) -> None:
        self.http.close()
        if self.process is not None:
            self.process.stop()


class KycSandbox:
    """One test's view of the sandbox: reference clients and shortcuts for the usual setup."""

    def __init__(self, server: KycSandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self.http = harness_session()
        self.credentials = server.credentials
        self.control = ControlApi(self.base_url, session=self.http)
        keys = self.credentials["dakota"]["api_keys"]
        self.admin_key = next(str(k["key"]) for k in keys if k["role"] == "admin")
        self.viewer_key = next(str(k["key"]) for k in keys if k["role"] == "viewer")
        self.dakota = DakotaApi(self.base_url, self.admin_key, session=self.http)
        self.dakota_viewer = DakotaApi(self.base_url, self.viewer_key, session=self.http)
        self.dakota_client_id = str(self.credentials["sumsub"].get("dakota_client_id") or DAKOTA_CLIENT_ID)

    # ------------------------------------------------------------------ clients
    def sumsub(self, client_id: str | None = None) -> SumsubApi:
        """A signing Sumsub client: a donor by default, or any client by id (e.g. Dakota's)."""
        clients = self.credentials["sumsub"]["clients"]
        found = next(
            (c for c in clients if (c["client_id"] == client_id if client_id else c["role"] == "donor")),
            None,
        )
        if found is None:
            raise LookupError(f"no Sumsub client {client_id!r}; known: {', '.join(c['client_id'] for c in clients)}")
        return SumsubApi(self.base_url, found["app_token"], found["secret_key"], session=self.http)

    # ------------------------------------------------------------------ donors and tokens
    def donor(self, profile: str = "gb-passport", **kw: Any) -> dict[str, Any]:
        """A verified donor applicant from a fixture profile (`client_id`, `external_user_id`, `share_with`, ...)."""
        resp = self.control.create_donor(profile, **kw)
        _raise_for(resp, "create the donor")
        body: dict[str, Any] = resp.json()
        return body

    def token(
        self, profile: str = "gb-passport", *, for_client_id: str | None = None, ttl: int | None = None, **kw: Any
    ) -> str:
        """A share token of a fresh donor from `profile`, for Dakota unless `for_client_id` says otherwise."""
        if ttl is not None:
            kw["ttl_in_secs"] = ttl
        donor = self.donor(profile, share_with=for_client_id or self.dakota_client_id, **kw)
        return str(donor["share_token"]["token"])

    def mint(self, applicant_id: str, *, for_client_id: str | None = None, ttl: int | None = None, **kw: Any) -> str:
        """Another share token for an existing donor applicant."""
        if ttl is not None:
            kw["ttl_in_secs"] = ttl
        resp = self.control.mint(applicant_id, for_client_id=for_client_id or self.dakota_client_id, **kw)
        _raise_for(resp, "mint a share token")
        return str(resp.json()["token"])

    def token_state(self, token: str) -> str:
        """`active`, `expired` or `redeemed`."""
        resp = self.control.token_status(token)
        _raise_for(resp, "read the token's state")
        return str(resp.json()["state"])

    # ------------------------------------------------------------------ Dakota
    def import_tokens(self, tokens: list[str], idempotency_key: str | None = None) -> dict[str, Any]:
        """`POST /customers/bulk-import-sumsub-tokens` with the admin key; the 200 body."""
        resp = self.dakota.bulk_import_sumsub_tokens(tokens, idempotency_key=idempotency_key or str(uuid.uuid4()))
        _raise_for(resp, "import the tokens")
        body: dict[str, Any] = resp.json()
        return body

    def customers(self, **params: Any) -> dict[str, Any]:
        resp = self.dakota.list_customers(**params)
        _raise_for(resp, "list customers")
        body: dict[str, Any] = resp.json()
        return body

    def application(self, customer_id: str, application_id: str, include: str = "all") -> dict[str, Any]:
        """An imported application, read with its `X-Application-Token` (from the customer's application_url)."""
        resp = self.dakota.get_application(application_id, self.dakota.application_token(customer_id), include)
        _raise_for(resp, "read the application")
        body: dict[str, Any] = resp.json()
        return body

    # ------------------------------------------------------------------ the clock
    def now(self) -> float:
        return float(self.control.clock()["epoch"])

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox clock forward (settles what became due: expiries, auto decisions, webhook retries)."""
        resp = self.control.advance(seconds)
        _raise_for(resp, "advance the clock")
        body: dict[str, Any] = resp.json()
        return body

    def freeze(self, now: str | float | None = None) -> dict[str, Any]:
        resp = self.control.set_clock(now=now, frozen=True)
        _raise_for(resp, "freeze the clock")
        body: dict[str, Any] = resp.json()
        return body

    def journal(self, limit: int = 20) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control.journal(limit=limit).json()["entries"]
        return entries


def _raise_for(resp: requests.Response, what: str) -> None:
    if not resp.ok:
        raise AssertionError(
            f"kyc-sandbox: could not {what}: {resp.request.method} {resp.url} → {resp.status_code} {resp.text[:500]}"
        )


@pytest.fixture(scope="session")
def kyc_sandbox_server(request: pytest.FixtureRequest) -> Iterator[KycSandboxServer]:
    """The session's sandbox (started here, or the one at --kyc-sandbox-url / KYC_SANDBOX_URL)."""
    url = request.config.getoption(URL_OPTION, default=None) or os.environ.get(ENV_URL)
    server = KycSandboxServer(url) if url else None
    if server is None:
        process = SandboxProcess()
        try:
            server = KycSandboxServer(process.base_url, process)
        except BaseException:
            process.stop()
            raise
    yield server
    server.close()


@pytest.fixture
def kyc_sandbox(kyc_sandbox_server: KycSandboxServer) -> Iterator[KycSandbox]:
    """The sandbox reset to its seeded state, with clients and helpers for this test."""
    kyc_sandbox_server.reset()
    sandbox = KycSandbox(kyc_sandbox_server)
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def kyc_sandbox_webhooks(kyc_sandbox: KycSandbox) -> Iterator[Any]:
    """A started `WebhookReceiver` registered as a global Dakota webhook target on the sandbox."""
    from simulator.harness.receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        resp = kyc_sandbox.http.post(
            f"{kyc_sandbox.base_url}/webhooks/targets",
            json={"url": receiver.url, "global": True},
            headers={"x-api-key": kyc_sandbox.admin_key, "x-idempotency-key": str(uuid.uuid4())},
            timeout=30,
        )
        _raise_for(resp, "register the webhook target")
        yield receiver


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    sandbox = getattr(item, "funcargs", {}).get("kyc_sandbox")
    if report.failed and call.when == "call" and isinstance(sandbox, KycSandbox):
        try:
            lines = [
                f"{e.get('method')} {e.get('path')} → {e.get('status')}" + (f"  {e['note']}" if e.get("note") else "")
                for e in sandbox.journal(limit=25)
            ]
        except (requests.RequestException, ValueError, KeyError) as exc:
            lines = [f"(journal unavailable: {exc})"]
        report.sections.append(("kyc-sandbox journal (last requests)", "\n".join(lines)))
    return report
