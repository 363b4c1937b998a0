"""Settings: the one place that reads SANDBOX_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///.sandbox/sandbox.db"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a sandbox; CLI flags override env vars, which override defaults."""

    database_url: str = DEFAULT_DATABASE_URL
    seed: int | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    base_url: str = ""
    # Dakota's Sumsub clientId; tokens must be minted for it.
    dakota_client_id: str = "dakota.xyz_158913"
    # The Sumsub level Dakota redeems tokens against.
    dakota_level_name: str = "id-only"
    # Country code used when Sumsub returns no address, so the application still loads.
    address_placeholder_country: str = "ZZ"
    share_token_default_ttl: int = 1200
    # Sumsub accepts X-App-Access-Ts within this many seconds of wall time.
    signature_window_seconds: int = 60
    idempotency_window_seconds: int = 24 * 3600
    # An in-flight idempotency record older than this (a crashed worker) no longer blocks retries.
    idempotency_lease_seconds: int = 60
    journal_size: int = 500
    max_request_bytes: int = 16 * 1024 * 1024
    # How long a webhook receiver may take before the attempt counts as failed.
    webhook_timeout_seconds: int = 10
    # Deliver webhooks and settle due work from a background thread (off: only on clock advance / dispatch calls).
    background_dispatch: int = 1
    # Host names requests may carry besides loopback ones, the base URL's and the bind address (comma-separated,
    # `*` = any): what stops a DNS-rebinding web page from reading the sandbox (see control/access.py).
    allowed_hosts: str = ""
    # Required on the control plane (header X-Sandbox-Token) when set; `serve` generates one when it binds beyond
    # loopback and none is set.
    control_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved_base_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_env(self) -> dict[str, str]:
        """These settings as the SANDBOX_* variables `from_env` reads back (for worker processes)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "extra" and value is not None:
                out[f"SANDBOX_{f.name.upper()}"] = str(value)
        return out

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read SANDBOX_<FIELD> variables (e.g. SANDBOX_DATABASE_URL, SANDBOX_SEED), then apply overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"SANDBOX_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = str(f.type)
            if "int" in kind:
                try:
                    values[f.name] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"SANDBOX_{f.name.upper()} must be an integer, got {raw!r}") from exc
            else:
                values[f.name] = raw
        return cls(**values).with_overrides(**overrides)


def control_token_from_env(environ: dict[str, str] | None = None) -> str:
    """SANDBOX_CONTROL_TOKEN, for the harness's clients (what a sandbox served with it requires)."""
    return (os.environ if environ is None else environ).get("SANDBOX_CONTROL_TOKEN", "")
