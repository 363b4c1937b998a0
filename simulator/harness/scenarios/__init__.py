"""Scenario replays: YAML files of steps, run in order against a sandbox in-process or at any base URL.

    scenarios = load_paths([Path("scenarios")])
    target = Target.local()                   # or Target.for_url("http://127.0.0.1:8080")
    for event in Runner(target).run(scenarios):    # RunStarted, ScenarioStarted, StepFinished, Waiting, ...
        ...

The engine only yields events (dataclasses); the CLI's rich reporter, the JUnit writer and the tests consume the
same stream. The step format is `contracts/schemas/scenario.schema.json`, explained in `scenarios/README.md`.

The runner talks to the sandbox over HTTP only (the reference clients), never to its internals: the control plane
(`/_sandbox/*`) when the target has one, else what any client has. Each scenario starts from `POST /_sandbox/reset`
where there is a control plane. A target whose `/_sandbox/clock` is missing gets real waits for clock steps.

Modules: `model` (files → Scenario), `events`, `target` (where to run), `matchers` (expect), `steps` (a registry:
one handler per action, `@step("name")`), `runner`, `junit`; `errors` below them all.
"""

from __future__ import annotations

from simulator.harness.scenarios.errors import ScenarioError, SkipScenario, StepError
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
from simulator.harness.scenarios.junit import junit_xml
from simulator.harness.scenarios.matchers import (
    MISSING,
    check_value,
    parse_path,
    resolve,
    structural_diff,
    text_diff,
)
from simulator.harness.scenarios.model import Scenario, actions, discover, load, load_paths, schema, validate
from simulator.harness.scenarios.runner import Runner
from simulator.harness.scenarios.steps import (
    RunOptions,
    deep_merge,
    details_from_entity,
    junk_token,
    parse_duration,
    step,
)
from simulator.harness.scenarios.target import Target

__all__ = [
    "MISSING",
    "Event",
    "Failure",
    "Outcome",
    "RunFinished",
    "RunOptions",
    "RunStarted",
    "Runner",
    "Scenario",
    "ScenarioError",
    "ScenarioFinished",
    "ScenarioStarted",
    "SkipScenario",
    "StepError",
    "StepFinished",
    "Target",
    "Waiting",
    "actions",
    "check_value",
    "deep_merge",
    "details_from_entity",
    "discover",
    "junit_xml",
    "junk_token",
    "load",
    "load_paths",
    "parse_duration",
    "parse_path",
    "resolve",
    "schema",
    "step",
    "structural_diff",
    "text_diff",
    "validate",
]
