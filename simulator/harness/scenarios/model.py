"""The scenario model: YAML files loaded and validated against contracts/schemas/scenario.schema.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.core.resources import data_dir
from simulator.harness.scenarios.errors import ScenarioError

# What a step holds besides its one action.
STEP_KEYS = ("name", "expect", "save")


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
    """contracts/schemas/scenario.schema.json: the scenario file format."""
    data: dict[str, Any] = json.loads((data_dir("contracts") / "schemas" / "scenario.schema.json").read_text())
    return data


def actions(document_schema: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The step actions the schema declares, in its order (each has a handler in `steps`)."""
    properties = (document_schema or schema())["$defs"]["step"]["properties"]
    return tuple(k for k in properties if k not in STEP_KEYS)


def validate(document: Any, where: str = "scenario") -> list[str]:
    """Every problem with a scenario document, as readable lines (empty when valid)."""
    document_schema = schema()
    # Step keys first, in words: the schema's oneOf only says that a step matches none (or several) of its actions.
    problems = _step_key_problems(document, where, actions(document_schema))
    return problems or _schema_problems(document, where, document_schema)


def _step_key_problems(document: Any, where: str, known: tuple[str, ...]) -> list[str]:
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
        return []
    problems: list[str] = []
    for i, step in enumerate(document["steps"]):
        if not isinstance(step, dict):
            continue
        found = [k for k in step if k in known]
        unknown = [k for k in step if k not in known and k not in STEP_KEYS]
        if unknown:
            problems.append(f"{where}: steps[{i}]: unknown key(s) {', '.join(unknown)}; actions are {', '.join(known)}")
        elif len(found) != 1:
            problems.append(
                f"{where}: steps[{i}]: a step has exactly one action ({', '.join(known)}); "
                f"found {', '.join(found) or 'none'}"
            )
    return problems


def _schema_problems(document: Any, where: str, document_schema: dict[str, Any]) -> list[str]:
    import jsonschema

    problems: list[str] = []
    validator = jsonschema.Draft202012Validator(document_schema)
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
