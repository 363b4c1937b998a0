"""What a step handler works with: the scenario's variables, the target, the run's options and HTTP helpers."""

from __future__ import annotations

import copy
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from simulator.harness.scenarios.errors import SkipScenario, StepError
from simulator.harness.scenarios.events import Failure
from simulator.harness.scenarios.matchers import MISSING, as_text, excerpt, parse_path, resolve_parts, short
from simulator.harness.scenarios.target import Target

if TYPE_CHECKING:
    from simulator.harness.receiver import WebhookReceiver

_VAR = re.compile(r"\$\{([^}]+)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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


@dataclass
class RunOptions:
    wait: bool = True  # on a target without a controllable clock, clock steps wait for real (else: skipped)
    max_wait: float = 1800.0  # longer real waits are skipped
    reset: bool = True  # POST /_sandbox/reset before each scenario (when there is a control plane)
    webhook_timeout: float = 10.0


@dataclass
class Result:
    """What one step's action produced: the response (for expect/save) and its JSON body."""

    response: requests.Response | None
    body: Any = MISSING
    request: str = ""
    default_status: tuple[int, ...] | None = None  # checked when the step has no expect.status (None: any 2xx)
    failures: list[Failure] = field(default_factory=list)  # the action's own checks (webhooks arrived ...)


@dataclass(frozen=True)
class RealWait:
    """A clock step on a target whose clock cannot move: the runner waits `seconds` of real time (None: nothing)."""

    seconds: float | None


def as_result(resp: requests.Response) -> Result:
    """A response as a step result: its JSON body (else its text) and `METHOD /path → status`."""
    try:
        body: Any = resp.json() if resp.content else MISSING
    except ValueError:
        body = resp.text
    req = resp.request
    path = urlsplit(req.url or "").path if req is not None else ""
    return Result(resp, body, f"{req.method if req is not None else ''} {path} → {resp.status_code}")


class Context:
    """One scenario's run: its variables, idempotency keys, webhook receivers and seeded randomness."""

    def __init__(self, target: Target, options: RunOptions, ident: str) -> None:
        self.target = target
        self.options = options
        self.vars: dict[str, Any] = {}
        self.keys: dict[str, str] = {}
        self.receivers: dict[str, WebhookReceiver] = {}
        # Seeded by the scenario's id, so its junk tokens are the same on every run.
        seed = int.from_bytes(ident.encode()[:8].ljust(8, b"\0"), "big")
        self.rnd = random.Random(seed)

    # ------------------------------------------------------------------------------------ variables
    def lookup(self, expr: str) -> Any:
        """The value of `name.path[0].field` among the saved variables; StepError naming what is defined."""
        expr = expr.strip()
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expr)
        if name is None or name.group(0) not in self.vars:
            known = ", ".join(sorted(self.vars)) or "none yet"
            raise StepError(f"unknown variable ${{{expr}}} (defined: {known})")
        value = resolve_parts(self.vars[name.group(0)], parse_path(expr[name.end() :]))
        if value is MISSING:
            raise StepError(f"${{{expr}}}: no value at that path in {short(self.vars[name.group(0)], 200)}")
        return value

    def interpolate(self, value: Any) -> Any:
        """`${...}` replaced throughout; a string that is only `${...}` becomes the value itself."""
        if isinstance(value, str):
            whole = _VAR.fullmatch(value)
            if whole:
                return copy.deepcopy(self.lookup(whole.group(1)))
            return _VAR.sub(lambda m: as_text(self.lookup(m.group(1))), value)
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

    def application(self, name: str) -> dict[str, Any]:
        """The application saved by an application step under `name`."""
        value = self.lookup(name)
        if not isinstance(value, dict) or "token" not in value or "application_id" not in value:
            raise StepError(f"{name} is not an application (saved by an application step)")
        return value

    def close(self) -> None:
        for rx in self.receivers.values():
            rx.stop()
        self.receivers.clear()

    # ------------------------------------------------------------------------------------ HTTP
    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = MISSING,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Result:
        """One request to the target; a JSON body unless `json_body` is MISSING (then `data`, if any)."""
        t = self.target
        kwargs: dict[str, Any] = {"headers": headers or {}, "params": params, "timeout": 60}
        if json_body is not MISSING:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data.encode() if isinstance(data, str) else data
        resp = t.http.request(method, t.base_url + path, **kwargs)
        return as_result(resp)

    def need_control(self, what: str) -> None:
        """Skip the rest of the scenario when the target has no control plane."""
        if not self.target.has_control:
            raise SkipScenario(f"{what} needs the /_sandbox control plane, which this target does not have")

    def control_post(self, path: str, body: dict[str, Any]) -> Result:
        self.need_control(f"POST /_sandbox{path}")
        return self.send("POST", f"/_sandbox{path}", json_body=body)

    def require_ok(self, result: Result, what: str) -> Any:
        """The body of a setup request that must succeed; StepError with the response otherwise."""
        resp = result.response
        if resp is None or not resp.ok:
            status = resp.status_code if resp is not None else "no response"
            raise StepError(f"{what}: {result.request or status} answered {status}: {excerpt(result.body, 400)}")
        return result.body

    def dakota_headers(self, api_key: str | None, idem: str | None, post: bool) -> dict[str, str]:
        """x-api-key (a role's seeded key or a literal), plus x-idempotency-key on a POST."""
        headers = {"x-api-key": self.target.api_key(api_key)}
        if post and idem is not None:
            headers["x-idempotency-key"] = idem
        return headers
