"""The HTTP edge the routes share: which API a request belongs to, errors in that API's envelope (blueprint-scoped
handlers, and a fallback for paths no route matches), the JSON body (decoded once, by one set of rules), responses,
and the WSGI middlewares (body limit, connection cut)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from simulator.core.errors import ErrorContext, SandboxError
from simulator.core.text import BodyError, decode_json

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("simulator")
BODY_TOO_LARGE = "kyc_sandbox.body_too_large"  # set by BodyLimit; the app answers 413 in the API's envelope
DROP_CONNECTION = "kyc_sandbox.drop_connection"  # set by a `reset` fault; DropConnection answers nothing
_PARSED = "kyc_sandbox.json"  # the decoded body, kept in the WSGI environ for the rest of the request


# The one place that decides which API a request belongs to (for the faults, the journal, and errors of paths no
# route matches; a matched route's blueprint decides its errors' envelope).
_PREFIXES = (("/resources", "sumsub"), ("/_sandbox", "control"), ("/dashboard", "dashboard"))
DEFAULT_API = "dakota"


def api_of(path: str) -> str:
    for prefix, api in _PREFIXES:
        if path.startswith(prefix):
            return api
    return DEFAULT_API


MakeError = Callable[[int, str], SandboxError]  # an API's own error for a status and a message


ERRORS = "kyc_sandbox.errors"  # the app's Errors, in `app.extensions`


class Errors:
    """Every error of a request, answered in the envelope of the API it belongs to.

    An API's own errors (SumsubError, DakotaProblem, ...) carry their envelope; everything else (an HTTP error, a
    refusal at the edge, a value the store refused, a busy store, a bug) first becomes that API's error, through
    `make[api]`."""

    def __init__(self, make: dict[str, MakeError], context: Callable[[str], ErrorContext], max_bytes: int) -> None:
        self.make = make
        self.context = context  # the request's ErrorContext, for an API
        self.max_bytes = max_bytes

    def handle(self, err: Exception, api: str) -> Response:
        if isinstance(err, SandboxError):
            return self.render(err, api)
        if isinstance(err, HTTPException):
            return self.render(self._http(err, api), api)
        if isinstance(err, DataError):
            # The database refused a value (e.g. a NUL character on PostgreSQL); the transaction rolled back.
            log.info("store rejected a value: %s", err.orig)
            return self.render(
                self.make[api](400, "The request contains a value the store cannot hold (e.g. a NUL)"), api
            )
        if isinstance(err, OperationalError):
            log.warning("store busy: %s", err)
            busy = self.make[api](503, "The sandbox store is busy; retry the request")
            busy.headers["Retry-After"] = "1"
            return self.render(busy, api)
        log.exception("unexpected error")
        return self.render(
            self.make[api](500, f"Internal sandbox error ({type(err).__name__}); see the server log"), api
        )

    def render(self, err: SandboxError, api: str) -> Response:
        ctx = self.context(api)
        envelope = err.envelope(ctx)
        if envelope is None:
            envelope = self.make[api](err.status, err.message).envelope(ctx)
            assert envelope is not None, f"{api}'s own errors have an envelope"
        if envelope.body is None:
            resp = Response(status=err.status)
        else:
            resp = ok(envelope.body, err.status)
            resp.mimetype = envelope.media_type
        for name, value in {**envelope.headers, **err.headers}.items():
            resp.headers[name] = value
        g.journal_note = err.message[:500]
        return resp

    def _http(self, err: HTTPException, api: str) -> SandboxError:
        status = err.code or 500
        description = {
            404: "Not found: no such endpoint",
            405: f"Method {request.method} is not allowed here",
            413: f"Request body too large (limit {self.max_bytes} bytes)",
        }.get(status, err.description or err.name)
        return self.make[api](status, description)


def scope_errors(target: Flask | Blueprint, api: str | None = None) -> None:
    """Answer every error raised under `target` in `api`'s envelope: a blueprint names its API; the app's own
    handler is the fallback for paths no route matches, and decides by path (`api_of`)."""

    def handle(err: Exception) -> Response:
        errors: Errors = current_app.extensions[ERRORS]
        return errors.handle(err, api or api_of(request.path))

    target.register_error_handler(Exception, handle)


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
