"""Which text the sandbox accepts and stores (Unicode scalar values only, never NUL), and the one JSON decoder.

JSON can carry what no store can hold: a lone UTF-16 surrogate (`"\\ud800"`) decodes to a Python `str` that has no
UTF-8 form (SQLite's and PostgreSQL's drivers raise `UnicodeEncodeError`), and PostgreSQL text cannot hold NUL
(U+0000). The edge (request validation) refuses such a value with a 400 naming its field, so no service ever sees
one; the request journal, which records what was refused, makes its text storable instead.
"""

from __future__ import annotations

import json
from typing import Any

SURROGATES = range(0xD800, 0xE000)


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored (a short reason), or None when it can."""
    if "\x00" in text:
        return "a NUL character (U+0000)"
    if text.isascii():
        return None
    for ch in text:
        if ord(ch) in SURROGATES:
            return f"a lone UTF-16 surrogate (U+{ord(ch):04X}), which is not Unicode text"
    return None


def find_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (or object key) in a decoded JSON value that cannot be stored: (field path, reason).

    Paths use the request validator's spelling: `name`, `fixedInfo.addresses[0].town`, `tokens[3]`; `body` for the
    whole value."""
    if isinstance(value, str):
        reason = unstorable(value)
        return (path or "body", reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            reason = unstorable(key)
            if reason:
                return (f"{path}.<key>" if path else "<key>", reason)
            found = find_unstorable(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_unstorable(item, f"{path}[{i}]")
            if found:
                return found
    return None


def storable(text: str) -> str:
    """`text` with what cannot be stored replaced by U+FFFD: for records of requests (the journal), never data."""
    if unstorable(text) is None:
        return text
    return "".join("\ufffd" if ch == "\x00" or ord(ch) in SURROGATES else ch for ch in text)


class BodyError(ValueError):
    """The body is not JSON the sandbox accepts; `field` names where (`body` for the whole of it)."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnstorableText(BodyError):
    """The body is JSON, but a string in it is not text the sandbox can hold."""


def decode_json(raw: bytes, *, opaque: str | None = None) -> Any:
    """`raw` as JSON, refusing text no store can hold (see `simulator.core.text`) with the field that holds it.

    `opaque` names a top-level field whose strings the operation judges itself (the bulk import's tokens: a token
    that is not text is a failed row, not a failed request)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BodyError("Request body must be valid JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"Request body must be valid JSON ({exc})") from None
    checked = value
    if opaque is not None and isinstance(value, dict) and opaque in value:
        checked = {k: v for k, v in value.items() if k != opaque}
    found = find_unstorable(checked)
    if found is not None:
        field, reason = found
        raise UnstorableText(f"{field}: must be valid Unicode text; it contains {reason}", field)
    return value
