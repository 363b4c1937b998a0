"""Run events: dataclasses the runner yields and the CLI, the pytest tests and the JUnit writer consume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Failure:
    """One failed check: what was expected, what came back, and a readable diff."""

    check: str
    message: str
    expected: Any = None
    actual: Any = None
    diff: str = ""

    def render(self) -> str:
        lines = [f"{self.check}: {self.message}"]
        if self.diff:
            lines.extend("  " + line for line in self.diff.splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class RunStarted:
    target: str
    in_process: bool
    has_control: bool
    has_clock: bool
    scenarios: int


@dataclass(frozen=True)
class ScenarioStarted:
    scenario: str
    ident: str
    steps: int


@dataclass(frozen=True)
class Waiting:
    """A clock step waiting for real time (the target's clock cannot be moved)."""

    scenario: str
    step: int
    total: float
    remaining: float


@dataclass(frozen=True)
class StepFinished:
    scenario: str
    index: int
    label: str
    outcome: Outcome
    duration: float
    request: str = ""  # "POST /customers/bulk-import-sumsub-tokens → 200"
    failures: tuple[Failure, ...] = ()
    reason: str = ""  # why it failed with an error or was skipped
    response_excerpt: str = ""

    def report(self) -> str:
        """The failure report: the step, the request, every failed check with expected vs actual."""
        head = f"step {self.index + 1} '{self.label}' {self.outcome}"
        lines = [head + (f": {self.request}" if self.request else "")]
        if self.reason:
            lines.append(f"  {self.reason}")
        for failure in self.failures:
            lines.extend("  " + line for line in failure.render().splitlines())
        if self.response_excerpt and self.outcome == "failed":
            lines.append("  response body:")
            lines.extend("    " + line for line in self.response_excerpt.splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class ScenarioFinished:
    scenario: str
    ident: str
    outcome: Outcome
    duration: float
    steps: tuple[StepFinished, ...]
    path: str = ""
    reason: str = ""

    @property
    def failed_step(self) -> StepFinished | None:
        return next((s for s in self.steps if s.outcome == "failed"), None)


@dataclass(frozen=True)
class RunFinished:
    results: tuple[ScenarioFinished, ...]
    duration: float

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


Event = RunStarted | ScenarioStarted | Waiting | StepFinished | ScenarioFinished | RunFinished
