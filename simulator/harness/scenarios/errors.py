"""What goes wrong with a scenario: a broken file, a step that cannot run, a target that cannot run the rest."""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario file that cannot be run: unreadable YAML or not valid against the scenario schema."""


class StepError(Exception):
    """The step could not do what it says (a bad reference, a setup request that failed)."""


class SkipScenario(Exception):
    """The rest of the scenario cannot run against this target (no control plane, --no-wait ...)."""
