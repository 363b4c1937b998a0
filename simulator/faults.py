"""Fault injection and vendor rate limits, configured on the control plane and applied to API requests.

A fault rule matches requests (API, method, path regex) or an internal step (`internal` API: `dakota.import_row`,
the per-token Sumsub round trip of a bulk import) and injects latency (fixed or sampled from a distribution),
a forced status, or a connection reset. Decisions are reproducible: the n-th match of a rule draws from
`Random(f"{seed}:{rule_id}:{n}")`, with n counted in the store, so every worker and every rerun agrees.

Rate limits count requests per caller and window on the simulated clock (advance it to open a new window).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, delete
from sqlalchemy.orm import Mapped, mapped_column

from simulator.core.errors import ControlError
from simulator.core.runtime import Runtime
from simulator.core.store import Base
from simulator.core.tx import Tx

FAULTS_STATE = "faults"
LIMITS_STATE = "rate_limits"
APIS = ("sumsub", "dakota", "dashboard", "internal")
INTERNAL_STEPS = ("dakota.import_row",)
DEFAULT_LIMITS: dict[str, dict[str, Any]] = {
    # Sumsub documents 300 GET and 50 POST per 5 s by default.
    "sumsub": {"enabled": False, "window_seconds": 5, "get": 300, "post": 50},
    # Dakota limits per API key per minute; the numbers are not published.
    "dakota": {"enabled": False, "window_seconds": 60, "get": 600, "post": 120},
}


class FaultCounter(Base):
    """How often a fault rule matched, and requests per rate-limit window (shared by all workers)."""

    __tablename__ = "sandbox_counters"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Injection:
    """What to do to one request."""

    rule_id: str
    latency_ms: float = 0.0
    status: int | None = None
    reset: bool = False

    def describe(self) -> str:
        parts = [f"fault {self.rule_id}"]
        if self.latency_ms:
            parts.append(f"latency {self.latency_ms:.0f}ms")
        if self.status:
            parts.append(f"status {self.status}")
        if self.reset:
            parts.append("connection reset")
        return ": ".join(parts[:1]) + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")


@dataclass(frozen=True)
class Limited:
    """A request over its rate limit, with the headers the vendor sends."""

    api: str
    limit: int
    reset_at: int
    retry_after: int


def _num(rule: dict[str, Any], key: str, low: float, high: float) -> float:
    v = rule.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high or math.isnan(v):
        raise ControlError(f"{key} must be a number between {low} and {high}", field=key)
    return float(v)


def _id(raw: dict[str, Any], index: int) -> str:
    rule_id = raw.get("id") or f"rule-{index + 1}"
    if not isinstance(rule_id, str) or len(rule_id) > 64:
        raise ControlError("id must be a string of at most 64 characters", field="id")
    return rule_id


def _api(raw: dict[str, Any]) -> str | None:
    api = raw.get("api")
    if api is not None and api not in APIS:
        raise ControlError(f"api must be one of {', '.join(APIS)}", field="api")
    return api


def _method(raw: dict[str, Any]) -> str | None:
    method = raw.get("method")
    if method is None:
        return None
    if not isinstance(method, str) or method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise ControlError("method must be GET, POST, PUT, PATCH or DELETE", field="method")
    return method.upper()


def _path(raw: dict[str, Any], api: str | None) -> str | None:
    path = raw.get("path")
    if path is None:
        return None
    if not isinstance(path, str) or len(path) > 500:
        raise ControlError("path must be a regular expression string", field="path")
    try:
        re.compile(path)
    except re.error as exc:
        raise ControlError(f"path is not a valid regular expression: {exc}", field="path") from None
    if api == "internal" and path not in INTERNAL_STEPS:
        raise ControlError(f"internal steps are: {', '.join(INTERNAL_STEPS)}", field="path")
    return path


def _latency(raw: dict[str, Any]) -> dict[str, Any] | None:
    latency = raw.get("latency")
    if latency is None:
        return None
    if not isinstance(latency, dict):
        raise ControlError("latency must be an object", field="latency")
    dist = latency.get("distribution", "fixed")
    if dist == "fixed":
        _num(latency, "ms", 0, 60_000)
    elif dist == "uniform":
        if _num(latency, "min_ms", 0, 60_000) > _num(latency, "max_ms", 0, 60_000):
            raise ControlError("min_ms must not exceed max_ms", field="latency")
    elif dist in ("normal", "exponential"):
        _num(latency, "mean_ms", 0, 60_000)
        if dist == "normal":
            _num(latency, "stddev_ms", 0, 60_000)
    else:
        raise ControlError("latency.distribution must be fixed, uniform, normal or exponential", field="latency")
    return {**latency, "distribution": dist}


def _status(raw: dict[str, Any]) -> int | None:
    status = raw.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise ControlError("status must be an HTTP error status (400-599)", field="status")
    return status


def _reset(raw: dict[str, Any]) -> bool:
    reset = raw.get("reset", False)
    if not isinstance(reset, bool):
        raise ControlError("reset must be true or false", field="reset")
    return reset


def _times(raw: dict[str, Any]) -> int | None:
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ControlError("times must be a positive integer (how many matches the rule applies to)", field="times")
    return times


RULE_FIELDS = ("id", "api", "method", "path", "latency", "status", "reset", "probability", "times")


def validate_rule(raw: Any, index: int) -> dict[str, Any]:
    """One fault rule as the control plane stores it, or a ControlError naming the field that is wrong."""
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise ControlError(f"{where} must be an object", field=where)
    unknown = sorted(k for k in raw if k not in RULE_FIELDS)
    if unknown:
        # e.g. `latency_ms: 250`: latency is an object, {"ms": 250}; an ignored key would silently do nothing
        raise ControlError(
            f"{where} has unknown field(s) {', '.join(unknown)}; a rule takes {', '.join(RULE_FIELDS)}", field=where
        )
    api = _api(raw)
    rule: dict[str, Any] = {
        "id": _id(raw, index),
        "api": api,
        "method": _method(raw),
        "path": _path(raw, api),
    }
    latency = _latency(raw)
    if latency is not None:
        rule["latency"] = latency
    rule["status"] = status = _status(raw)
    rule["reset"] = reset = _reset(raw)
    if api == "internal" and (status or reset):
        raise ControlError("internal steps take latency only", field="status")
    rule["probability"] = _num(raw, "probability", 0, 1) if "probability" in raw else 1.0
    rule["times"] = _times(raw)
    if not (latency or status or reset):
        raise ControlError("a rule needs latency, status or reset", field=where)
    return rule


class Faults:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _settings(self) -> tuple[dict[str, Any], dict[str, Any]]:
        # Checked on every API request. Cached per process until the store's change signal moves (see
        # `Store.cached_state`): a rule set by a scenario step applies to the very next request, whichever worker
        # serves it, or seeded fault runs would not reproduce.
        def load(tx: Tx) -> tuple[dict[str, Any], dict[str, Any]]:
            st = self.rt.store.cached_state(tx, FAULTS_STATE, LIMITS_STATE)
            return _config(st[FAULTS_STATE]), _limits(st[LIMITS_STATE])

        return self.rt.store.cached(None, "faults:settings", load)  # parsed once per change, not per request

    # ------------------------------------------------------------------ configuration
    def config(self, tx: Tx) -> dict[str, Any]:
        return _config(self.rt.store.get_state(tx, FAULTS_STATE))

    def configure(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        rules_raw = body.get("rules", [])
        if not isinstance(rules_raw, list) or len(rules_raw) > 50:
            raise ControlError("rules must be a list of at most 50 rules", field="rules")
        rules = [validate_rule(r, i) for i, r in enumerate(rules_raw)]
        if len({r["id"] for r in rules}) != len(rules):
            raise ControlError("rule ids must be unique", field="rules")
        seed = body.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ControlError("seed must be an integer", field="seed")
        self.rt.store.put_state(tx, FAULTS_STATE, {"seed": seed, "rules": rules})
        tx.execute(delete(FaultCounter).where(FaultCounter.key.like("fault:%")))
        return self.config(tx)

    def limits(self, tx: Tx) -> dict[str, Any]:
        return _limits(self.rt.store.get_state(tx, LIMITS_STATE))

    def configure_limits(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        current = self.limits(tx)
        for api, conf in body.items():
            if api not in DEFAULT_LIMITS or not isinstance(conf, dict):
                raise ControlError('configure sumsub and/or dakota: {"enabled", "get", "post"}', field=api)
            for k, v in conf.items():
                if k == "enabled":
                    if not isinstance(v, bool):
                        raise ControlError(f"{api}.enabled must be true or false", field=f"{api}.enabled")
                elif k in ("get", "post", "window_seconds"):
                    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
                        raise ControlError(f"{api}.{k} must be a positive integer", field=f"{api}.{k}")
                else:
                    raise ControlError(f"unknown rate-limit field {api}.{k}", field=f"{api}.{k}")
                current[api][k] = v
        self.rt.store.put_state(tx, LIMITS_STATE, current)
        tx.execute(delete(FaultCounter).where(FaultCounter.key.like("rate:%")))
        return current

    # ------------------------------------------------------------------ applying
    def _bump(self, tx: Tx, key: str) -> int:
        row = tx.get(FaultCounter, key, for_update=True)
        if row is None:
            row = FaultCounter(key=key, count=0)
            tx.add(row)
        row.count += 1
        tx.flush()
        return row.count

    def check(
        self, api: str, method: str, path: str, caller: str | None
    ) -> tuple[Injection | None, Limited | None, dict[str, str]]:
        """Faults and rate limits for one API request: (injection, over-limit, rate-limit headers)."""
        conf, limits = self._settings()
        injection = self._decide(conf, api, method, path)
        limit_conf = limits.get(api)
        if not limit_conf or not limit_conf["enabled"] or not caller:
            return injection, None, {}
        over, headers = self._count(api, method, caller, limit_conf)
        return injection, over, headers

    def decide(self, api: str, method: str, path: str) -> Injection | None:
        """The injection for this request (or internal step), if a rule matches and its draw says so."""
        return self._decide(self._settings()[0], api, method, path)

    def has_rules_for(self, api: str, path: str) -> bool:
        return any(_matches(r, api, "", path) for r in self._settings()[0]["rules"])

    def _decide(self, conf: dict[str, Any], api: str, method: str, path: str) -> Injection | None:
        rules = [r for r in conf["rules"] if _matches(r, api, method, path)]
        if not rules:
            return None
        with self.rt.store.write() as tx:
            for rule in rules:
                n = self._bump(tx, f"fault:{rule['id']}")
                if rule["times"] is not None and n > rule["times"]:
                    continue
                rng = random.Random(f"{conf['seed']}:{rule['id']}:{n}")
                if rng.random() >= rule["probability"]:
                    continue
                return Injection(
                    rule_id=rule["id"],
                    latency_ms=_sample(rule.get("latency"), rng),
                    status=rule.get("status"),
                    reset=bool(rule.get("reset")),
                )
        return None

    def _count(self, api: str, method: str, caller: str, conf: dict[str, Any]) -> tuple[Limited | None, dict[str, str]]:
        """Count this request against its caller's window."""
        kind = "get" if method == "GET" else "post"
        limit = int(conf[kind])
        window = int(conf["window_seconds"])
        with self.rt.store.write() as tx:
            now = self.rt.clock.now(tx)
            start = int(now // window) * window
            count = self._bump(tx, f"rate:{api}:{kind}:{caller[:120]}:{start}")
        reset_at = start + window
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
            "X-RateLimit-Reset": str(reset_at),
        }
        if count <= limit:
            return None, headers
        retry = max(1, math.ceil(reset_at - now))
        return Limited(api=api, limit=limit, reset_at=reset_at, retry_after=retry), {
            **headers,
            "Retry-After": str(retry),
        }


