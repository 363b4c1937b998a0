"""Where scenarios run: in-process, any WSGI app or a base URL; what it offers (control plane, clock), credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from simulator.harness.clients import ControlApi, SumsubApi, harness_session
from simulator.harness.scenarios.errors import ScenarioError, StepError

DEFAULT_DAKOTA_CLIENT_ID = "dakota.xyz_158913"


@dataclass
class Target:
    """Where scenarios run: a base URL and a session (HTTP, or in-process WSGI), with what the target offers."""

    base_url: str
    http: requests.Session
    in_process: bool = False
    has_control: bool = False
    has_clock: bool = False
    credentials: dict[str, Any] = field(default_factory=dict)
    on_close: Callable[[], None] | None = None

    @classmethod
    def local(cls, settings: Any = None) -> Target:
        """A fresh sandbox in this process: in-memory store, no background dispatcher (the runner dispatches)."""
        from simulator.app import create_app
        from simulator.harness.transport import in_process_session
        from simulator.sandbox import EXTENSION
        from simulator.settings import Settings

        app = create_app(settings or Settings(database_url="sqlite://", background_dispatch=0, journal_size=200))
        http, base = in_process_session(app)
        target = cls(base, http, in_process=True, on_close=app.extensions[EXTENSION].close)
        return target.probe()

    @classmethod
    def for_wsgi(cls, app: Any, base_url: str = "http://localhost") -> Target:
        """Any WSGI app in-process (used to test targets without a control plane or a clock)."""
        from simulator.harness.transport import in_process_session

        http, base = in_process_session(app, base_url)
        return cls(base, http, in_process=True).probe()

    @classmethod
    def for_url(cls, base_url: str) -> Target:
        """A sandbox (or any Dakota/Sumsub-shaped server) over HTTP; raises ScenarioError when unreachable."""
        http = harness_session()  # control-plane requests carry X-Sandbox-Token (SANDBOX_CONTROL_TOKEN)
        try:
            http.get(base_url.rstrip("/") + "/", timeout=10)
        except requests.RequestException as exc:
            raise ScenarioError(f"cannot reach {base_url}: {exc}") from exc
        return cls(base_url.rstrip("/"), http).probe()

    def probe(self) -> Target:
        """Detect the control plane and a controllable clock; read credentials (seeded defaults otherwise)."""
        self.has_control = self._answers("/_sandbox/health")
        self.has_clock = self.has_control and self._answers("/_sandbox/clock")
        if self.has_control:
            self.credentials = ControlApi(self.base_url, session=self.http).credentials()
        else:
            from simulator.seed import DAKOTA_KEYS, SUMSUB_CLIENTS

            self.credentials = {
                "sumsub": {"clients": [{**c} for c in SUMSUB_CLIENTS], "dakota_client_id": DEFAULT_DAKOTA_CLIENT_ID},
                "dakota": {"api_keys": [{**k} for k in DAKOTA_KEYS]},
            }
        return self

    def _answers(self, path: str) -> bool:
        try:
            resp = self.http.get(self.base_url + path, timeout=10)
        except requests.RequestException:
            return False
        if resp.status_code != 200:
            return False
        try:
            return isinstance(resp.json(), dict)
        except ValueError:
            return False

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()
            self.on_close = None

    # --------------------------------------------------------------------------- clients
    @property
    def control(self) -> ControlApi:
        return ControlApi(self.base_url, session=self.http)

    @property
    def dakota_client_id(self) -> str:
        return str(self.credentials.get("sumsub", {}).get("dakota_client_id") or DEFAULT_DAKOTA_CLIENT_ID)

    def sumsub_credentials(self, client_id: str | None = None) -> dict[str, Any]:
        """A Sumsub client's credentials: `client_id`'s, or the first donor's."""
        clients = self.credentials.get("sumsub", {}).get("clients", [])
        if client_id is None:
            found = next((c for c in clients if c.get("role") == "donor"), None)
        else:
            found = next((c for c in clients if c.get("client_id") == client_id), None)
        if found is None:
            known = ", ".join(str(c.get("client_id")) for c in clients)
            raise StepError(f"unknown Sumsub client {client_id!r}; known: {known}")
        return dict(found)

    def sumsub_client(self, client_id: str | None = None) -> SumsubApi:
        """A signing Sumsub client (see `sumsub_credentials`)."""
        c = self.sumsub_credentials(client_id)
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def api_key(self, name: str | None) -> str:
        """admin / viewer / other_org → the seeded key of that role; anything else is a literal key."""
        keys = self.credentials.get("dakota", {}).get("api_keys", [])
        name = name or "admin"
        if name in ("admin", "viewer", "other_org"):
            from simulator.seed import DAKOTA_ORG_ID

            orgs = [k.get("organization_id") for k in keys]
            main_org = DAKOTA_ORG_ID if DAKOTA_ORG_ID in orgs else (orgs[0] if orgs else None)
            for k in keys:
                same_org = k.get("organization_id") == main_org
                if name == "other_org" and not same_org and k.get("role") == "admin":
                    return str(k["key"])
                if name != "other_org" and same_org and k.get("role") == name:
                    return str(k["key"])
            raise StepError(f"the target has no {name} API key")
        return name

    def now(self) -> float:
        """The sandbox's simulated now (its clock), else wall time."""
        if self.has_clock:
            return float(self.control.clock()["epoch"])
        return time.time()
