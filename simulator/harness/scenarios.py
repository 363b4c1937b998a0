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
"""

from __future__ import annotations

import base64
import copy
import difflib
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import requests
import yaml

from simulator.core.resources import data_dir
from simulator.harness.clients import ControlApi, SumsubApi, harness_session

Outcome = Literal["passed", "failed", "skipped"]
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
REQUIRED_ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")
DEFAULT_DAKOTA_CLIENT_ID = "dakota.xyz_158913"


# ============================================================================================== scenarios
class ScenarioError(Exception):
    """A scenario file that cannot be run: unreadable YAML or not valid against the scenario schema."""


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


# ============================================================================================== events
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


# ============================================================================================== target
@dataclass
class Target:
    """Where scenarios run: a base URL and a session (HTTP, or in-process WSGI), with what the target offers."""

    base_url: str
    http: requests.Session
    in_process: bool = False
    has_control: bool = False
    has_clock: bool = False
    credentials: dict[str, Any] = field(default_factory=dict)
    on_close: Callable[[], None] | None = None

    @classmethod
    def local(cls, settings: Any = None) -> Target:
        """A fresh sandbox in this process: in-memory store, no background dispatcher (the runner dispatches)."""
        from simulator.app import create_app
        from simulator.harness.transport import in_process_session
        from simulator.http import EXTENSION
        from simulator.settings import Settings

        app = create_app(settings or Settings(database_url="sqlite://", background_dispatch=0, journal_size=200))
        http, base = in_process_session(app)
        target = cls(base, http, in_process=True, on_close=app.extensions[EXTENSION].close)
        return target.probe()

    @classmethod
    def for_wsgi(cls, app: Any, base_url: str = "http://localhost") -> Target:
        """Any WSGI app in-process (used to test targets without a control plane or a clock)."""
        from simulator.harness.transport import in_process_session

        http, base = in_process_session(app, base_url)
        return cls(base, http, in_process=True).probe()

    @classmethod
    def for_url(cls, base_url: str) -> Target:
        """A sandbox (or any Dakota/Sumsub-shaped server) over HTTP; raises ScenarioError when unreachable."""
        http = harness_session()  # control-plane requests carry X-Sandbox-Token (SANDBOX_CONTROL_TOKEN)
        try:
            http.get(base_url.rstrip("/") + "/", timeout=10)
        except requests.RequestException as exc:
            raise ScenarioError(f"cannot reach {base_url}: {exc}") from exc
        return cls(base_url.rstrip("/"), http).probe()

    def probe(self) -> Target:
        """Detect the control plane and a controllable clock; read credentials (seeded defaults otherwise)."""
        self.has_control = self._answers("/_sandbox/health")
        self.has_clock = self.has_control and self._answers("/_sandbox/clock")
        if self.has_control:
            self.credentials = ControlApi(self.base_url, session=self.http).credentials()
        else:
            from simulator.seed import DAKOTA_KEYS, SUMSUB_CLIENTS

            self.credentials = {
                "sumsub": {"clients": [{**c} for c in SUMSUB_CLIENTS], "dakota_client_id": DEFAULT_DAKOTA_CLIENT_ID},
                "dakota": {"api_keys": [{**k} for k in DAKOTA_KEYS]},
            }
        return self

    def _answers(self, path: str) -> bool:
        try:
            resp = self.http.get(self.base_url + path, timeout=10)
        except requests.RequestException:
            return False
        if resp.status_code != 200:
            return False
        try:
            return isinstance(resp.json(), dict)
        except ValueError:
            return False

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()
            self.on_close = None

    # --------------------------------------------------------------------------- clients
    @property
    def control(self) -> ControlApi:
        return ControlApi(self.base_url, session=self.http)

    @property
    def dakota_client_id(self) -> str:
        return str(self.credentials.get("sumsub", {}).get("dakota_client_id") or DEFAULT_DAKOTA_CLIENT_ID)

    def sumsub_credentials(self, client_id: str | None = None) -> dict[str, Any]:
        """A Sumsub client's credentials: `client_id`'s, or the first donor's."""
        clients = self.credentials.get("sumsub", {}).get("clients", [])
        if client_id is None:
            found = next((c for c in clients if c.get("role") == "donor"), None)
        else:
            found = next((c for c in clients if c.get("client_id") == client_id), None)
        if found is None:
            known = ", ".join(str(c.get("client_id")) for c in clients)
            raise StepError(f"unknown Sumsub client {client_id!r}; known: {known}")
        return dict(found)

    def sumsub_client(self, client_id: str | None = None) -> SumsubApi:
        """A signing Sumsub client (see `sumsub_credentials`)."""
        c = self.sumsub_credentials(client_id)
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def api_key(self, name: str | None) -> str:
        """admin / viewer / other_org → the seeded key of that role; anything else is a literal key."""
        keys = self.credentials.get("dakota", {}).get("api_keys", [])
        name = name or "admin"
        if name in ("admin", "viewer", "other_org"):
            from simulator.seed import DAKOTA_ORG_ID

            orgs = [k.get("organization_id") for k in keys]
            main_org = DAKOTA_ORG_ID if DAKOTA_ORG_ID in orgs else (orgs[0] if orgs else None)
            for k in keys:
                same_org = k.get("organization_id") == main_org
                if name == "other_org" and not same_org and k.get("role") == "admin":
                    return str(k["key"])
                if name != "other_org" and same_org and k.get("role") == name:
                    return str(k["key"])
            raise StepError(f"the target has no {name} API key")
        return name

    def now(self) -> float:
        """The sandbox's simulated now (its clock), else wall time."""
        if self.has_clock:
            return float(self.control.clock()["epoch"])
        return time.time()


