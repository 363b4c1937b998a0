"""Request and response helpers the routes share: the JSON body (decoded once, by one set of rules), responses."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
from flask.json.provider import DefaultJSONProvider

from simulator.core.errors import ControlError, SandboxError
from simulator.core.text import BodyError, decode_json

if TYPE_CHECKING:
    from simulator.app import Sandbox

EXTENSION = "kyc_sandbox"
BODY_TOO_LARGE = "kyc_sandbox.body_too_large"  # set by BodyLimit; the app answers 413 in the API's envelope
DROP_CONNECTION = "kyc_sandbox.drop_connection"  # set by a `reset` fault; DropConnection answers nothing
_PARSED = "kyc_sandbox.json"  # the decoded body, kept in the WSGI environ for the rest of the request


def sandbox() -> Sandbox:
    """The current app's sandbox (inside a request)."""
    sb: Sandbox = current_app.extensions[EXTENSION]
    return sb


def remember_json(value: Any) -> None:
    """Keep the body the request validator decoded, so the operation does not decode it again."""
    request.environ[_PARSED] = (value,)


def json_body(allow_empty: bool = False, *, opaque: str | None = None) -> Any:
    """The request's JSON body (None when empty and allowed); raises BodyError."""
    held = request.environ.get(_PARSED)
    if held is not None:
        return held[0]
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyError("request body is empty")
    value = decode_json(raw, opaque=opaque)
    remember_json(value)
    return value


def parse_json_or(err_factory: Callable[[str], SandboxError]) -> Any:
    """The JSON body, or `err_factory(message)` raised in the operation's own envelope."""
    try:
        return json_body()
    except BodyError as exc:
        raise err_factory(exc.message) from None


# What `jsonify` writes (compact, ASCII-safe, keys in order, Flask's `default` for dates and the like, a trailing
# newline), without building an encoder and going through the app's JSON provider on every response.
_encode = json.JSONEncoder(
    ensure_ascii=True, sort_keys=False, separators=(",", ":"), default=DefaultJSONProvider.default
).encode


def ok(payload: Any, status: int = 200) -> Response:
    return Response(_encode(payload) + "\n", status=status, mimetype="application/json")


def read_args() -> dict[str, str]:
    return dict(request.args.items())


def clamp_int(raw: str | None, default: int, low: int, high: int, name: str) -> int:
    # ASCII digits only: str.isdigit() accepts superscripts and other scripts' digits, which int() refuses or reads.
    if raw is None or raw == "":
        return default
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or not low <= int(raw) <= high:
        raise ControlError(f"{name} must be an integer between {low} and {high}", field=name)
    return int(raw)


class BodyLimit:
    """WSGI middleware: a body without a Content-Length (chunked) is read here, and judged by the bytes read.

    A body with a Content-Length is judged by that header before it is read (the app's `before_request`); a chunked
    one has no length up front, and a stream cut at the limit would hand the operation a silently truncated body.
    So it is read whole here, up to one byte past the limit: within it, the operation gets it with its length;
    past it, the request is marked and answered 413, whatever route it is for."""

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            data = _read_at_most(environ["wsgi.input"], self.limit + 1)
            if len(data) > self.limit:
                environ[BODY_TOO_LARGE] = True
                data = b""
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
        return self.app(environ, start_response)


class DropConnection:
    """WSGI middleware: the connection of a request marked DROP_CONNECTION (a `reset` fault) is cut before its
    response is complete.

    The response declares a body (`Content-Length: 1`) whose iterable raises before any byte of it is written: the
    server closes the connection, and the client sees it end mid-response (or, when the server had not yet sent the
    status line, without one). That is as close to a reset as WSGI lets an application get. In-process, the
    harness's transport turns the same exception into the error a client would get."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        if not environ.get(DROP_CONNECTION):
            return body
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return _cut()


def _cut() -> Iterable[bytes]:
    raise ConnectionAbortedError("connection cut (a reset fault injected by the sandbox)")
    yield b""  # a generator: it raises when the server starts writing the body


def _read_at_most(stream: Any, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
