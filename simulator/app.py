"""The Flask application factory: `create_app(settings)` builds the sandbox and serves it. Nothing happens at import.

The app owns the request's edge: access checks, the body limit, fault injection and rate limits, request ids, the
journal, and errors in each API's envelope (`simulator.http.Errors`: one set of handlers per API blueprint, and a
fallback for paths no route matches). The services live in `simulator.sandbox.Sandbox`.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from simulator import __version__
from simulator.apispec import enforce
from simulator.apispec.routes import BASE_URL
from simulator.apispec.routes import bp as apispec_bp
from simulator.control.access import Access
from simulator.control.routes import bp as control_bp
from simulator.core.context import RequestInfo, current_request
from simulator.core.errors import ControlError, ErrorContext, SandboxError
from simulator.core.runtime import Runtime
from simulator.dakota import routes as dakota_routes
from simulator.dakota.errors import DakotaProblem
from simulator.dashboard.routes import bp as dashboard_bp
from simulator.http import (
    BODY_TOO_LARGE,
    DROP_CONNECTION,
    ERRORS,
    BodyLimit,
    DropConnection,
    Errors,
    MakeError,
    api_of,
    scope_errors,
)
from simulator.sandbox import EXTENSION, Sandbox
from simulator.settings import Settings
from simulator.sumsub import routes as sumsub_routes
from simulator.sumsub.errors import SumsubError

__all__ = ["EXTENSION", "Sandbox", "api_of", "create_app"]

log = logging.getLogger("simulator")

# Each API's own error for a status and a message: what an edge refusal, an HTTP error or a failure becomes.
MAKE_ERROR: dict[str, MakeError] = {
    "sumsub": lambda status, message: SumsubError(message, status=status),
    "dakota": DakotaProblem,
    "dashboard": DakotaProblem,  # the dashboard is Dakota's
    "control": lambda status, message: ControlError(message, status=status),
}


def create_app(settings: Settings | None = None, *, prepare: bool = True, worker_salt: int | None = None) -> Flask:
    """Build the sandbox app: both fakes, the control plane, error envelopes, the journal. `worker_salt`: a served
    worker's own id salt (see `simulator.server`)."""
    settings = settings or Settings.from_env()
    rt = Runtime.build(settings, worker_salt=worker_salt)
    sb = Sandbox.build(rt)
    if prepare:
        sb.prepare()

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config[BASE_URL] = settings.resolved_base_url
    app.wsgi_app = BodyLimit(DropConnection(app.wsgi_app), settings.max_request_bytes)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = sb
    app.extensions[sumsub_routes.EXTENSION] = sb.sumsub
    app.extensions[dakota_routes.EXTENSION] = sb.dakota

    def error_context(api: str) -> ErrorContext:
        return ErrorContext(
            path=request.path,
            request_id=g.get("request_id", ""),
            correlation_id=rt.ids.correlation_id,
            media_type=enforce.error_media_type(api, request.method, request.path),
        )

    # Each API blueprint scopes its errors to its API (`scope_errors` in its routes module); the app's handler is
    # the fallback for paths no route matches and the contract pages.
    errors = app.extensions[ERRORS] = Errors(MAKE_ERROR, error_context, settings.max_request_bytes)
    for bp in (sumsub_routes.bp, dakota_routes.bp, control_bp, dashboard_bp, apispec_bp):
        app.register_blueprint(bp)
    scope_errors(app)
    enforce.install(app, sb.dakota)  # contract-driven request validation, compiled once

    if settings.background_dispatch:
        sb.dispatcher.ensure_started()  # retries fall due even when no request arrives (e.g. after a restart)
    _install_edge(app, sb, errors)

    @app.get("/")
    def _index() -> Response:
        return jsonify(
            {
                "name": "kyc-sandbox",
                "version": __version__,
                "sumsub": "/resources",
                "dakota": ["/customers", "/applications"],
                "control": "/_sandbox/health",
            }
        )

    return app