# ============================================================================================== helpers
class StepError(Exception):
    """The step could not do what it says (a bad reference, a setup request that failed)."""


class SkipScenario(Exception):
    """The rest of the scenario cannot run against this target (no control plane, --no-wait ...)."""


_MISSING: Any = object()
_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+|\*)\]")
_VAR = re.compile(r"\$\{([^}]+)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_path(path: str) -> list[str | int]:
    """`results[0].error` → ['results', 0, 'error']; `[*]` is kept as '*'; `$` or '' is the whole value."""
    path = path.strip()
    if path in ("", "$"):
        return []
    path = path.removeprefix("$").removeprefix(".")
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_TOKEN.finditer(path):
        if m.start() != pos:
            raise ValueError(f"bad JSON path {path!r} at {pos}")
        pos = m.end()
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) == "*":
            parts.append("*")
        else:
            parts.append(int(m.group(2)))
    if pos != len(path):
        raise ValueError(f"bad JSON path {path!r} at {pos}")
    return parts


def resolve(data: Any, path: str) -> Any:
    """The value at `path`, or `_MISSING`; `[*]` maps the rest of the path over a list."""
    return _resolve(data, parse_path(path))


def _resolve(data: Any, parts: list[str | int]) -> Any:
    for i, part in enumerate(parts):
        if part == "*":
            if not isinstance(data, list):
                return _MISSING
            return [_resolve(item, parts[i + 1 :]) for item in data]
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return _MISSING
            data = data[part]
        else:
            if isinstance(data, list) and part == "length":
                data = len(data)
                continue
            if not isinstance(data, dict) or part not in data:
                return _MISSING
            data = data[part]
    return data


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like '21m', '1h30m', '90s', '2d'."""
    if isinstance(value, bool):
        raise StepError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        total, pos = 0.0, 0
        for m in _DURATION.finditer(text):
            if text[pos : m.start()].strip():
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos and not text[pos:].strip():
            return total
    raise StepError(f"not a duration: {value!r} (use seconds or e.g. '21m', '1h30m')")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _pretty(value: Any) -> str:
    if value is _MISSING:
        return "<missing>"
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _short(value: Any, limit: int = 300) -> str:
    text = "<missing>" if value is _MISSING else _text(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def structural_diff(expected: Any, actual: Any) -> str:
    """A unified diff of the pretty JSON of both sides (- expected, + actual)."""
    lines = difflib.unified_diff(
        _pretty(expected).splitlines(), _pretty(actual).splitlines(), "expected", "actual", lineterm="", n=2
    )
    return "\n".join(lines)


def text_diff(expected: str, actual: str) -> str:
    """Two strings as expected/actual lines with `?` markers under the characters that differ."""
    lines = list(difflib.ndiff([expected], [actual]))
    out = []
    for line in lines:
        tag, text = line[:2], line[2:]
        if tag == "- ":
            out.append(f"expected: {text!r}")
        elif tag == "+ ":
            out.append(f"actual:   {text!r}")
        elif tag == "? ":
            out.append("          " + " " + text.rstrip("\n"))
    return "\n".join(out)


def _subset(expected: Any, actual: Any) -> bool:
    """`expected` is contained in `actual`: objects by subset (recursively), lists by membership, strings."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


