"""The clock step: advance, set or freeze the sandbox's clock; without a controllable clock, a real wait."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from simulator.harness.scenarios.errors import SkipScenario
from simulator.harness.scenarios.steps.context import Context, RealWait, Result, RunOptions, parse_duration
from simulator.harness.scenarios.steps.registry import step


def _hint(spec: dict[str, Any]) -> str:
    return " ".join(f"{k} {v}" for k, v in spec.items())


@step("clock", hint=_hint)
def clock(ctx: Context, spec: dict[str, Any]) -> Result | RealWait:
    """POST /_sandbox/clock(/advance); a target whose clock cannot move gets a real wait instead."""
    if not ctx.target.has_clock:
        return real_wait(ctx.options, spec)
    if "advance" in spec:
        result = ctx.control_post("/clock/advance", {"seconds": parse_duration(spec["advance"])})
        if "freeze" in spec:
            ctx.require_ok(result, "advance the clock")
            result = ctx.control_post("/clock", {"frozen": bool(spec["freeze"])})
        return result
    body: dict[str, Any] = {}
    if "set" in spec:
        body["now"] = _clock_target(ctx, spec["set"])
    if "freeze" in spec:
        body["frozen"] = bool(spec["freeze"])
    return ctx.control_post("/clock", body)


def _clock_target(ctx: Context, value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("+"):
        return ctx.target.now() + parse_duration(value.strip()[1:])
    return value


def real_wait(options: RunOptions, spec: dict[str, Any]) -> RealWait:
    """How long to wait in real time instead, or SkipScenario when the run may not (or cannot) wait."""
    seconds = _real_seconds(spec)
    if seconds is None:
        if spec.get("freeze"):
            raise SkipScenario("the target's clock cannot be frozen (no /_sandbox/clock)")
        return RealWait(None)
    if not options.wait:
        raise SkipScenario(f"clock step needs {seconds:.0f}s of real time and --no-wait was given")
    if seconds > options.max_wait:
        raise SkipScenario(
            f"clock step needs {seconds:.0f}s of real time, more than the {options.max_wait:.0f}s allowed"
        )
    return RealWait(seconds)


def _real_seconds(spec: dict[str, Any]) -> float | None:
    """Seconds until the time the step asks for (`advance`, or `set` relative or absolute); None without either."""
    if "advance" in spec:
        return parse_duration(spec["advance"])
    if "set" not in spec:
        return None
    value = spec["set"]
    if isinstance(value, str) and value.strip().startswith("+"):
        return parse_duration(value.strip()[1:])
    when = (
        float(value)
        if isinstance(value, int | float)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    )
    return max(0.0, when - time.time())
