"""The dashboard in a browser: Playwright driving Debian's /usr/bin/chromium against a served sandbox, which is
driven over HTTP the way an integrator would (`Sandbox`). Never `playwright install`: the system browser only."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from simulator.harness.clients import harness_session
from tests.support.dakota import dakota_headers
from tests.support.kit import ADMIN_KEY, DAKOTA_CLIENT_ID, ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
IMPORT_PATH = "/customers/bulk-import-sumsub-tokens"
KEY_STORAGE = "kyc-sandbox.dashboard.api-key"


def browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class Sandbox:
    """The served sandbox, driven over HTTP the way an integrator would (control plane + Dakota API)."""

    base_url: str
    http: requests.Session = field(default_factory=harness_session)

    def reset(self) -> None:
        assert self.http.post(f"{self.base_url}/_sandbox/reset", timeout=30).status_code == 200

    def token(self, profile: str = "gb-passport") -> str:
        resp = self.http.post(
            f"{self.base_url}/_sandbox/donors",
            json={"profile": profile, "share_with": DAKOTA_CLIENT_ID},
            timeout=30,
        )
        assert resp.status_code in (200, 201), resp.text
        token: str = resp.json()["share_token"]["token"]
        return token

    def advance_clock(self, seconds: int) -> None:
        resp = self.http.post(f"{self.base_url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=30)
        assert resp.status_code == 200, resp.text

    def token_state(self, token: str) -> str:
        resp = self.http.get(f"{self.base_url}/_sandbox/share-tokens", params={"token": token}, timeout=30)
        assert resp.status_code == 200, resp.text
        state: str = resp.json()["state"]
        return state

    def import_tokens(self, tokens: list[str]) -> dict[str, Any]:
        resp = self.http.post(
            f"{self.base_url}{IMPORT_PATH}",
            json={"tokens": tokens},
            headers=dakota_headers(),
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def customers(self, **params: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.base_url}/customers", params=params, headers={"x-api-key": ADMIN_KEY}, timeout=30)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def total_customers(self) -> int:
        return int(self.customers(limit="1")["meta"]["total_count"])

    def application(self, customer_id: str) -> dict[str, Any]:
        c = self.http.get(f"{self.base_url}/customers/{customer_id}", headers={"x-api-key": ADMIN_KEY}, timeout=30)
        assert c.status_code == 200, c.text
        customer = c.json()
        token = customer["application_url"].split("token=", 1)[1]
        a = self.http.get(
            f"{self.base_url}/applications/{customer['application_id']}",
            params={"include": "validation,entities"},
            headers={"X-Application-Token": token},
            timeout=30,
        )
        assert a.status_code == 200, a.text
        body: dict[str, Any] = a.json()
        return body


@dataclass
class Dashboard:
    """One browser tab on the dashboard, with every request the page made."""

    page: Page
    base_url: str
    requests: list[Request]

    @property
    def url(self) -> str:
        return f"{self.base_url}/dashboard/"

    def api_requests(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.url.split("?")[0] == self.base_url + path]

    def open(self, key: str | None = ADMIN_KEY, fragment: str = "#/customers") -> None:
        """Load the page; with `key`, already signed in (as after "Sign in" in this tab)."""
        if key is not None:
            self.page.add_init_script(f"sessionStorage.setItem({KEY_STORAGE!r}, {key!r});")
        self.page.goto(self.url + fragment)
        if key is not None and fragment == "#/customers":
            self.wait_list_loaded()

    def wait_list_loaded(self) -> None:
        self.page.wait_for_function(
            "() => document.getElementById('customers-table').getAttribute('aria-busy') === 'false'"
        )

    def open_import(self) -> None:
        self.page.click("#add-customer")
        switch = self.page.get_by_role("switch", name="Sumsub Import")
        switch.click()
        assert switch.get_attribute("aria-checked") == "true"
        self.page.wait_for_selector("#panel-import:not([hidden])")

    def choose_csv(self, name: str, content: bytes, mime: str = "text/csv") -> None:
        """Choose a file in the import dialog and wait until the page has checked it."""
        self.page.set_input_files("#csv-file", files=[])  # clears the previous file's verdict
        payload: FilePayload = {"name": name, "mimeType": mime, "buffer": content}
        self.page.set_input_files("#csv-file", files=[payload])
        self.page.wait_for_selector("#csv-ready, #csv-errors")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


@contextmanager
def open_tab(browser: Browser, base_url: str) -> Iterator[Dashboard]:
    """A fresh browser context (empty session storage) with one page; fails on any JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r))  # noqa: PLW0108 - Playwright can't wrap a bound builtin
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield Dashboard(page, base_url, seen)
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