def _contains(actual: Any, needle: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(needle, str) and needle in actual
    if isinstance(actual, list):
        return any(_subset(needle, item) for item in actual)
    if isinstance(actual, dict):
        return _subset(needle, actual) if isinstance(needle, dict) else needle in actual
    return False


OPERATORS = ("equals", "not_equals", "contains", "not_contains", "matches", "length", "exists", "one_of")
OPERATORS_NUM = ("gte", "lte", "gt", "lt")


def is_operator_dict(matcher: Any) -> bool:
    return isinstance(matcher, dict) and bool(matcher) and all(k in (*OPERATORS, *OPERATORS_NUM) for k in matcher)


def check_value(check: str, actual: Any, matcher: Any) -> list[Failure]:
    """Apply a matcher (a value meaning equality, or an object of operators) to one value."""
    ops = matcher if is_operator_dict(matcher) else {"equals": matcher}
    failures: list[Failure] = []

    def fail(message: str, expected: Any, diff: str = "") -> None:
        shown = diff or f"expected: {_short(expected)}\nactual:   {_short(actual)}"
        failures.append(Failure(check, message, expected, None if actual is _MISSING else actual, shown))

    for op, want in ops.items():
        if op == "exists":
            if (actual is not _MISSING) != bool(want):
                fail("expected the value to exist" if want else "expected no value here", want)
            continue
        if actual is _MISSING:
            fail(f"no value at this path (wanted {op} {_short(want)})", want, f"expected ({op}): {_short(want)}")
            continue
        if op == "equals":
            if actual != want or (type(actual) is bool) != (type(want) is bool):
                structured = isinstance(want, dict | list) and isinstance(actual, dict | list)
                if structured:
                    fail("values differ", want, structural_diff(want, actual))
                elif isinstance(want, str) and isinstance(actual, str) and max(len(want), len(actual)) <= 400:
                    fail("values differ", want, text_diff(want, actual))
                else:
                    fail("values differ", want)
        elif op == "not_equals":
            if actual == want:
                fail("expected a different value", want)
        elif op == "contains":
            if not _contains(actual, want):
                fail(f"expected to contain {_short(want)}", want)
        elif op == "not_contains":
            if _contains(actual, want):
                fail(f"expected not to contain {_short(want)}", want)
        elif op == "matches":
            if not isinstance(actual, str) or re.search(str(want), actual) is None:
                fail(f"expected to match /{want}/", want)
        elif op == "length":
            try:
                n = len(actual)
            except TypeError:
                n = -1
            if n != want:
                fail(f"expected length {want}, got {n if n >= 0 else 'a value without a length'}", want)
        elif op == "one_of":
            if actual not in want:
                fail(f"expected one of {_short(want)}", want)
        else:
            num = actual if isinstance(actual, int | float) and not isinstance(actual, bool) else None
            ok = (
                num is not None
                and {
                    "gte": num >= want,
                    "lte": num <= want,
                    "gt": num > want,
                    "lt": num < want,
                }[op]
            )
            if not ok:
                fail(f"expected {op} {want}", want)
    return failures


def junk_token(rnd: random.Random, style: str) -> str:
    """A token no sandbox has issued: malformed, valid-looking, unicode, huge or empty."""
    if style == "mixed":
        style = rnd.choice(["malformed", "valid-looking", "unicode", "huge"])
    if style == "malformed":
        return "not-a-share-token-" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    if style == "valid-looking":
        header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        payload = json.dumps({"jti": f"_act-sbx-{uuid.UUID(int=rnd.getrandbits(128), version=4)}"})
        body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
        return f"_act-sbx-jwt-{header}.{body}."
    if style == "unicode":
        alphabet = "токенΣύμβολο令牌토큰🙂🔑émoji\u200b"
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(4, 24)))
    if style == "huge":
        return "_act-sbx-jwt-" + "A" * rnd.randint(1100, 4000)
    if style == "empty":
        return ""
    raise StepError(f"unknown garbage style {style!r}")


# ============================================================================================== the runner
@dataclass
class RunOptions:
    wait: bool = True  # on a target without a controllable clock, clock steps wait for real (else: skipped)
    max_wait: float = 1800.0  # longer real waits are skipped
    reset: bool = True  # POST /_sandbox/reset before each scenario (when there is a control plane)
    webhook_timeout: float = 10.0


@dataclass
class _Result:
    """What one step's action produced: the response (for expect/save) and its JSON body."""

    response: requests.Response | None
    body: Any = _MISSING
    request: str = ""
    default_status: tuple[int, ...] | None = None  # checked when the step has no expect.status (None: any 2xx)
    failures: list[Failure] = field(default_factory=list)  # the action's own checks (webhooks arrived ...)


