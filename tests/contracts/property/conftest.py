"""The property run's sandbox: one per module, seeded with a donor, an imported customer and a webhook target.

In-process by default; `KYC_SANDBOX_URL=http://host:port` runs the same checks against a served sandbox.
Requests are authenticated by `requests` auth objects applied last (tests/support/property.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from simulator.app import create_app
from simulator.harness.clients import harness_session
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from tests.support.kit import ADMIN_KEY
from tests.support.property import DONOR, DakotaAuth, PropertySandbox, seed
from tests.support.sumsub import SumsubSigner


@pytest.fixture(scope="module")
def property_sandbox() -> Iterator[PropertySandbox]:
    live = os.environ.get("KYC_SANDBOX_URL")
    app = None
    if live:
        base_url, raw = live.rstrip("/"), harness_session()
        raw.post(f"{base_url}/_sandbox/reset").raise_for_status()
    else:
        app = create_app(Settings(database_url="sqlite://", seed=4242, journal_size=50, background_dispatch=0))
        raw, base_url = in_process_session(app)
    known = seed(base_url, raw)

    def session(auth: requests.auth.AuthBase | None) -> requests.Session:
        s = harness_session()
        s.adapters = raw.adapters
        s.auth = auth
        return s

    sessions = {
        "sumsub": session(SumsubSigner(DONOR["app_token"], DONOR["secret_key"])),
        "dakota": session(DakotaAuth(ADMIN_KEY, known["application_token"])),
        "control": session(None),
    }
    yield PropertySandbox(base_url, sessions, known)
    if app is not None:
        app.extensions["kyc_sandbox"].close()
