"""Browser fixtures for the dashboard tests: Playwright driving Debian's /usr/bin/chromium against a served sandbox.

Without /usr/bin/chromium (or Playwright) the tests skip, unless KYC_SANDBOX_REQUIRE_BROWSER=1 (CI), where they fail.
Never `playwright install`: the tests use the system browser only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.dashboard import CHROMIUM, CHROMIUM_ARGS, Dashboard, Sandbox, browser_missing, open_tab
from tests.support.servers import ServedSandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = browser_missing()
    if missing:
        if os.environ.get("KYC_SANDBOX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KYC_SANDBOX_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def sandbox(served_sandbox: ServedSandbox) -> Iterator[Sandbox]:
    """The session's served sandbox, reset to its seeded state for this test."""
    sb = Sandbox(served_sandbox.base_url)
    sb.reset()
    yield sb
    sb.http.close()


@pytest.fixture
def dash(browser: Browser, sandbox: Sandbox) -> Iterator[Dashboard]:
    with open_tab(browser, sandbox.base_url) as tab:
        yield tab


@pytest.fixture(scope="module")
def import_dialog(browser: Browser, served_sandbox: ServedSandbox) -> Iterator[Dashboard]:
    """One tab kept on the open Sumsub Import dialog for a module of file checks (no page load per case)."""
    Sandbox(served_sandbox.base_url).reset()
    with open_tab(browser, served_sandbox.base_url) as tab:
        tab.open()
        tab.open_import()
        yield tab
