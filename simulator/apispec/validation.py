"""Request validation driven by the contracts: compiled once at start-up, run before each operation.

For a request to an operation of `contracts/openapi/{sumsub,dakota,control}.yaml`, the hook validates the path,
query and header parameters (coerced from strings by their schema's type) and the JSON body against the contract,
and answers 400 in that provider's envelope naming each field that failed:

- Dakota: problem details with `errors: [{field, message, code}]` (`field` is a dot path, `tokens[1]`, or a
  parameter name);
- Sumsub: `{description, code, correlationId}` with the field in `description`;
- control plane: `{"error": {status, message, field}}`.

Rules that keep it honest:

- Authentication comes first. The Sumsub hook runs after the blueprint's signature check (over the raw body). For
  Dakota, whose operations authenticate inside the view, a request that fails validation is first put through the
  operation's credential check (`x-api-key`, `X-Application-Token`, and the role or permission the operation
  declares with `x-sandbox-roles` / `x-sandbox-permission`), so a request without credentials is 401, not 400.
- Messages: a schema (or parameter) may carry `x-error-messages` and `x-error-codes` keyed by the failing JSON Schema
  keyword (`required`, `type`, `minItems`, ...), and `x-error-field` to report an item's error at its array; the
  service's own texts are reproduced that way. Otherwise the message is `<field>: <JSON Schema message>`.
- Text: a string (or key) the store cannot hold, a lone UTF-16 surrogate or NUL, is a 400 naming its field
  (`simulator.core.text`), before the schema is checked; `x-sandbox-per-row: <field>` leaves that field's strings to
  the operation (the bulk import's tokens: such a token is a failed row).
- An empty body, or one that is not JSON at all, is left to the operation (it answers 400 in its own words).
- One owner per rule: shapes, types, enums, patterns and their texts live here (the contracts); the services
  receive the validated body and keep what a schema cannot say (age, real country codes, an SSN for US persons,
  level compatibility, the guide's row errors).

Lookup is a dict for literal paths and a few precompiled regexes per (method, segment count) for templated ones;
validators are compiled once per schema and reused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from simulator.core.ids import canonical_uuid
from simulator.core.text import BodyError, UnstorableText, decode_json

URN = "urn:kyc-sandbox:contract:"
# ECMA-262's classes (JSON Schema's regex dialect), which are ASCII: Python's \d and \w also match other scripts'
# digits and letters ("١٢٣" would pass ^\d{3}$, and int() reads it as 123).
_ECMA_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_"}
_ECMA_NEGATED = {"D": "[^0-9]", "W": "[^A-Za-z0-9_]"}


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` (a JSON Schema pattern) compiled with ECMA-262's ASCII meaning of \\d, \\D, \\w and \\W."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _ECMA_CLASSES:
                out.append(_ECMA_CLASSES[nxt] if in_class else f"[{_ECMA_CLASSES[nxt]}]")
            elif nxt in _ECMA_NEGATED and not in_class:
                out.append(_ECMA_NEGATED[nxt])
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterable[ValidationError]:
    if isinstance(instance, str) and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 with ECMA-262 patterns: what every contract schema is checked with (requests and responses).
SchemaValidator: type[Validator] = extend(Draft202012Validator, validators={"pattern": _pattern})  # type: ignore[no-untyped-call]
METHODS = ("get", "put", "post", "patch", "delete")
REQUEST_FORMATS = FormatChecker([])


@REQUEST_FORMATS.checks("uuid")
def _uuid(value: object) -> bool:
    # The idempotency service's rule (the canonical form, after strip): never refuse what the operation accepts.
    return not isinstance(value, str) or canonical_uuid(value.strip()) is not None


@REQUEST_FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    date.fromisoformat(value)
    return len(value) == 10


@REQUEST_FORMATS.checks("date-time", raises=ValueError)
def _datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return "T" in value.upper()


@dataclass(frozen=True)
class FieldError:
    """One field that broke the contract."""

    field: str
    message: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | header
    required: bool
    kind: str  # the schema's type: how the raw string is coerced
    validator: Validator
    messages: dict[str, str]
    codes: dict[str, str]
    accepts: Callable[[Any], bool] | None = None  # a fast check for simple schemas; the validator explains failures


_SIMPLE = {
    "type",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
    "minimum",
    "maximum",
    "format",
    "default",
    "description",
    "title",
    "example",
    "examples",
    "x-error-messages",
    "x-error-codes",
    "x-error-field",
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _on_strings(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: not isinstance(value, str) or test(value)


def _on_numbers(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: not _is_number(value) or test(value)


def _in_enum(enum: list[Any]) -> Callable[[Any], bool]:
    # True is not 1 here, as in JSON Schema.
    return lambda value: any(value == e and isinstance(value, bool) == isinstance(e, bool) for e in enum)


# The keywords `fast_check` turns into checks, in the order they run, each from its value in the schema (the pattern
# compiled). A string keyword passes any non-string, a number keyword any non-number. `not x < bound` (not x >=
# bound) keeps JSON Schema's answer for NaN.
_KEYWORD_CHECKS: dict[str, Callable[[Any], Callable[[Any], bool]]] = {
    "enum": _in_enum,
    "minLength": lambda bound: _on_strings(lambda v: not len(v) < bound),
    "maxLength": lambda bound: _on_strings(lambda v: not len(v) > bound),
    "pattern": lambda regex: _on_strings(lambda v: regex.search(v) is not None),
    "format": lambda fmt: _on_strings(lambda v: REQUEST_FORMATS.conforms(v, fmt)),
    "minimum": lambda bound: _on_numbers(lambda v: not v < bound),
    "maximum": lambda bound: _on_numbers(lambda v: not v > bound),
}


def fast_check(schema: Any) -> Callable[[Any], bool] | None:
    """A plain-Python acceptance test equivalent to `schema`, for the scalar schemas parameters use (else None)."""
    if not isinstance(schema, dict) or set(schema) - _SIMPLE:
        return None
    raw_type = schema.get("type")
    names = raw_type if isinstance(raw_type, list) else [raw_type] if raw_type else []
    if any(n not in _TYPES for n in names):
        return None
    type_checks = [_TYPES[n] for n in names]
    values = {keyword: schema.get(keyword) for keyword in _KEYWORD_CHECKS}
    values["pattern"] = ecma_regex(schema["pattern"]) if "pattern" in schema else None
    checks = [_KEYWORD_CHECKS[keyword](value) for keyword, value in values.items() if value is not None]
    if type_checks:
        checks.insert(0, lambda value: any(check(value) for check in type_checks))

    def accepts(value: Any) -> bool:
        return all(check(value) for check in checks)

    return accepts


@dataclass
class Operation:
    """One compiled operation of a contract."""

    api: str
    method: str
    template: str
    params: list[Param]
    path_names: list[str]
    body: Validator | None
    security: list[str]
    roles: dict[str, Any] | None = None  # x-sandbox-roles: {roles: [...], detail}
    permission: dict[str, str] | None = None  # x-sandbox-permission: {name, detail}
    opaque: str | None = None  # x-sandbox-per-row: a body field whose strings the operation judges row by row
    error_media_type: str | None = None  # what its 4xx/5xx responses declare (problem+json first), if anything

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _kind(doc: dict[str, Any], schema: Any) -> str:
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict):
        return "string"
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if isinstance(t, str):
        return t
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            k = _kind(doc, sub)
            if k != "string":
                return k
    return "string"


class Contract:
    """All operations of one contract document, ready to validate requests."""

    def __init__(self, api: str, doc: dict[str, Any]) -> None:
        self.api = api
        self.doc = doc
        urn = URN + api
        registry: Registry[Any] = Registry().with_resource(
            urn, Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        self._registry = registry.crawl()
        self._urn = urn
        self._literal: dict[tuple[str, str], Operation] = {}
        self._templated: dict[tuple[str, int], list[tuple[re.Pattern[str], Operation]]] = {}
        global_security = doc.get("security", [])
        for template, item in doc.get("paths", {}).items():
            for method in METHODS:
                if method not in item:
                    continue
                op = self._compile(template, method, item, global_security)
                if "{" not in template:
                    self._literal[(op.method, template)] = op
                    continue
                pattern = re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", r"([^/]+)", re.escape(template)) + "$")
                bucket = self._templated.setdefault((op.method, template.count("/")), [])
                bucket.append((pattern, op))
        for bucket in self._templated.values():  # more literal text first: -;externalUserId={x} before {id}
            bucket.sort(
                key=lambda entry: (entry[1].template.count("{"), -len(re.sub(r"\{[^}]+\}", "", entry[1].template)))
            )

    def _validator(self, pointer: str) -> Validator:
        return SchemaValidator({"$ref": self._urn + pointer}, registry=self._registry, format_checker=REQUEST_FORMATS)

    def _compile(self, template: str, method: str, item: dict[str, Any], global_security: Any) -> Operation:
        op = item[method]
        base = "/".join(["#", "paths", _pointer_escape(template)])
        params: list[Param] = []
        raw_params = [(f"{base}/parameters/{i}", p) for i, p in enumerate(item.get("parameters", []))]
        raw_params += [(f"{base}/{method}/parameters/{i}", p) for i, p in enumerate(op.get("parameters", []))]
        for where, raw in raw_params:
            pointer = raw.get("$ref", where)
            p = _resolve(self.doc, raw)
            if p.get("in") not in ("path", "query", "header") or "schema" not in p:
                continue
            schema = _resolve(self.doc, p["schema"])
            params.append(
                Param(
                    name=p["name"],
                    location=p["in"],
                    required=bool(p.get("required")),
                    kind=_kind(self.doc, p["schema"]),
                    validator=self._validator(pointer + "/schema"),
                    messages={**schema.get("x-error-messages", {}), **p.get("x-error-messages", {})},
                    codes={**schema.get("x-error-codes", {}), **p.get("x-error-codes", {})},
                    accepts=fast_check(schema),
                )
            )
        body = None
        content = _resolve(self.doc, op.get("requestBody", {})).get("content", {})
        if "application/json" in content and "schema" in content["application/json"]:
            body = self._validator(f"{base}/{method}/requestBody/content/application~1json/schema")
            if "$ref" in op.get("requestBody", {}):
                ref = op["requestBody"]["$ref"]
                body = self._validator(f"{ref}/content/application~1json/schema")
        security = op.get("security", global_security) or []
        return Operation(
            api=self.api,
            method=method.upper(),
            template=template,
            params=params,
            path_names=re.findall(r"\{([^}]+)\}", template),
            body=body,
            security=sorted({name for req in security for name in req}),
            roles=op.get("x-sandbox-roles"),
            permission=op.get("x-sandbox-permission"),
            opaque=op.get("x-sandbox-per-row"),
            error_media_type=self._error_media_type(op),
        )

    def _error_media_type(self, op: dict[str, Any]) -> str | None:
        declared: set[str] = set()
        for status, response in op.get("responses", {}).items():
            if str(status)[:1] in ("4", "5"):
                declared.update(_resolve(self.doc, response).get("content", {}))
        for media_type in ("application/problem+json", "application/json"):
            if media_type in declared:
                return media_type
        return None

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        op = self._literal.get((method, path))
        if op is not None:
            return op, {}
        for pattern, candidate in self._templated.get((method, path.count("/")), ()):
            m = pattern.match(path)
            if m:
                return candidate, dict(zip(candidate.path_names, m.groups(), strict=True))
        return None

    def operations(self) -> list[Operation]:
        ops = list(self._literal.values())
        for bucket in self._templated.values():
            ops.extend(op for _p, op in bucket)
        return ops


_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _coerce(kind: str, raw: str) -> Any:
    """A parameter's string as its schema's type; ASCII digits only (int() and float() read other scripts' too)."""
    text = raw.strip()
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _DECIMAL.fullmatch(text):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if kind == "array":
        return list(raw.split(","))
    return raw


def _field_path(prefix: str, parts: Iterable[Any]) -> str:
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _errors_of(
    err: ValidationError, root: str, messages: dict[str, str] | None = None, codes: dict[str, str] | None = None
) -> FieldError:
    """A jsonschema error → the field, message and code the provider envelopes carry."""
    keyword = str(err.validator)
    schema = err.schema if isinstance(err.schema, dict) else {}
    parts = list(err.absolute_path)
    msgs = {**schema.get("x-error-messages", {}), **(messages or {})}
    cds = {**schema.get("x-error-codes", {}), **(codes or {})}
    if keyword == "required" and isinstance(err.instance, dict):
        required: list[str] = list(err.validator_value) if isinstance(err.validator_value, list) else []
        missing = next((p for p in required if p not in err.instance), None)
        if missing is not None:
            parts.append(missing)
            prop = schema.get("properties", {}).get(missing, {})
            if isinstance(prop, dict):
                msgs = {**msgs, **prop.get("x-error-messages", {})}
                cds = {**cds, **prop.get("x-error-codes", {})}
    elif keyword == "additionalProperties" and isinstance(err.instance, dict):
        extra = next((k for k in err.instance if k not in schema.get("properties", {})), None)
        if extra is not None:
            parts.append(extra)
    name = (schema.get("x-error-field") or _field_path("", parts) or "body") if root == "body" else root
    message = msgs.get(keyword)
    if message is None:
        message = f"{name}: {err.message}" if len(err.message) < 300 else f"{name}: invalid ({keyword})"
    elif keyword == "additionalProperties":
        message = f"{message}: {parts[-1]}" if parts else message
    code = cds.get(keyword) or ("required" if keyword == "required" else "invalid")
    return FieldError(name, message, code)


def _raw_value(p: Param, path_args: dict[str, str], query: Any, headers: Any) -> str | None:
    """The parameter's string as sent, or None when it is absent."""
    if p.location == "path":
        return path_args.get(p.name)
    if p.location == "query":
        values = query.getlist(p.name)
        return ",".join(values) if p.kind == "array" and values else (values[0] if values else None)
    return cast(str | None, headers.get(p.name))


def _parameter_error(p: Param, raw: str | None) -> FieldError | None:
    """What is wrong with one parameter (one message per parameter), or None."""
    if raw is None or (raw == "" and p.location == "query"):
        if not p.required:
            return None
        return FieldError(
            p.name, p.messages.get("required", f"{p.name} is required"), p.codes.get("required", "required")
        )
    value = _coerce(p.kind, raw)
    if p.accepts is not None and p.accepts(value):
        return None
    err = next(iter(p.validator.iter_errors(value)), None)
    return None if err is None else _errors_of(err, p.name, p.messages, p.codes)


def _body_errors(
    op: Operation, body_validator: Validator, raw_body: bytes, remember: Callable[[Any], None]
) -> list[FieldError]:
    """The body's errors, one per field; a body that is not JSON is the operation's to answer."""
    try:
        body = decode_json(raw_body, opaque=op.opaque)
    except UnstorableText as exc:
        return [FieldError(exc.field, exc.message, "invalid_text")]
    except BodyError:
        return []
    remember(body)
    try:
        found = sorted(body_validator.iter_errors(body), key=lambda e: [str(x) for x in e.absolute_path])
    except RecursionError:  # absurdly deep but valid JSON: the operation reports it
        found = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for err in found:
        fe = _errors_of(err, "body")
        if fe.field not in seen:
            seen.add(fe.field)
            errors.append(fe)
    return errors


def validate(
    op: Operation,
    path_args: dict[str, str],
    query: Any,
    headers: Any,
    raw_body: bytes,
    remember: Callable[[Any], None] = lambda _body: None,
) -> list[FieldError]:
    """Every field of this request that breaks the operation's contract (parameters first, then the body); a body
    decoded as JSON is handed to `remember`, so the operation need not decode it again."""
    errors: list[FieldError] = []
    for p in op.params:
        error = _parameter_error(p, _raw_value(p, path_args, query, headers))
        if error is not None:
            errors.append(error)
    if op.body is not None and raw_body.strip():
        errors.extend(_body_errors(op, op.body, raw_body, remember))
    return errors
