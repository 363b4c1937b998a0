"""Validate HTTP responses against an OpenAPI 3.0 / 3.1 document (the vendor's or our own contracts).

OpenAPI 3.0's `nullable` is rewritten to JSON Schema's `null` type once, at load (3.1 documents are JSON Schema
2020-12 already); `*.schema.json` files a contract references are embedded at load. Validators are compiled once per
(operation, status, media type) and cached.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from simulator.apispec.derive import to_31
from simulator.apispec.validation import SchemaValidator

_URN = "urn:kyc-sandbox:openapi"
_FORMATS = FormatChecker(["email", "date", "uuid"])


@_FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    date.fromisoformat(value)
    return len(value) == 10


@dataclass(frozen=True)
class Problem:
    """One way a response breaks the contract."""

    operation: str
    status: int
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.operation} → {self.status}: {self.message} (at {self.path or '$'})"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class OpenApiContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        is_30 = str(spec.get("openapi", "")).startswith("3.0")
        # to_31 builds a new tree, so the caller's spec is never shared.
        self.spec = to_31(spec, drop=("example", "examples")) if is_30 else copy.deepcopy(spec)
        self._registry: Registry[Any] = Registry().with_resource(
            _URN, Resource.from_contents(self.spec, default_specification=DRAFT202012)
        )
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for template in self.spec.get("paths", {}):
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self._routes.append((re.compile(pattern), template))
        # Literal paths win over templated ones (/customers/bulk-... before /customers/{id}), then longer literals
        # (/applicants/-;externalUserId={x}/one before /applicants/{id}/one).
        self._routes.sort(key=lambda r: (r[1].count("{"), -len(re.sub(r"\{[^}]+\}", "", r[1]))))

    @classmethod
    def load(cls, path: str | Path) -> OpenApiContract:
        return _load_cached(str(Path(path).resolve()))

    def template_for(self, method: str, path: str) -> str | None:
        for pattern, template in self._routes:
            if pattern.match(path) and method.lower() in self.spec["paths"][template]:
                return template
        return None

    def operations(self) -> list[tuple[str, str]]:
        methods = ("get", "post", "put", "patch", "delete")
        return [(m.upper(), p) for p, item in self.spec["paths"].items() for m in item if m in methods]

    def validate_response(
        self, method: str, path: str, status: int, content_type: str | None, body: Any
    ) -> list[Problem]:
        """Problems with this response; empty when it conforms (or the operation is not in the contract)."""
        template = self.template_for(method, path)
        if template is None:
            return []
        op = f"{method.upper()} {template}"
        responses = self.spec["paths"][template][method.lower()].get("responses", {})
        key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        if key is None:
            return [Problem(op, status, f"status {status} is not declared for this operation", "")]
        content = responses[key].get("content")
        if not content:
            return []
        media = (content_type or "").split(";")[0].strip()
        if media not in content:
            return [Problem(op, status, f"content type {media!r} is not declared (expected {list(content)})", "")]
        if "schema" not in content[media]:
            return []
        pointer = "/".join(
            ["#", "paths", _escape(template), method.lower(), "responses", key, "content", _escape(media), "schema"]
        )
        validator = self._validator(pointer)
        return [
            Problem(op, status, err.message, "/".join(str(p) for p in err.absolute_path))
            for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        ]

    @cache  # noqa: B019 - one contract object lives for the process; validators are compiled once
    def _validator(self, pointer: str) -> Validator:
        return SchemaValidator({"$ref": _URN + pointer}, registry=self._registry, format_checker=_FORMATS)

    def schema_errors(self, schema_name: str, instance: Any) -> list[ValidationError]:
        v = self._validator(f"#/components/schemas/{schema_name}")
        return list(v.iter_errors(instance))


@cache
def _load_cached(path: str) -> OpenApiContract:
    from simulator.apispec.loader import bundle

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=loader)
    schemas = Path(path).parent.parent / "schemas"
    # Our own contracts $ref shared schemas in contracts/schemas/ by file name: embed them first.
    return OpenApiContract(bundle(spec, schemas) if schemas.is_dir() else spec)
