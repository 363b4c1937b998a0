"""Shared fixtures: a fresh in-memory sandbox per test, reference clients bound to it, contract checks.

Every Dakota response a test receives through `kit` is validated against Dakota's published OpenAPI spec, and every
Sumsub, Dakota and control-plane response against the sandbox's own contracts (contracts/openapi/*.yaml).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from hypothesis import HealthCheck, settings

from simulator.app import create_app
from simulator.harness.clients import ControlApi, DakotaApi, SumsubApi, harness_session
from simulator.harness.openapi import OpenApiContract
from simulator.harness.pytest_plugin import SandboxProcess
from simulator.harness.transport import in_process_session
from simulator.seed import DAKOTA_KEYS, SUMSUB_CLIENTS
from simulator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
VENDOR_SPEC = ROOT / "contracts" / "vendor" / "dakota-openapi.yaml"

settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ADMIN_KEY = DAKOTA_KEYS[0]["key"]
VIEWER_KEY = DAKOTA_KEYS[1]["key"]
OTHER_ORG_KEY = DAKOTA_KEYS[2]["key"]
CLIENTS = {c["client_id"]: c for c in SUMSUB_CLIENTS}
DAKOTA_CLIENT_ID = "dakota.xyz_158913"
DONOR_ID = "acme-wallet_20419"
DONOR2_ID = "globex-exchange_55120"
OTHER_RECIPIENT_ID = "initech-bank_77001"


@pytest.fixture(scope="session")
def vendor_contract() -> OpenApiContract:
    return OpenApiContract.load(VENDOR_SPEC)


OWN_CONTRACTS = {"sumsub": "/resources", "control": "/_sandbox", "dakota": "/"}


@pytest.fixture(scope="session")
def own_contracts() -> dict[str, OpenApiContract]:
    """The sandbox's own contracts, keyed by the path prefix they cover (most specific first)."""
    return {
        prefix: OpenApiContract.load(ROOT / "contracts" / "openapi" / f"{api}.yaml")
        for api, prefix in OWN_CONTRACTS.items()
    }


def check_own_contracts(http: requests.Session, problems: list[Any], contracts: dict[str, OpenApiContract]) -> None:
    """Also validate every response `http` receives against contracts/openapi/<api>.yaml."""

    def check(resp: requests.Response, *_a: Any, **_k: Any) -> None:
        if "X-Sandbox-Fault" in resp.headers:
            return  # an injected fault is deliberately outside every contract
        path = requests.utils.urlparse(resp.url).path
        prefix = next(p for p in contracts if path.startswith(p))
        try:
            body = resp.json()
        except ValueError:
            body = None
        found = contracts[prefix].validate_response(
            resp.request.method or "GET", path, resp.status_code, resp.headers.get("Content-Type"), body
        )
        problems.extend(dataclasses.replace(p, operation=f"[contracts/openapi] {p.operation}") for p in found)

    http.hooks["response"].append(check)


@dataclass
class Kit:
    """Clients bound to one sandbox (in-process or served)."""

    base_url: str
    http: requests.Session
    control: ControlApi
    donor: SumsubApi
    donor2: SumsubApi
    dakota_sumsub: SumsubApi
    other_recipient: SumsubApi
    admin: DakotaApi
    viewer: DakotaApi
    other_org: DakotaApi
    contract_problems: list[Any]

    def sumsub(self, client_id: str) -> SumsubApi:
        c = CLIENTS[client_id]
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def dakota(self, key: str) -> DakotaApi:
        return DakotaApi(self.base_url, key, session=self.http)

    def token(self, profile: str = "gb-passport", **kw: Any) -> str:
        return self.control.donor_token(profile, **kw)

    def bulk(self, tokens: list[str], **kw: Any) -> dict[str, Any]:
        resp = self.admin.bulk_import_sumsub_tokens(tokens, **kw)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def application(self, customer_id: str, application_id: str, include: str = "all") -> dict[str, Any]:
        token = self.admin.application_token(customer_id)
        resp = self.admin.get_application(application_id, token, include=include)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def make_kit(http: requests.Session, base_url: str, contract: OpenApiContract | None) -> Kit:
    problems: list[Any] = []

    def check(resp: requests.Response, *_a: Any, **_k: Any) -> None:
        if contract is None or "X-Sandbox-Fault" in resp.headers:
            return
        path = requests.utils.urlparse(resp.url).path
        if path.startswith(("/resources", "/_sandbox")):
            return
        try:
            body = resp.json()
        except ValueError:
            body = None
        found = contract.validate_response(
            resp.request.method or "GET", path, resp.status_code, resp.headers.get("Content-Type"), body
        )
        problems.extend(found)

    http.hooks["response"].append(check)

    def sumsub(cid: str) -> SumsubApi:
        return SumsubApi(base_url, CLIENTS[cid]["app_token"], CLIENTS[cid]["secret_key"], session=http)

    return Kit(
        base_url=base_url,
        http=http,
        control=ControlApi(base_url, session=http),
        donor=sumsub(DONOR_ID),
        donor2=sumsub(DONOR2_ID),
        dakota_sumsub=sumsub(DAKOTA_CLIENT_ID),
        other_recipient=sumsub(OTHER_RECIPIENT_ID),
        admin=DakotaApi(base_url, ADMIN_KEY, session=http),
        viewer=DakotaApi(base_url, VIEWER_KEY, session=http),
        other_org=DakotaApi(base_url, OTHER_ORG_KEY, session=http),
        contract_problems=problems,
    )


