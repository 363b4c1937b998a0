"""The runner: each scenario from a reset sandbox, each step an action, its expect and save; yields events."""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
from simulator.harness.scenarios.matchers import (
    MISSING,
    as_text,
    check_value,
    parse_path,
    pretty,
    resolve,
    resolve_parts,
    short,
    structural_diff,
)
from simulator.harness.scenarios.model import ACTIONS, Scenario
from simulator.harness.scenarios.target import Target

REQUIRED_ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")
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
    body: Any = MISSING
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
        value = resolve_parts(self.vars[name.group(0)], parse_path(expr[name.end() :]))
        if value is MISSING:
            raise StepError(f"${{{expr}}}: no value at that path in {short(self.vars[name.group(0)], 200)}")
        return value

    def interpolate(self, value: Any) -> Any:
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
                    if value is MISSING:
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
            excerpt = _excerpt(result.body if result.body is not MISSING else result.response.text)
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
                value = resp.headers.get(name, MISSING)
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
        json_body: Any = MISSING,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> _Result:
        t = self.target
        kwargs: dict[str, Any] = {"headers": headers or {}, "params": params, "timeout": 60}
        if json_body is not MISSING:
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
                json_body=spec.get("json", MISSING),
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
                raise StepError(f"{spec['from']} row {spec.get('row', 0)} is not a successful import: {short(row)}")
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
        body: Any = resp.json() if resp.content else MISSING
    except ValueError:
        body = resp.text
    req = resp.request
    path = urlsplit(req.url or "").path if req is not None else ""
    return _Result(resp, body, f"{req.method if req is not None else ''} {path} → {resp.status_code}")


def _excerpt(body: Any, limit: int = 1200) -> str:
    text = body if isinstance(body, str) else pretty(body)
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
