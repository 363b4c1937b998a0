"""Shared fixtures: a fresh in-memory sandbox per test, reference clients bound to it, contract checks.

Every Dakota response a test receives through `kit` is validated against Dakota's published OpenAPI spec, and every
Sumsub, Dakota and control-plane response against the sandbox's own contracts (contracts/openapi/*.yaml).
Everything but fixtures (the clients, credentials, helpers) is in the test kit, tests/support.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings

from simulator.app import create_app
from simulator.harness.clients import harness_session
from simulator.harness.openapi import OpenApiContract
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from tests.support.kit import VENDOR_SPEC, Kit, load_own_contracts, make_kit
from tests.support.servers import (
    POSTGRES_URL,
    TEST_STORE,
    ServedSandbox,
    fresh_schema,
    postgres_database,
    require_postgres,
    suite_settings,
)

settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def vendor_contract() -> OpenApiContract:
    return OpenApiContract.load(VENDOR_SPEC)


@pytest.fixture(scope="session")
def own_contracts() -> dict[str, OpenApiContract]:
    """The sandbox's own contracts, keyed by the path prefix they cover (most specific first)."""
    return load_own_contracts()


@pytest.fixture(scope="session")
def test_database_url() -> str:
    if TEST_STORE == "postgresql":
        require_postgres()
        fresh_schema(POSTGRES_URL)
        return POSTGRES_URL
    return "sqlite://"


@pytest.fixture
def sandbox_settings(test_database_url: str) -> Settings:
    return suite_settings(test_database_url)


@pytest.fixture(scope="session")
def _suite_app(test_database_url: str) -> Iterator[Flask]:
    """One app for every test on the suite's settings: building an app (blueprints, schema, seed) cost more than
    most tests, and `Sandbox.reset` (the control plane's reset) puts the same app back to the seeded state."""
    application = create_app(suite_settings(test_database_url))
    yield application
    application.extensions["kyc_sandbox"].close()


@pytest.fixture
def app(sandbox_settings: Settings, test_database_url: str, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if sandbox_settings == suite_settings(test_database_url):
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
    k = make_kit(http, base, vendor_contract, own_contracts)
    yield k
    assert not k.contract_problems, "responses broke Dakota's published spec or the sandbox's contracts:\n" + "\n".join(
        str(p) for p in k.contract_problems
    )


# ---------------------------------------------------------------- a real served sandbox
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
    k = make_kit(harness_session(), served_sandbox.base_url, vendor_contract, own_contracts)
    assert k.control.reset().status_code == 200
    yield k
    assert not k.contract_problems, "\n".join(str(p) for p in k.contract_problems)
