"""The step registry: `@step("name")` makes a function the handler of one action; the loader and runner read it.

    @step("submit")
    def submit(ctx: Context, spec: dict[str, Any]) -> Result:
        ...

A handler gets the run's context and the step's interpolated arguments, and returns what came back (a Result, or a
RealWait for the runner to wait out). Its step also needs its arguments in contracts/schemas/scenario.schema.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.harness.scenarios.steps.context import Context, RealWait, Result

Handler = Callable[[Context, dict[str, Any]], Result | RealWait]
Hint = Callable[[dict[str, Any]], str | None]

# The arguments a step's default label shows, first found (when the step's own hint gives none).
_HINT_KEYS = ("profile", "advance", "set", "method", "type", "as", "application", "receiver", "token")


@dataclass(frozen=True)
class StepType:
    """A registered action: its name, its handler and, optionally, how its default label describes its arguments."""

    name: str
    run: Handler
    hint: Hint | None = None

    def label(self, spec: Any) -> str:
        """`donor gb-passport`, `request GET /customers` ...: the report's label for a step without a name."""
        if not isinstance(spec, dict):
            return self.name
        hint = next((str(spec[k]) for k in _HINT_KEYS if k in spec and not isinstance(spec[k], dict | list)), "")
        own = self.hint(spec) if self.hint is not None else None
        return f"{self.name} {hint if own is None else own}".strip()


_REGISTRY: dict[str, StepType] = {}


def step(name: str, *, hint: Hint | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the action `name` (once)."""

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY:
            raise ValueError(f"step {name!r} is registered twice")
        _REGISTRY[name] = StepType(name, handler, hint)
        return handler

    return register


def names() -> tuple[str, ...]:
    """Every action, in registration order."""
    return tuple(_REGISTRY)


def step_of(document: dict[str, Any]) -> StepType:
    """The registered action of a (validated) step document."""
    return next(_REGISTRY[key] for key in document if key in _REGISTRY)
