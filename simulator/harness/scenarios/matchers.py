"""Expectations: JSON paths into a response, matchers (a value or an object of operators), readable diffs."""

from __future__ import annotations

import difflib
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from simulator.harness.scenarios.events import Failure

MISSING: Any = object()
_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+|\*)\]")


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
    """The value at `path`, or `MISSING`; `[*]` maps the rest of the path over a list."""
    return resolve_parts(data, parse_path(path))


def resolve_parts(data: Any, parts: list[str | int]) -> Any:
    for i, part in enumerate(parts):
        if part == "*":
            if not isinstance(data, list):
                return MISSING
            return [resolve_parts(item, parts[i + 1 :]) for item in data]
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return MISSING
            data = data[part]
        else:
            if isinstance(data, list) and part == "length":
                data = len(data)
                continue
            if not isinstance(data, dict) or part not in data:
                return MISSING
            data = data[part]
    return data


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def pretty(value: Any) -> str:
    if value is MISSING:
        return "<missing>"
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def short(value: Any, limit: int = 300) -> str:
    text = "<missing>" if value is MISSING else as_text(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def excerpt(body: Any, limit: int = 1200) -> str:
    """A response body for a report: pretty JSON (or the text), cut at `limit` characters."""
    text = body if isinstance(body, str) else pretty(body)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text)} chars)"


def structural_diff(expected: Any, actual: Any) -> str:
    """A unified diff of the pretty JSON of both sides (- expected, + actual)."""
    lines = difflib.unified_diff(
        pretty(expected).splitlines(), pretty(actual).splitlines(), "expected", "actual", lineterm="", n=2
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


@dataclass(frozen=True)
class _Miss:
    """Why an operator does not hold; `diff` replaces the default expected/actual lines."""

    message: str
    diff: str = ""


# An operator: (actual, wanted) → None when it holds. `actual` is never MISSING (but for `exists`).
Operator = Callable[[Any, Any], _Miss | None]


def _equals(actual: Any, want: Any) -> _Miss | None:
    # True == 1 in Python; a scenario expecting true must not pass on 1.
    if actual == want and (type(actual) is bool) == (type(want) is bool):
        return None
    if isinstance(want, dict | list) and isinstance(actual, dict | list):
        return _Miss("values differ", structural_diff(want, actual))
    if isinstance(want, str) and isinstance(actual, str) and max(len(want), len(actual)) <= 400:
        return _Miss("values differ", text_diff(want, actual))
    return _Miss("values differ")


def _not_equals(actual: Any, want: Any) -> _Miss | None:
    return _Miss("expected a different value") if actual == want else None


def _contains_op(actual: Any, want: Any) -> _Miss | None:
    return None if _contains(actual, want) else _Miss(f"expected to contain {short(want)}")


def _not_contains(actual: Any, want: Any) -> _Miss | None:
    return _Miss(f"expected not to contain {short(want)}") if _contains(actual, want) else None


def _matches(actual: Any, want: Any) -> _Miss | None:
    if isinstance(actual, str) and re.search(str(want), actual) is not None:
        return None
    return _Miss(f"expected to match /{want}/")


def _length(actual: Any, want: Any) -> _Miss | None:
    try:
        n = len(actual)
    except TypeError:
        n = -1
    if n == want:
        return None
    return _Miss(f"expected length {want}, got {n if n >= 0 else 'a value without a length'}")


def _exists(actual: Any, want: Any) -> _Miss | None:
    if (actual is not MISSING) == bool(want):
        return None
    return _Miss("expected the value to exist" if want else "expected no value here")


def _one_of(actual: Any, want: Any) -> _Miss | None:
    return None if actual in want else _Miss(f"expected one of {short(want)}")


def _compare(name: str, holds: Callable[[Any, Any], bool]) -> Operator:
    """A numeric comparison: fails on anything but a number (booleans included)."""

    def check(actual: Any, want: Any) -> _Miss | None:
        number = isinstance(actual, int | float) and not isinstance(actual, bool)
        return None if number and holds(actual, want) else _Miss(f"expected {name} {want}")

    return check


_OPERATORS: dict[str, Operator] = {
    "equals": _equals,
    "not_equals": _not_equals,
    "contains": _contains_op,
    "not_contains": _not_contains,
    "matches": _matches,
    "length": _length,
    "exists": _exists,
    "one_of": _one_of,
    "gte": _compare("gte", operator.ge),
    "lte": _compare("lte", operator.le),
    "gt": _compare("gt", operator.gt),
    "lt": _compare("lt", operator.lt),
}
OPERATORS = tuple(_OPERATORS)


def is_operator_dict(matcher: Any) -> bool:
    """An object whose keys are all operators (else an object is a value to compare with)."""
    return isinstance(matcher, dict) and bool(matcher) and all(k in _OPERATORS for k in matcher)


def check_value(check: str, actual: Any, matcher: Any) -> list[Failure]:
    """Apply a matcher (a value meaning equality, or an object of operators) to one value."""
    ops = matcher if is_operator_dict(matcher) else {"equals": matcher}
    failures: list[Failure] = []
    for op, want in ops.items():
        if actual is MISSING and op != "exists":
            miss: _Miss | None = _Miss(
                f"no value at this path (wanted {op} {short(want)})", f"expected ({op}): {short(want)}"
            )
        else:
            miss = _OPERATORS[op](actual, want)
        if miss is not None:
            shown = miss.diff or f"expected: {short(want)}\nactual:   {short(actual)}"
            failures.append(Failure(check, miss.message, want, None if actual is MISSING else actual, shown))
    return failures


def check_response(
    response: requests.Response | None, body: Any, expect: dict[str, Any], default_status: tuple[int, ...] | None
) -> list[Failure]:
    """A step's `expect` (status, headers, json) against its response; `default_status` when expect has no status."""
    failures: list[Failure] = []
    if response is not None:
        failures.extend(_check_status(response.status_code, response.ok, expect.get("status"), default_status))
        for name, matcher in (expect.get("headers") or {}).items():
            failures.extend(check_value(f"header {name}", response.headers.get(name, MISSING), matcher))
    for path, matcher in (expect.get("json") or {}).items():
        try:
            actual = resolve(body, path)
        except ValueError as exc:
            failures.append(Failure(f"json {path}", str(exc)))
            continue
        failures.extend(check_value(f"json {path}", actual, matcher))
    return failures


def _check_status(status: int, ok: bool, want: Any, default_status: tuple[int, ...] | None) -> list[Failure]:
    if want is None:
        if (status in default_status) if default_status else ok:
            return []
        return [
            Failure(
                "status",
                f"expected {'/'.join(map(str, default_status or ())) or 'a 2xx status'}, got {status}",
                default_status,
                status,
                f"expected: {default_status or '2xx'}\nactual:   {status}",
            )
        ]
    allowed = want if isinstance(want, list) else [want]
    if status in allowed:
        return []
    return [
        Failure(
            "status",
            f"expected {' or '.join(map(str, allowed))}, got {status}",
            want,
            status,
            f"expected: {' or '.join(map(str, allowed))}\nactual:   {status}",
        )
    ]
