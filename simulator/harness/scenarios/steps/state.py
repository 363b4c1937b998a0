"""Steps on the scenario's own state: define variables, read a share token's state from the control plane."""

from __future__ import annotations

from typing import Any

from simulator.harness.scenarios.steps.context import Context, Result
from simulator.harness.scenarios.steps.registry import step


@step("token_status")
def token_status(ctx: Context, spec: dict[str, Any]) -> Result:
    """GET /_sandbox/share-tokens?token=...: the token's state (active, redeemed, expired ...)."""
    ctx.need_control("token_status")
    return ctx.send("GET", "/_sandbox/share-tokens", params={"token": spec["token"]})


@step("set")
def set_vars(ctx: Context, spec: dict[str, Any]) -> Result:
    """Define variables (their values already interpolated)."""
    ctx.vars.update(spec)
    return Result(None, dict(spec))
