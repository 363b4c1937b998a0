"""The runner: each scenario from a reset sandbox, each step's handler (from the registry), its expect and save."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

from simulator.harness.scenarios.errors import SkipScenario, StepError
from simulator.harness.scenarios.events import (
    Event,
    Failure,
    Outcome,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    StepFinished,
    Waiting,
)
from simulator.harness.scenarios.matchers import MISSING, check_response, excerpt, resolve
from simulator.harness.scenarios.model import Scenario
from simulator.harness.scenarios.steps import Context, RealWait, Result, RunOptions, step_of
from simulator.harness.scenarios.target import Target


class Runner:
    """Runs scenarios against a target and yields events; never raises for a failing scenario."""

    def __init__(self, target: Target, options: RunOptions | None = None) -> None:
        self.target = target
        self.options = options or RunOptions()

    def run(self, scenarios: list[Scenario]) -> Iterator[Event]:
        t = self.target
        yield RunStarted(t.base_url, t.in_process, t.has_control, t.has_clock, len(scenarios))
        started = time.perf_counter()
        results: list[ScenarioFinished] = []
        for scenario in scenarios:
            for event in self.run_scenario(scenario):
                if isinstance(event, ScenarioFinished):
                    results.append(event)
                yield event
        yield RunFinished(tuple(results), time.perf_counter() - started)

    def run_scenario(self, scenario: Scenario) -> Iterator[Event]:
        yield ScenarioStarted(scenario.name, scenario.ident, len(scenario.steps))
        started = time.perf_counter()
        ctx = Context(self.target, self.options, scenario.ident)
        steps: list[StepFinished] = []
        outcome: Outcome = "passed"
        reason = ""
        try:
            self._reset()
            ctx.vars.update(ctx.interpolate(scenario.vars))
            for index, step in enumerate(scenario.steps):
                finished: StepFinished | None = None
                for event in self._run_step(scenario, ctx, index, step):
                    if isinstance(event, StepFinished):
                        finished = event
                    yield event
                assert finished is not None
                steps.append(finished)
                if finished.outcome == "failed":
                    outcome = "failed"
                    break
                if finished.outcome == "skipped":
                    outcome, reason = "skipped", finished.reason
                    break
        except StepError as exc:  # the reset failed, or vars could not be interpolated
            outcome, reason = "failed", str(exc)
        finally:
            ctx.close()
        yield ScenarioFinished(
            scenario.name,
            scenario.ident,
            outcome,
            time.perf_counter() - started,
            tuple(steps),
            str(scenario.path or ""),
            reason,
        )

    def _reset(self) -> None:
        """A fresh sandbox for the scenario (when the target has a control plane and the run resets)."""
        if self.options.reset and self.target.has_control:
            resp = self.target.control.reset()
            if resp.status_code != 200:
                raise StepError(f"POST /_sandbox/reset answered {resp.status_code}: {resp.text[:300]}")

    # ------------------------------------------------------------------------------------ one step
    def _run_step(self, scenario: Scenario, ctx: Context, index: int, step: dict[str, Any]) -> Iterator[Event]:
        kind = step_of(step)
        action = kind.name
        label = str(step.get("name") or kind.label(step[action]))
        started = time.perf_counter()

        def done(outcome: Outcome, **kw: Any) -> StepFinished:
            return StepFinished(scenario.name, index, label, outcome, time.perf_counter() - started, **kw)

        try:
            spec = ctx.interpolate(step[action])
            result = kind.run(ctx, spec)
            if isinstance(result, RealWait):
                yield from _wait(scenario, index, result)
                yield done("passed", request="(waited in real time: the target's clock cannot be moved)")
                return
            failures = _expect_and_save(ctx, step, result)
        except SkipScenario as skip:
            yield done("skipped", reason=str(skip))
            return
        except StepError as exc:
            yield done("failed", reason=str(exc))
            return
        except requests.RequestException as exc:
            yield done("failed", reason=f"request failed: {exc}")
            return
        shown = ""
        if failures and result.response is not None:
            shown = excerpt(result.body if result.body is not MISSING else result.response.text)
        yield done(
            "failed" if failures else "passed",
            request=result.request,
            failures=tuple(failures),
            response_excerpt=shown,
        )


def _expect_and_save(ctx: Context, step: dict[str, Any], result: Result) -> list[Failure]:
    """The step's own failures and its `expect`'s; when none, its `save` paths into variables."""
    expect = ctx.interpolate(step.get("expect") or {})
    failures = [*result.failures, *check_response(result.response, result.body, expect, result.default_status)]
    if failures or not step.get("save"):
        return failures
    for var, path in step["save"].items():
        value = resolve(result.body, path)
        if value is MISSING:
            failures.append(Failure(f"save {var}", f"no value at {path!r} in the response", path))
        else:
            ctx.vars[var] = value
    return failures


def _wait(scenario: Scenario, index: int, wait: RealWait) -> Iterator[Event]:
    """Wait in real time, with a Waiting event every quarter of a second or so (for the reporters' countdown)."""
    if wait.seconds is None:
        return
    deadline = time.monotonic() + wait.seconds
    while True:
        left = deadline - time.monotonic()
        yield Waiting(scenario.name, index, wait.seconds, max(0.0, left))
        if left <= 0:
            return
        time.sleep(min(0.25, left))
