"""The scenario model: YAML files loaded and validated against contracts/schemas/scenario.schema.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.core.resources import data_dir
from simulator.harness.scenarios.errors import ScenarioError

ACTIONS = (
    "donor",
    "mint",
    "clock",
    "import",
    "request",
    "application",
    "details",
    "document",
    "attest",
    "submit",
    "review",
    "receiver",
    "webhook_target",
    "sumsub_webhook",
    "expect_webhooks",
    "token_status",
    "set",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: list[dict[str, Any]]
    path: Path | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """A stable id for reports: the file stem, else the name."""
        return self.path.stem if self.path else self.name


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir("contracts") / "schemas" / "scenario.schema.json").read_text())
    return data


def validate(document: Any, where: str = "scenario") -> list[str]:
    """Every problem with a scenario document, as readable lines (empty when valid)."""
    import jsonschema

    problems: list[str] = []
    if isinstance(document, dict) and isinstance(document.get("steps"), list):
        for i, step in enumerate(document["steps"]):
            if isinstance(step, dict):
                actions = [k for k in step if k in ACTIONS]
                unknown = [k for k in step if k not in ACTIONS and k not in ("name", "expect", "save")]
                if unknown:
                    problems.append(
                        f"{where}: steps[{i}]: unknown key(s) {', '.join(unknown)}; actions are {', '.join(ACTIONS)}"
                    )
                elif len(actions) != 1:
                    problems.append(
                        f"{where}: steps[{i}]: a step has exactly one action ({', '.join(ACTIONS)}); "
                        f"found {', '.join(actions) or 'none'}"
                    )
    if problems:
        return problems
    validator = jsonschema.Draft202012Validator(schema())
    for err in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        best = jsonschema.exceptions.best_match([err])
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path).lstrip(".")
        problems.append(f"{where}: {loc or '(top level)'}: {best.message}")
    return problems


def load(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc
    problems = validate(document, str(path))
    if problems:
        raise ScenarioError("\n".join(problems))
    return Scenario(
        name=document["name"],
        steps=document["steps"],
        path=path,
        description=document.get("description", ""),
        tags=tuple(document.get("tags", ())),
        vars=document.get("vars", {}),
    )


def discover(paths: list[Path]) -> list[Path]:
    """Files as given; folders expand to their *.yaml / *.yml files, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        else:
            out.append(p)
    return out


def load_paths(paths: list[Path]) -> list[Scenario]:
    """Load every scenario; raises ScenarioError listing all broken files at once."""
    scenarios: list[Scenario] = []
    errors: list[str] = []
    files = discover(paths)
    if not files:
        raise ScenarioError(f"no scenario files in {', '.join(str(p) for p in paths)}")
    for f in files:
        try:
            scenarios.append(load(f))
        except ScenarioError as exc:
            errors.append(str(exc))
    if errors:
        raise ScenarioError("\n".join(errors))
    return scenarios
