"""The scenario steps, one handler per action, registered with `@step` (see `registry`).

Importing this package registers every step. The scenario schema (contracts/schemas/scenario.schema.json) declares
each action's arguments; tests/harness/test_scenarios.py checks that the schema's actions and these are the same.
"""

from __future__ import annotations

# Imported for their @step registrations.
from simulator.harness.scenarios.steps import applications, clock, dakota, state, sumsub, webhooks
from simulator.harness.scenarios.steps.applications import deep_merge, details_from_entity
from simulator.harness.scenarios.steps.context import Context, RealWait, Result, RunOptions, parse_duration
from simulator.harness.scenarios.steps.dakota import junk_token
from simulator.harness.scenarios.steps.registry import StepType, names, step, step_of

__all__ = [
    "Context",
    "RealWait",
    "Result",
    "RunOptions",
    "StepType",
    "applications",
    "clock",
    "dakota",
    "deep_merge",
    "details_from_entity",
    "junk_token",
    "names",
    "parse_duration",
    "state",
    "step",
    "step_of",
    "sumsub",
    "webhooks",
]