class _Context:
    def __init__(self, scenario: Scenario) -> None:
        self.vars: dict[str, Any] = {}
        self.keys: dict[str, str] = {}
        self.receivers: dict[str, Any] = {}
        seed = int.from_bytes(scenario.ident.encode()[:8].ljust(8, b"\0"), "big")
        self.rnd = random.Random(seed)

    def lookup(self, expr: str) -> Any:
        expr = expr.strip()
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expr)
        if name is None or name.group(0) not in self.vars:
            known = ", ".join(sorted(self.vars)) or "none yet"
            raise StepError(f"unknown variable ${{{expr}}} (defined: {known})")
        value = _resolve(self.vars[name.group(0)], parse_path(expr[name.end() :]))
        if value is _MISSING:
            raise StepError(f"${{{expr}}}: no value at that path in {_short(self.vars[name.group(0)], 200)}")
        return value

    def interpolate(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = _VAR.fullmatch(value)
            if whole:
                return copy.deepcopy(self.lookup(whole.group(1)))
            return _VAR.sub(lambda m: _text(self.lookup(m.group(1))), value)
        if isinstance(value, dict):
            return {k: self.interpolate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.interpolate(v) for v in value]
        return value

    def idempotency_key(self, name: Any) -> str | None:
        """A name → one UUID per run (reusable across steps); a UUID as is; False → no header."""
        if name is False:
            return None
        if name is None or name is True:
            return str(uuid.uuid4())
        text = str(name)
        try:
            return str(uuid.UUID(text))
        except ValueError:
            return self.keys.setdefault(text, str(uuid.uuid4()))

    def close(self) -> None:
        for rx in self.receivers.values():
            rx.stop()
        self.receivers.clear()


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
        ctx = _Context(scenario)
        steps: list[StepFinished] = []
        outcome: Outcome = "passed"
        reason = ""
        try:
            if self.options.reset and self.target.has_control:
                resp = self.target.control.reset()
                if resp.status_code != 200:
                    raise StepError(f"POST /_sandbox/reset answered {resp.status_code}: {resp.text[:300]}")
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

    # ------------------------------------------------------------------------------------ one step
    def _run_step(self, scenario: Scenario, ctx: _Context, index: int, step: dict[str, Any]) -> Iterator[Event]:
        action = next(k for k in step if k in ACTIONS)
        label = str(step.get("name") or _default_label(action, step[action]))
        started = time.perf_counter()

        def done(outcome: Outcome, **kw: Any) -> StepFinished:
            return StepFinished(scenario.name, index, label, outcome, time.perf_counter() - started, **kw)

        try:
            spec = ctx.interpolate(step[action])
            if action == "clock" and not self.target.has_clock:
                yield from self._real_wait(scenario, index, spec)
                yield done("passed", request="(waited in real time: the target's clock cannot be moved)")
                return
            result = getattr(self, f"_do_{action}")(ctx, spec)
            expect = ctx.interpolate(step.get("expect") or {})
            failures = self._check(result, expect)
            if not failures and step.get("save"):
                for var, path in step["save"].items():
                    value = resolve(result.body, path)
                    if value is _MISSING:
                        failures.append(Failure(f"save {var}", f"no value at {path!r} in the response", path))
                    else:
                        ctx.vars[var] = value
        except SkipScenario as skip:
            yield done("skipped", reason=str(skip))
            return
        except StepError as exc:
            yield done("failed", reason=str(exc))
            return
        except requests.RequestException as exc:
            yield done("failed", reason=f"request failed: {exc}")
            return
        excerpt = ""
        if failures and result.response is not None:
            excerpt = _excerpt(result.body if result.body is not _MISSING else result.response.text)
        yield done(
            "failed" if failures else "passed",
            request=result.request,
            failures=tuple(failures),
            response_excerpt=excerpt,
        )

    def _check(self, result: _Result, expect: dict[str, Any]) -> list[Failure]:
        failures: list[Failure] = list(result.failures)
        resp = result.response
        if resp is not None:
            want = expect.get("status")
            if want is None:
                ok = resp.status_code in result.default_status if result.default_status else resp.ok
                if not ok:
                    failures.append(
                        Failure(
                            "status",
                            f"expected {'/'.join(map(str, result.default_status or ())) or 'a 2xx status'}, "
                            f"got {resp.status_code}",
                            result.default_status,
                            resp.status_code,
                            f"expected: {'2xx' if not result.default_status else result.default_status}\n"
                            f"actual:   {resp.status_code}",
                        )
                    )
            else:
                allowed = want if isinstance(want, list) else [want]
                if resp.status_code not in allowed:
                    failures.append(
                        Failure(
                            "status",
                            f"expected {' or '.join(map(str, allowed))}, got {resp.status_code}",
                            want,
                            resp.status_code,
                            f"expected: {' or '.join(map(str, allowed))}\nactual:   {resp.status_code}",
                        )
                    )
            for name, matcher in (expect.get("headers") or {}).items():
                value = resp.headers.get(name, _MISSING)
                failures.extend(check_value(f"header {name}", value, matcher))
        for path, matcher in (expect.get("json") or {}).items():
            try:
                actual = resolve(result.body, path)
            except ValueError as exc:
                failures.append(Failure(f"json {path}", str(exc)))
                continue
            failures.extend(check_value(f"json {path}", actual, matcher))
        return failures

    # ------------------------------------------------------------------------------------ HTTP helpers
    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _MISSING,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> _Result:
        t = self.target
        kwargs: dict[str, Any] = {"headers": headers or {}, "params": params, "timeout": 60}
        if json_body is not _MISSING:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data.encode() if isinstance(data, str) else data
        resp = t.http.request(method, t.base_url + path, **kwargs)
        return _as_result(resp)

    def _need_control(self, what: str) -> None:
        if not self.target.has_control:
            raise SkipScenario(f"{what} needs the /_sandbox control plane, which this target does not have")

    def _control_post(self, path: str, body: dict[str, Any]) -> _Result:
        self._need_control(f"POST /_sandbox{path}")
        return self._send("POST", f"/_sandbox{path}", json_body=body)

    def _require_ok(self, result: _Result, what: str) -> Any:
        resp = result.response
        if resp is None or not resp.ok:
            status = resp.status_code if resp is not None else "no response"
            raise StepError(f"{what}: {result.request or status} answered {status}: {_excerpt(result.body, 400)}")
        return result.body

    def _dakota_headers(self, api_key: str | None, idem: str | None, post: bool) -> dict[str, str]:
        headers = {"x-api-key": self.target.api_key(api_key)}
        if post and idem is not None:
            headers["x-idempotency-key"] = idem
        return headers

    # ------------------------------------------------------------------------------------ actions
    def _do_set(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        ctx.vars.update(spec)
        return _Result(None, dict(spec))

    def _do_donor(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        via = spec.get("via", "control")
        ttl = int(parse_duration(spec["ttl"])) if "ttl" in spec else None
        if via == "control":
            body: dict[str, Any] = {"profile": spec["profile"]}
            for src, dst in (("client_id", "client_id"), ("external_user_id", "external_user_id")):
                if src in spec:
                    body[dst] = spec[src]
            if "share_with" in spec:
                body["share_with"] = spec["share_with"]
            if ttl is not None:
                body["ttl_in_secs"] = ttl
            result = self._control_post("/donors", body)
        else:
            result = self._donor_over_sumsub(ctx, spec, ttl)
        if spec.get("as") and result.response is not None and result.response.ok:
            ctx.vars[spec["as"]] = result.body
        return result

    def _donor_over_sumsub(self, ctx: _Context, spec: dict[str, Any], ttl: int | None) -> _Result:
        """What a donor does: create the applicant, upload its documents, sandbox review, then mint."""
        from simulator.sumsub.profiles import fake_image, load_profiles

        profiles = load_profiles()
        name = spec["profile"]
        if name not in profiles:
            raise StepError(f"unknown profile {name!r}; known: {', '.join(sorted(profiles))}")
        prof = profiles[name]
        client_id = str(self.target.sumsub_credentials(spec.get("client_id"))["client_id"])
        api = self.target.sumsub_client(client_id)
        ext = spec.get("external_user_id") or f"{name}-{uuid.uuid4().hex[:12]}"
        body = {k: v for k, v in (("email", prof.get("email")), ("phone", prof.get("phone"))) if v}
        body.update({"externalUserId": ext, "type": prof.get("type", "individual")})
        body["fixedInfo"] = prof.get("fixedInfo", {})
        created = _as_result(api.create_applicant(prof.get("level", "basic-kyc-level"), body))
        applicant = self._require_ok(created, "create applicant")
        applicant_id = applicant["id"]
        for i, doc in enumerate(prof.get("idDocs", [])):
            up = _as_result(api.add_id_doc(applicant_id, doc, fake_image(f"{ext}:{i}:{doc.get('idDocType')}")))
            self._require_ok(up, f"upload {doc.get('idDocType')}")
        review = prof.get("review")
        if review:
            extra = {k: v for k, v in review.items() if k not in ("reviewAnswer", "rejectLabels")}
            done = api.test_completed(applicant_id, review["reviewAnswer"], review.get("rejectLabels"), **extra)
            self._require_ok(_as_result(done), "sandbox review (testCompleted)")
        out: dict[str, Any] = {
            "applicant_id": applicant_id,
            "client_id": client_id,
            "external_user_id": ext,
            "profile": name,
            "level_name": applicant.get("review", {}).get("levelName"),
        }
        last = created
        if "share_with" in spec:
            last = _as_result(api.generate_share_token(applicant_id, spec["share_with"], ttl))
            out["share_token"] = self._require_ok(last, "mint the share token")
        assert last.response is not None
        return _Result(last.response, out, last.request)

    def _do_mint(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        applicant_id = spec.get("applicant_id")
        client_id = spec.get("client_id")
        if "donor" in spec:
            donor = ctx.lookup(spec["donor"])
            if not isinstance(donor, dict) or "applicant_id" not in donor:
                raise StepError(f"mint: {spec['donor']} is not a donor (saved by a donor step with as:)")
            applicant_id = applicant_id or donor["applicant_id"]
            client_id = client_id or donor.get("client_id")
        for_client = spec.get("for_client_id") or self.target.dakota_client_id
        ttl = int(parse_duration(spec["ttl"])) if "ttl" in spec else None
        if spec.get("via", "control") == "control":
            body: dict[str, Any] = {"applicant_id": applicant_id, "for_client_id": for_client}
            if client_id:
                body["client_id"] = client_id
            if ttl is not None:
                body["ttl_in_secs"] = ttl
            result = self._control_post("/share-tokens", body)
        else:
            api = self.target.sumsub_client(client_id)
            result = _as_result(api.generate_share_token(str(applicant_id), for_client, ttl))
        if spec.get("as") and result.response is not None and result.response.ok:
            ctx.vars[spec["as"]] = result.body["token"]
        return result

    def _do_clock(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        if "advance" in spec:
            result = self._control_post("/clock/advance", {"seconds": parse_duration(spec["advance"])})
            if "freeze" in spec:
                self._require_ok(result, "advance the clock")
                result = self._control_post("/clock", {"frozen": bool(spec["freeze"])})
            return result
        body: dict[str, Any] = {}
        if "set" in spec:
            body["now"] = self._clock_target(spec["set"])
        if "freeze" in spec:
            body["frozen"] = bool(spec["freeze"])
        return self._control_post("/clock", body)

    def _clock_target(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("+"):
            return self.target.now() + parse_duration(value.strip()[1:])
        return value

    def _real_wait(self, scenario: Scenario, index: int, spec: dict[str, Any]) -> Iterator[Event]:
        """No controllable clock: wait for real (with Waiting events), or skip the rest of the scenario."""
        if "advance" in spec:
            seconds = parse_duration(spec["advance"])
        elif "set" in spec:
            value = spec["set"]
            if isinstance(value, str) and value.strip().startswith("+"):
                seconds = parse_duration(value.strip()[1:])
            else:
                from datetime import datetime

                when = (
                    float(value)
                    if isinstance(value, int | float)
                    else datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
                )
                seconds = max(0.0, when - time.time())
        else:
            if spec.get("freeze"):
                raise SkipScenario("the target's clock cannot be frozen (no /_sandbox/clock)")
            return
        if not self.options.wait:
            raise SkipScenario(f"clock step needs {seconds:.0f}s of real time and --no-wait was given")
        if seconds > self.options.max_wait:
            raise SkipScenario(
                f"clock step needs {seconds:.0f}s of real time, more than the {self.options.max_wait:.0f}s allowed"
            )
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            yield Waiting(scenario.name, index, seconds, max(0.0, left))
            if left <= 0:
                return
            time.sleep(min(0.25, left))

    def _tokens(self, ctx: _Context, items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, str):
                out.append(item)
                continue
            times = int(item.get("times", 1))
            if "token" in item:
                value = ctx.lookup(item["token"])
                if isinstance(value, dict):
                    value = (value.get("share_token") or {}).get("token") or value.get("token")
                if not isinstance(value, str):
                    raise StepError(f"{item['token']} is not a token (nor a donor with a share token)")
                out.extend([value] * times)
            elif "raw" in item:
                out.extend([item["raw"]] * times)
            else:
                style = item.get("style", "mixed")
                out.extend(junk_token(ctx.rnd, style) for _ in range(int(item["garbage"])))
        return out

    def _do_import(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        headers = self._dakota_headers(spec.get("api_key"), ctx.idempotency_key(spec.get("idempotency_key")), True)
        path = "/customers/bulk-import-sumsub-tokens"
        if "raw_body" in spec:
            headers["Content-Type"] = "application/json"
            result = self._send("POST", path, data=spec["raw_body"], headers=headers)
        elif "body" in spec:
            result = self._send("POST", path, json_body=spec["body"], headers=headers)
        else:
            result = self._send(
                "POST", path, json_body={"tokens": self._tokens(ctx, spec.get("tokens", []))}, headers=headers
            )
        if spec.get("as"):
            ctx.vars[spec["as"]] = result.body
        return result

    def _do_request(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        api = spec.get("api", "dakota")
        method = spec["method"]
        headers = dict(spec.get("headers") or {})
        if api == "sumsub":
            client = self.target.sumsub_client(spec.get("client_id"))
            data = spec.get("data")
            resp = client.request(
                method,
                spec["path"],
                params=spec.get("params"),
                json=spec.get("json"),
                data=data.encode() if isinstance(data, str) else None,
                headers=headers,
            )
            result = _as_result(resp)
        else:
            if api == "dakota":
                idem = ctx.idempotency_key(spec.get("idempotency_key")) if method == "POST" else None
                if "application" in spec:
                    headers.setdefault("X-Application-Token", self._app(ctx, spec["application"])["token"])
                    if idem:
                        headers.setdefault("x-idempotency-key", idem)
                    if "api_key" in spec:
                        headers.setdefault("x-api-key", self.target.api_key(spec["api_key"]))
                else:
                    headers = {**self._dakota_headers(spec.get("api_key"), idem, method == "POST"), **headers}
            elif api == "control":
                self._need_control(f"{method} {spec['path']}")
            result = self._send(
                method,
                spec["path"],
                json_body=spec.get("json", _MISSING),
                data=spec.get("data"),
                headers=headers,
                params=spec.get("params"),
            )
        if spec.get("as"):
            ctx.vars[spec["as"]] = result.body
        return result

    # ------------------------------------------------------------------------------------ applications
    def _app(self, ctx: _Context, name: str) -> dict[str, Any]:
        value = ctx.lookup(name)
        if not isinstance(value, dict) or "token" not in value or "application_id" not in value:
            raise StepError(f"{name} is not an application (saved by an application step)")
        return value

    def _get_application(self, app: dict[str, Any]) -> _Result:
        return self._send(
            "GET",
            f"/applications/{app['application_id']}",
            params={"include": "all"},
            headers={"X-Application-Token": app["token"]},
        )

    def _do_application(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        customer_id, application_id = spec.get("customer_id"), spec.get("application_id")
        if "from" in spec:
            batch = ctx.lookup(spec["from"])
            row = resolve(batch, f"results[{int(spec.get('row', 0))}]")
            if not isinstance(row, dict) or not row.get("success"):
                raise StepError(f"{spec['from']} row {spec.get('row', 0)} is not a successful import: {_short(row)}")
            customer_id, application_id = row["customer_id"], row["application_id"]
        if not customer_id or not application_id:
            raise StepError("application needs from: <import variable> or customer_id and application_id")
        customer = self._send("GET", f"/customers/{customer_id}", headers=self._dakota_headers(None, None, False))
        url = str(self._require_ok(customer, "read the customer").get("application_url", ""))
        if "token=" not in url:
            raise StepError(f"the customer's application_url carries no token: {url!r}")
        app = {"customer_id": customer_id, "application_id": application_id, "token": url.split("token=", 1)[1]}
        result = self._get_application(app)
        body = self._require_ok(result, "read the application")
        app["individual_id"] = resolve(body, "entities.primary_individual.id")
        ctx.vars[spec["as"]] = app
        return result

    def _do_details(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        app = self._app(ctx, spec["application"])
        if "body" in spec:
            body = spec["body"]
        else:
            current = self._require_ok(self._get_application(app), "read the application")
            body = details_from_entity(current["entities"]["primary_individual"])
            body = deep_merge(body, spec.get("set") or {})
            for key in spec.get("unset") or []:
                body.pop(key, None)
        return self._send(
            "PUT",
            f"/applications/{app['application_id']}/individual-details",
            json_body=body,
            headers={"X-Application-Token": app["token"]},
        )

    def _do_document(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        from simulator.sumsub.profiles import fake_image

        app = self._app(ctx, spec["application"])
        individual = app.get("individual_id")
        doc_type = spec.get("type", "source_of_wealth")
        country = spec.get("country")
        if country is None:
            current = self._require_ok(self._get_application(app), "read the application")
            ind = current["entities"]["primary_individual"]
            addr_country = (ind.get("address") or {}).get("country")
            country = addr_country if addr_country and addr_country != "ZZ" else (ind.get("nationalities") or ["US"])[0]
        body: dict[str, Any] = {
            "type": doc_type,
            "file_type": "png",
            "file_content": base64.b64encode(fake_image(f"{doc_type}:{uuid.uuid4()}")).decode(),
            "country": country,
            "filename": f"{doc_type}.png",
        }
        for key in ("id_number", "valid_until"):
            if key in spec:
                body[key] = spec[key]
        headers = {"X-Application-Token": app["token"]}
        idem = ctx.idempotency_key(spec.get("idempotency_key"))
        if idem:
            headers["x-idempotency-key"] = idem
        return self._send(
            "POST",
            f"/applications/{app['application_id']}/associated-individuals/{individual}/documents",
            json_body=body,
            headers=headers,
        )

    def _do_attest(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        app = self._app(ctx, spec["application"])
        base = int(self.target.now()) - 120
        result: _Result | None = None
        failures: list[str] = []
        for i, kind in enumerate(spec.get("types") or REQUIRED_ATTESTATIONS):
            body = {"attestation_type": kind, "timestamp": base + i, "applicant_id": app.get("individual_id")}
            result = self._send(
                "POST",
                f"/applications/{app['application_id']}/attestations",
                json_body=body,
                headers={"X-Application-Token": app["token"], "x-idempotency-key": str(uuid.uuid4())},
            )
            assert result.response is not None
            if not result.response.ok:
                failures.append(f"{kind}: {result.response.status_code}")
                break  # later attestations depend on this one (e_sign first)
        assert result is not None
        result.request = f"{result.request} ({', '.join(failures) or 'all answered 204'})"
        return result

    def _do_submit(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        app = self._app(ctx, spec["application"])
        headers = {"X-Application-Token": app["token"]}
        idem = ctx.idempotency_key(spec.get("idempotency_key"))
        if idem:
            headers["x-idempotency-key"] = idem
        return self._send("POST", f"/applications/{app['application_id']}/submissions", json_body={}, headers=headers)

    def _do_review(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        app = self._app(ctx, spec["application"])
        body: dict[str, Any] = {
            "type": spec.get("type", "kyc_approve"),
            "applicant_id": app["application_id"],
            "simulation_id": f"scenario-{uuid.uuid4().hex[:12]}",
        }
        for key in ("reason_code", "info_request_fields"):
            if key in spec:
                body[key] = spec[key]
        headers = self._dakota_headers(spec.get("api_key"), str(uuid.uuid4()), True)
        return self._send("POST", "/sandbox/simulate/onboarding", json_body=body, headers=headers)

    def _do_token_status(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        self._need_control("token_status")
        token = spec["token"]
        return self._send("GET", "/_sandbox/share-tokens", params={"token": token})

    # ------------------------------------------------------------------------------------ webhooks
    def _do_receiver(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        from simulator.harness.receiver import WebhookReceiver

        rx = WebhookReceiver().start()
        if spec.get("script"):
            rx.script(*spec["script"])
        ctx.receivers[spec["as"]] = rx
        ctx.vars[spec["as"]] = {"url": rx.url}
        return _Result(None, {"url": rx.url})

    def _receiver(self, ctx: _Context, name: str) -> Any:
        if name not in ctx.receivers:
            raise StepError(f"no receiver named {name!r} (start one with a receiver step)")
        return ctx.receivers[name]

    def _do_webhook_target(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        rx = self._receiver(ctx, spec["receiver"])
        body: dict[str, Any] = {"url": rx.url, "global": spec.get("global", True)}
        if "event_types" in spec:
            body["event_types"] = spec["event_types"]
        headers = self._dakota_headers(spec.get("api_key"), str(uuid.uuid4()), True)
        return self._send("POST", "/webhooks/targets", json_body=body, headers=headers)

    def _do_sumsub_webhook(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        rx = self._receiver(ctx, spec["receiver"])
        body = {"client_id": spec["client_id"], "url": rx.url}
        if "secret" in spec:
            body["secret"] = spec["secret"]
        return self._control_post("/sumsub/webhooks", body)

    def _do_expect_webhooks(self, ctx: _Context, spec: dict[str, Any]) -> _Result:
        rx = self._receiver(ctx, spec["receiver"])
        wanted = list(spec["types"])
        timeout = parse_duration(spec.get("timeout", self.options.webhook_timeout))
        deadline = time.monotonic() + timeout
        while True:
            if self.target.has_control:
                self.target.http.post(self.target.base_url + "/_sandbox/webhooks/dispatch", json={}, timeout=60)
            received = [_hook_body(r) for r in list(rx.received)]
            got = [str(b.get("type")) if isinstance(b, dict) else "?" for b in received]
            if _arrived(wanted, got, bool(spec.get("in_order"))) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        body = {"types": got, "received": received}
        result = _Result(None, body, f"webhooks at {rx.url}: {len(got)} received")
        if not _arrived(wanted, got, bool(spec.get("in_order"))):
            missing = list((Counter(wanted) - Counter(got)).elements())
            order = " in this order" if spec.get("in_order") else ""
            failure = Failure(
                "webhooks",
                f"expected {', '.join(wanted)}{order} within {timeout:.0f}s; "
                + (f"missing {', '.join(missing)}" if missing else "wrong order"),
                wanted,
                got,
                structural_diff(sorted(wanted) if not spec.get("in_order") else wanted, got),
            )
            result.failures.append(failure)
        if spec.get("verify_signatures"):
            key = self._send("GET", "/_sandbox/webhooks/public-key") if self.target.has_control else None
            if key is not None and key.response is not None and key.response.ok:
                public = key.body.get("public_key_hex", "")
                bad = [
                    b.get("type")
                    for r, b in zip(list(rx.received), received, strict=False)
                    if r.header("X-Webhook-Signature") and not r.verify_dakota(public)
                ]
                if bad:
                    result.failures.append(Failure("webhook signatures", f"bad Ed25519 signature on {bad}", [], bad))
        return result


def _arrived(wanted: list[str], got: list[str], in_order: bool) -> bool:
    if not in_order:
        return not (Counter(wanted) - Counter(got))
    it = iter(got)
    return all(any(g == w for g in it) for w in wanted)


def _hook_body(received: Any) -> Any:
    try:
        return received.json()
    except ValueError:
        return None


def details_from_entity(ind: dict[str, Any]) -> dict[str, Any]:
    """An IndividualRequest from the imported entity plus Dakota's Step-3 fields (employment, purpose, wealth)."""
    name: dict[str, Any] = {"first": ind.get("first_name"), "last": ind.get("last_name")}
    if ind.get("middle_name"):
        name["middle"] = ind["middle_name"]
    body: dict[str, Any] = {
        "roles": ["individual"],
        "name": name,
        "date_of_birth": ind.get("date_of_birth"),
        "nationalities": ind.get("nationalities"),
        "address": ind.get("address"),
        "email_address": ind.get("email_address"),
        "employment_status": "employed",
        "purpose_of_account": ["investing"],
        "source_of_wealth": ["employment"],
    }
    if ind.get("ssn"):
        body["ssn"] = ind["ssn"]
    return {k: v for k, v in body.items() if v is not None}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _as_result(resp: requests.Response) -> _Result:
    try:
        body: Any = resp.json() if resp.content else _MISSING
    except ValueError:
        body = resp.text
    req = resp.request
    path = urlsplit(req.url or "").path if req is not None else ""
    return _Result(resp, body, f"{req.method if req is not None else ''} {path} → {resp.status_code}")


def _excerpt(body: Any, limit: int = 1200) -> str:
    text = body if isinstance(body, str) else _pretty(body)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text)} chars)"


def _default_label(action: str, spec: Any) -> str:
    if not isinstance(spec, dict):
        return action
    hint = next(
        (
            str(spec[k])
            for k in ("profile", "advance", "set", "method", "type", "as", "application", "receiver", "token")
            if k in spec and not isinstance(spec[k], dict | list)
        ),
        "",
    )
    if action == "request":
        hint = f"{spec.get('method', '')} {spec.get('path', '')}"
    if action == "clock":
        hint = " ".join(f"{k} {v}" for k, v in spec.items())
    if action == "import" and isinstance(spec.get("tokens"), list):
        hint = f"{len(spec['tokens'])} token item(s)"
    return f"{action} {hint}".strip()


# ============================================================================================== JUnit XML
def junit_xml(run: RunFinished, suite: str = "kyc-sandbox scenarios") -> str:
    """One <testcase> per scenario; a failure carries the failing step's full report."""
    root = ET.Element("testsuites")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(run.results)),
        failures=str(run.count("failed")),
        skipped=str(run.count("skipped")),
        errors="0",
        time=f"{run.duration:.3f}",
    )
    for r in run.results:
        case = ET.SubElement(
            ts, "testcase", classname=f"scenarios.{r.ident}", name=r.scenario, time=f"{r.duration:.3f}"
        )
        if r.path:
            case.set("file", r.path)
        if r.outcome == "failed":
            step = r.failed_step
            message = step.failures[0].message if step and step.failures else (step.reason if step else r.reason)
            el = ET.SubElement(case, "failure", message=message or "failed", type="ScenarioFailure")
            el.text = step.report() if step else r.reason
        elif r.outcome == "skipped":
            ET.SubElement(case, "skipped", message=r.reason or "skipped")
        out = "\n".join(f"{s.outcome:7} step {s.index + 1}: {s.label}  {s.request}" for s in r.steps)
        ET.SubElement(case, "system-out").text = out
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
