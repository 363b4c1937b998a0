"""The bulk import of share tokens (junk ones on demand) and raw requests to Dakota, Sumsub or the control plane."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from simulator.harness.scenarios.errors import StepError
from simulator.harness.scenarios.matchers import MISSING
from simulator.harness.scenarios.steps.context import Context, Result, as_result
from simulator.harness.scenarios.steps.registry import step

IMPORT_PATH = "/customers/bulk-import-sumsub-tokens"


def _malformed(rnd: random.Random) -> str:
    return "not-a-share-token-" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


def _valid_looking(rnd: random.Random) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = json.dumps({"jti": f"_act-sbx-{uuid.UUID(int=rnd.getrandbits(128), version=4)}"})
    body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"_act-sbx-jwt-{header}.{body}."


def _unicode(rnd: random.Random) -> str:
    alphabet = "токенΣύμβολο令牌토큰🙂🔑émoji\u200b"
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(4, 24)))


def _huge(rnd: random.Random) -> str:
    return "_act-sbx-jwt-" + "A" * rnd.randint(1100, 4000)  # past Sumsub's < 1 KB tokens


_JUNK: dict[str, Callable[[random.Random], str]] = {
    "malformed": _malformed,
    "valid-looking": _valid_looking,
    "unicode": _unicode,
    "huge": _huge,
    "empty": lambda _rnd: "",
}


def junk_token(rnd: random.Random, style: str) -> str:
    """A token no sandbox has issued: malformed, valid-looking, unicode, huge or empty (`mixed`: any but empty)."""
    if style == "mixed":
        style = rnd.choice(["malformed", "valid-looking", "unicode", "huge"])
    if style not in _JUNK:
        raise StepError(f"unknown garbage style {style!r}")
    return _JUNK[style](rnd)


def _tokens(ctx: Context, items: list[Any]) -> list[Any]:
    """The `tokens` list: literal strings, saved tokens (or donors), raw values and junk, each `times` over."""
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


def _import_hint(spec: dict[str, Any]) -> str | None:
    return f"{len(spec['tokens'])} token item(s)" if isinstance(spec.get("tokens"), list) else None


@step("import", hint=_import_hint)
def import_tokens(ctx: Context, spec: dict[str, Any]) -> Result:
    """POST /customers/bulk-import-sumsub-tokens with `tokens`, a `body`, or a `raw_body` sent as is."""
    headers = ctx.dakota_headers(spec.get("api_key"), ctx.idempotency_key(spec.get("idempotency_key")), True)
    if "raw_body" in spec:
        headers["Content-Type"] = "application/json"
        result = ctx.send("POST", IMPORT_PATH, data=spec["raw_body"], headers=headers)
    elif "body" in spec:
        result = ctx.send("POST", IMPORT_PATH, json_body=spec["body"], headers=headers)
    else:
        body = {"tokens": _tokens(ctx, spec.get("tokens", []))}
        result = ctx.send("POST", IMPORT_PATH, json_body=body, headers=headers)
    if spec.get("as"):
        ctx.vars[spec["as"]] = result.body
    return result


def _request_hint(spec: dict[str, Any]) -> str:
    return f"{spec.get('method', '')} {spec.get('path', '')}"


@step("request", hint=_request_hint)
def send_request(ctx: Context, spec: dict[str, Any]) -> Result:
    """Any request: to Dakota (with its keys), to Sumsub (signed) or to the control plane."""
    api = spec.get("api", "dakota")
    if api == "sumsub":
        result = _sumsub_request(ctx, spec)
    else:
        method = spec["method"]
        headers = dict(spec.get("headers") or {})
        if api == "dakota":
            headers = _with_dakota_headers(ctx, spec, headers)
        elif api == "control":
            ctx.need_control(f"{method} {spec['path']}")
        result = ctx.send(
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


def _sumsub_request(ctx: Context, spec: dict[str, Any]) -> Result:
    client = ctx.target.sumsub_client(spec.get("client_id"))
    data = spec.get("data")
    resp = client.request(
        spec["method"],
        spec["path"],
        params=spec.get("params"),
        json=spec.get("json"),
        data=data.encode() if isinstance(data, str) else None,
        headers=dict(spec.get("headers") or {}),
    )
    return as_result(resp)


def _with_dakota_headers(ctx: Context, spec: dict[str, Any], headers: dict[str, str]) -> dict[str, str]:
    """The step's headers plus Dakota's: an application's token, or an API key; an idempotency key on a POST."""
    method = spec["method"]
    idem = ctx.idempotency_key(spec.get("idempotency_key")) if method == "POST" else None
    if "application" not in spec:
        return {**ctx.dakota_headers(spec.get("api_key"), idem, method == "POST"), **headers}
    headers.setdefault("X-Application-Token", ctx.application(spec["application"])["token"])
    if idem:
        headers.setdefault("x-idempotency-key", idem)
    if "api_key" in spec:
        headers.setdefault("x-api-key", ctx.target.api_key(spec["api_key"]))
    return headers