def _install_edge(app: Flask, sb: Sandbox, errors: Errors) -> None:
    """The two hooks every request runs. They read the WSGI environ and `g` once each (Flask's proxies cost a lookup
    per attribute). Fault rules and rate limits come from the worker's cache (a read on PostgreSQL); the store is
    written only when a rule matches or a rate limit is on."""
    rt, settings = sb.rt, sb.rt.settings
    max_bytes = settings.max_request_bytes
    access = Access.from_settings(settings)
    background = bool(settings.background_dispatch)
    journal_on = settings.journal_size > 0

    @app.before_request
    def _start() -> Response | None:
        req, ctx = request, g
        env = req.environ
        ctx.started = time.perf_counter()
        refusal = access.check(req.method, req.path, env)
        if refusal is not None:
            raise SandboxError(refusal.message, status=refusal.status)
        # werkzeug's `content_length`, read straight from the environ (its property costs more than this whole
        # check).
        length = env.get("CONTENT_LENGTH")
        if (length and length.isascii() and length.isdigit() and int(length) > max_bytes) or BODY_TOO_LARGE in env:
            raise RequestEntityTooLarge()  # even on routes that never read their body (chunked: see BodyLimit)
        ctx.request_id = rid = rt.ids.request_id()
        current_request.set(RequestInfo(request_id=rid, idempotency_key=env.get("HTTP_X_IDEMPOTENCY_KEY")))
        if background:
            sb.dispatcher.ensure_started()
        if _has_nul(env):
            raise SandboxError("NUL characters are not allowed in the URL or headers", status=400)
        path = req.path
        api = api_of(path)
        if api == "control":
            return None
        return _faults(sb, errors, api, req.method, path, env)

    @app.after_request
    def _finish(response: Response) -> Response:
        req = request
        response.headers["x-request-id"] = request_id = g.get("request_id", "")
        rate_headers = g.get("rate_headers")
        if rate_headers:
            for name, value in rate_headers.items():
                response.headers.setdefault(name, value)
        if g.get("fault_rule"):
            response.headers["X-Sandbox-Fault"] = g.fault_rule  # marks a response the sandbox made up
        if background and sb.outbox.work_queued.is_set():
            # What the request queued goes out now, not at the next poll; after the response is sent, so the
            # dispatcher's thread does not compete with it for the interpreter.
            sb.outbox.work_queued.clear()
            response.call_on_close(sb.dispatcher.kick)
        path = req.path
        if journal_on and not path.startswith("/_sandbox/journal"):
            full_path = req.full_path.rstrip("?") if req.environ.get("QUERY_STRING") else path
            try:
                full = sb.journal.add(
                    at=rt.clock.approximate_now(),
                    api=api_of(path),
                    method=req.method,
                    path=full_path[:2000],
                    status=response.status_code,
                    duration_ms=(time.perf_counter() - g.get("started", time.perf_counter())) * 1000,
                    request_id=request_id,
                    note=g.get("journal_note"),
                )
                if full:
                    sb.flush_journal()
            except SQLAlchemyError:  # the journal is best effort; never fail a request over it
                log.warning("journal write skipped", exc_info=True)
        return response


def _has_nul(env: dict[str, object]) -> bool:
    query = str(env.get("QUERY_STRING", ""))
    return (
        "\x00" in str(env.get("PATH_INFO", ""))
        or "\x00" in query
        or "%00" in query
        or any("\x00" in v for k, v in env.items() if k.startswith("HTTP_") and isinstance(v, str))
    )


def _faults(sb: Sandbox, errors: Errors, api: str, method: str, path: str, env: dict[str, object]) -> Response | None:
    """Apply the fault rules and rate limits that match this request (see `simulator.faults`)."""
    caller = env.get("HTTP_X_APP_TOKEN") or env.get("HTTP_X_API_KEY") or env.get("HTTP_X_APPLICATION_TOKEN")
    injection, over, headers = sb.faults.check(api, method, path, caller if isinstance(caller, str) else None)
    if headers:
        g.rate_headers = headers
    if injection is not None:
        g.journal_note = injection.describe()
        if injection.latency_ms:
            time.sleep(injection.latency_ms / 1000)
        if injection.reset:
            return _reset_connection()
        if injection.status:
            g.fault_rule = injection.rule_id
            raise SandboxError(f"Injected fault ({injection.rule_id})", status=injection.status)
    if over is not None:
        g.journal_note = "rate limited"
        if api == "dakota":
            return Response(status=429, headers=headers)  # Dakota answers 429 with headers only, no body
        return errors.render(SandboxError("Too many requests", status=429, headers=headers), api)
    return None


def _reset_connection() -> Response:
    """Cut the connection before the response is complete (see `http.DropConnection`); the response below is what
    the journal records, and what the in-process transport sees before it raises."""
    request.environ[DROP_CONNECTION] = True
    resp = Response(status=502)
    resp.headers["Content-Length"] = "1"  # a body is due, and never comes
    resp.headers["X-Sandbox-Fault"] = "connection-reset"
    return resp