def _config(state: dict[str, Any] | None) -> dict[str, Any]:
    state = state or {}
    return {"seed": state.get("seed", 0), "rules": state.get("rules", [])}


def _limits(state: dict[str, Any] | None) -> dict[str, Any]:
    state = state or {}
    return {api: {**DEFAULT_LIMITS[api], **state.get(api, {})} for api in DEFAULT_LIMITS}


def _matches(rule: dict[str, Any], api: str, method: str, path: str) -> bool:
    if rule.get("api") and rule["api"] != api:
        return False
    if rule.get("api") is None and api == "internal":
        return False  # internal steps only match rules that name them
    if rule.get("method") and rule["method"] != method:
        return False
    return not (rule.get("path") and re.fullmatch(rule["path"], path) is None)


def _sample(latency: dict[str, Any] | None, rng: random.Random) -> float:
    if not latency:
        return 0.0
    dist = latency["distribution"]
    if dist == "fixed":
        return float(latency["ms"])
    if dist == "uniform":
        return rng.uniform(float(latency["min_ms"]), float(latency["max_ms"]))
    if dist == "normal":
        return max(0.0, rng.gauss(float(latency["mean_ms"]), float(latency["stddev_ms"])))
    return rng.expovariate(1.0 / float(latency["mean_ms"])) if latency["mean_ms"] else 0.0