# The store the suite runs on: in-memory SQLite by default; `KYC_SANDBOX_TEST_STORE=postgresql` runs the same tests
# on the PostgreSQL server at KYC_SANDBOX_TEST_POSTGRES_URL (the project's machines have one on 127.0.0.1:5432).
TEST_STORE = os.environ.get("KYC_SANDBOX_TEST_STORE", "sqlite")
POSTGRES_URL = os.environ.get("KYC_SANDBOX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("KYC_SANDBOX_REQUIRE_POSTGRES") == "1"


def postgres_available(url: str = POSTGRES_URL) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


_FRESH: set[str] = set()


def fresh_schema(url: str) -> None:
    """Empty the database's public schema (once per test session): the server outlives test runs, and a schema
    left by an older checkout must not leak into this one."""
    import psycopg

    plain = url.split("?", maxsplit=1)[0].replace("postgresql+psycopg://", "postgresql://")
    if plain in _FRESH:
        return
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    _FRESH.add(plain)


def postgres_database(name: str) -> str:
    """A URL for database `name` on the test server, created on first use and emptied once per session."""
    import psycopg

    base = POSTGRES_URL.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    server, _, query = POSTGRES_URL.partition("?")
    url = server.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    fresh_schema(url)
    return url


def require_postgres() -> None:
    """Skip without PostgreSQL on a laptop; in CI (KYC_SANDBOX_REQUIRE_POSTGRES=1) a missing server fails."""
    if postgres_available():
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (KYC_SANDBOX_REQUIRE_POSTGRES=1) but {POSTGRES_URL} is unreachable")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")


@pytest.fixture(scope="session")
def test_database_url() -> str:
    if TEST_STORE == "postgresql":
        require_postgres()
        fresh_schema(POSTGRES_URL)
        return POSTGRES_URL
    return "sqlite://"


@pytest.fixture
def sandbox_settings(test_database_url: str) -> Settings:
    return _suite_settings(test_database_url)


def _suite_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, seed=1234, journal_size=200, background_dispatch=0)


@pytest.fixture(scope="session")
def _suite_app(test_database_url: str) -> Iterator[Flask]:
    """One app for every test on the suite's settings: building an app (blueprints, schema, seed) cost more than
    most tests, and `Sandbox.reset` (the control plane's reset) puts the same app back to the seeded state."""
    application = create_app(_suite_settings(test_database_url))
    yield application
    application.extensions["kyc_sandbox"].close()


@pytest.fixture
def app(sandbox_settings: Settings, test_database_url: str, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if sandbox_settings == _suite_settings(test_database_url):
        application: Flask = request.getfixturevalue("_suite_app")
        application.extensions["kyc_sandbox"].reset()  # every test starts from the seed, on either store
        yield application
        return
    application = create_app(sandbox_settings)
    if not sandbox_settings.database_url.startswith("sqlite"):
        application.extensions["kyc_sandbox"].reset()  # a shared server: start every test from the seed
    yield application
    application.extensions["kyc_sandbox"].close()


@pytest.fixture
def kit(app: Flask, vendor_contract: OpenApiContract, own_contracts: dict[str, OpenApiContract]) -> Iterator[Kit]:
    http, base = in_process_session(app)
    k = make_kit(http, base, vendor_contract)
    check_own_contracts(http, k.contract_problems, own_contracts)
    yield k
    assert not k.contract_problems, "responses broke Dakota's published spec or the sandbox's contracts:\n" + "\n".join(
        str(p) for p in k.contract_problems
    )


# ---------------------------------------------------------------- a real served sandbox
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedSandbox(SandboxProcess):
    """`kyc-sandbox serve` in a subprocess on a free port (the plugin's process manager, with test defaults)."""

    def __init__(self, workers: int = 1, database_url: str | None = None) -> None:
        super().__init__(workers=workers, database_url=database_url)


@pytest.fixture(scope="session")
def served_sandbox() -> Iterator[ServedSandbox]:
    url = postgres_database("kyc_sandbox_served") if TEST_STORE == "postgresql" else None
    server = ServedSandbox(workers=2, database_url=url)
    yield server
    server.stop()


@pytest.fixture
def served(
    served_sandbox: ServedSandbox, vendor_contract: OpenApiContract, own_contracts: dict[str, OpenApiContract]
) -> Iterator[Kit]:
    """A kit talking real HTTP to the served sandbox, reset before the test."""
    http = harness_session()
    k = make_kit(http, served_sandbox.base_url, vendor_contract)
    check_own_contracts(http, k.contract_problems, own_contracts)
    assert k.control.reset().status_code == 200
    yield k
    assert not k.contract_problems, "\n".join(str(p) for p in k.contract_problems)
