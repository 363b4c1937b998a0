"""The Flask application factory. Nothing happens at import time: `create_app(settings)` builds everything."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from simulator import __version__
from simulator.control.faults import Faults
from simulator.core import journal, seed
from simulator.core.context import RequestInfo, current_request
from simulator.core.errors import ControlError, SandboxError
from simulator.core.runtime import Runtime
from simulator.dakota.applications import Applications
from simulator.dakota.importer import BulkImporter
from simulator.dakota.onboarding import Onboarding
from simulator.dakota.problems import ApplicationNotReady, DakotaProblem
from simulator.settings import Settings
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.service import SumsubService
from simulator.webhooks.service import KEY_STATE, Dispatcher, Webhooks

log = logging.getLogger("simulator")
EXTENSION = "kyc_sandbox"
JOURNAL_FLUSH_SECONDS = 0.5  # the dispatcher's poll interval: how stale another worker's journal rows can be


@dataclass
class Sandbox:
    """Everything one sandbox instance holds (the composition root); lives in `app.extensions['kyc_sandbox']`."""

    rt: Runtime
    webhooks: Webhooks
    sumsub: SumsubService
    applications: Applications
    importer: BulkImporter
    onboarding: Onboarding
    dispatcher: Dispatcher
    faults: Faults
    journal: journal.JournalBuffer

    @classmethod
    def build(cls, rt: Runtime) -> Sandbox:
        webhooks = Webhooks(rt)
        sumsub = SumsubService(rt, webhooks)
        apps = Applications(rt)
        onboarding = Onboarding(rt, apps, webhooks, sumsub)
        faults = Faults(rt)
        sb = cls(
            rt=rt,
            webhooks=webhooks,
            sumsub=sumsub,
            applications=apps,
            importer=BulkImporter(rt, sumsub, apps, webhooks, faults),
            onboarding=onboarding,
            dispatcher=Dispatcher(lambda _kicked: None),
            faults=faults,
            journal=journal.JournalBuffer(rt.settings.journal_size),
        )
        sb.dispatcher = Dispatcher(lambda kicked: sb.tick(kicked=kicked))
        return sb

    def prepare(self) -> None:
        """Create the schema and seed an empty store."""
        self.rt.store.create_schema()
        with self.rt.store.write() as session:
            self.rt.store.lock_for_prepare(session)  # replicas starting together seed once
            seed.ensure_seeded(session)
            self.webhooks.ensure_key(session)

    def reset(self) -> None:
        """Back to the seeded state: every applicant, token, customer and journal row gone, clock real time.

        The webhook signing key survives: receivers are configured with it, and every worker keeps it cached.
        """
        self.rt.ids.reseed(self.rt.settings.seed)
        self.journal.clear()
        with self.rt.store.write() as session:
            key = self.rt.store.get_state(session, KEY_STATE)
            seed.wipe(session)
            seed.seed(session)
            self.rt.clock.reset(session)
            if key is not None:
                self.rt.store.put_state(session, KEY_STATE, key)
            self.webhooks.ensure_key(session)

    def flush_journal(self) -> None:
        rows = self.journal.take()
        if rows:
            with self.rt.store.write() as session:
                journal.write_many(session, self.rt.settings.journal_size, rows)

    def tick(self, *, kicked: bool = False) -> list[dict[str, Any]]:
        """Flush this process's journal, settle what is due on the simulated clock, then deliver due webhooks.

        A kick (every POST wakes the dispatcher) leaves a journal flushed less than a poll interval ago alone: a
        journal write per request would compete with the requests' own writes.
        """
        if not kicked or time.monotonic() - self.journal.flushed_at >= JOURNAL_FLUSH_SECONDS:
            self.flush_journal()
        fired = self.onboarding.settle_due()
        fired.extend(a.to_dict() for a in self.webhooks.dispatch_due())
        if not kicked:
            self.rt.store.checkpoint()  # off the request path (see WAL_AUTOCHECKPOINT_PAGES)
        return fired

    def close(self) -> None:
        self.dispatcher.stop()
        self.rt.store.dispose()


def sandbox() -> Sandbox:
    """The current app's sandbox (inside a request)."""
    from flask import current_app

    sb: Sandbox = current_app.extensions[EXTENSION]
    return sb


def api_of(path: str) -> str:
    if path.startswith("/resources"):
        return "sumsub"
    if path.startswith("/_sandbox"):
        return "control"
    if path.startswith("/dashboard"):
        return "dashboard"
    return "dakota"


def create_app(settings: Settings | None = None, *, prepare: bool = True) -> Flask:
    """Build the sandbox app: both fakes, the control plane, error envelopes, the journal."""
    settings = settings or Settings.from_env()
    rt = Runtime.build(settings)
    sb = Sandbox.build(rt)
    if prepare:
        sb.prepare()

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = sb

    from simulator.control.pact_states import bp as pact_states_bp
    from simulator.control.routes import bp as control_bp
    from simulator.dakota.routes import bp as dakota_bp
    from simulator.dashboard.routes import bp as dashboard_bp
    from simulator.sumsub.routes import bp as sumsub_bp

    app.register_blueprint(sumsub_bp)
    app.register_blueprint(dakota_bp)
    app.register_blueprint(control_bp)
    app.register_blueprint(pact_states_bp)
    app.register_blueprint(dashboard_bp)

    from simulator.apispec import enforce
    from simulator.apispec.routes import bp as apispec_bp

    app.register_blueprint(apispec_bp)
    enforce.install(app)  # contract-driven request validation, compiled once

    if settings.background_dispatch:
        sb.dispatcher.ensure_started()  # retries fall due even when no request arrives (e.g. after a restart)

    # The two hooks run on every request: they read the WSGI environ and `g` once each (Flask's proxies cost a
    # lookup per attribute). Fault rules and rate limits come from the worker's cache (a read on PostgreSQL); the
    # store is written only when a rule matches or a rate limit is on.
    max_bytes = settings.max_request_bytes
    background = bool(settings.background_dispatch)
    journal_on = settings.journal_size > 0

    @app.before_request
    def _start() -> Response | None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        env = req.environ
        ctx = g._get_current_object()
        ctx.started = time.perf_counter()
        # werkzeug's `content_length`, read straight from the environ (its property costs more than this whole
        # check): a chunked body has no length up front, and is limited as it is read.
        length = env.get("CONTENT_LENGTH")
        if (
            length
            and length.isascii()
            and length.isdigit()
            and int(length) > max_bytes
            and "chunked" not in env.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            raise RequestEntityTooLarge()  # even on routes that never read their body
        ctx.request_id = rid = rt.ids.request_id()
        current_request.set(RequestInfo(request_id=rid, idempotency_key=env.get("HTTP_X_IDEMPOTENCY_KEY")))
        if background:
            sb.dispatcher.ensure_started()
        query = env.get("QUERY_STRING", "")
        if (
            "\x00" in env.get("PATH_INFO", "")
            or "\x00" in query
            or "%00" in query
            or any("\x00" in v for k, v in env.items() if k.startswith("HTTP_") and isinstance(v, str))
        ):
            raise _as_api_error(400, "NUL characters are not allowed in the URL or headers")
        path = req.path
        api = api_of(path)
        if api in ("sumsub", "dakota", "dashboard"):
            caller = env.get("HTTP_X_APP_TOKEN") or env.get("HTTP_X_API_KEY") or env.get("HTTP_X_APPLICATION_TOKEN")
            injection, over, headers = sb.faults.check(api, req.method, path, caller)
            if headers:
                ctx.rate_headers = headers
            if injection is not None:
                ctx.journal_note = injection.describe()
                if injection.latency_ms:
                    time.sleep(injection.latency_ms / 1000)
                if injection.reset:
                    return _reset_connection()
                if injection.status:
                    ctx.fault_rule = injection.rule_id
                    raise _as_api_error(injection.status, f"Injected fault ({injection.rule_id})")
            if over is not None:
                return _too_many_requests(api, headers)
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        ctx = g._get_current_object()
        attrs = ctx.__dict__
        response.headers["x-request-id"] = request_id = attrs.get("request_id", "")
        rate_headers = attrs.get("rate_headers")
        if rate_headers:
            for name, value in rate_headers.items():
                response.headers.setdefault(name, value)
        if attrs.get("fault_rule"):
            response.headers["X-Sandbox-Fault"] = ctx.fault_rule  # marks a response the sandbox made up
        method = req.method
        if background and sb.webhooks.work_queued.is_set():
            # What the request queued goes out now, not at the next poll; after the response is sent, so the
            # dispatcher's thread does not compete with it for the interpreter.
            sb.webhooks.work_queued.clear()
            response.call_on_close(sb.dispatcher.kick)
        path = req.path
        if journal_on and not path.startswith("/_sandbox/journal"):
            full_path = req.full_path.rstrip("?") if req.environ.get("QUERY_STRING") else path
            try:
                full = sb.journal.add(
                    at=rt.clock.approximate_now(),
                    api=api_of(path),
                    method=method,
                    path=full_path[:2000],
                    status=response.status_code,
                    duration_ms=(time.perf_counter() - attrs.get("started", time.perf_counter())) * 1000,
                    request_id=request_id,
                    note=attrs.get("journal_note"),
                )
                if full:
                    sb.flush_journal()
            except SQLAlchemyError:  # the journal is best effort; never fail a request over it
                log.warning("journal write skipped", exc_info=True)
        return response

    @app.errorhandler(SandboxError)
    def _domain_error(err: SandboxError) -> Response:
        return render_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        description = {
            404: "Not found: no such endpoint",
            405: f"Method {request.method} is not allowed here",
            413: f"Request body too large (limit {settings.max_request_bytes} bytes)",
        }.get(status, err.description or err.name)
        api = api_of(request.path)
        if api == "sumsub":
            return render_error(SumsubError(description, status=status))
        if api == "control":
            return render_error(ControlError(description, status=status))
        return render_error(DakotaProblem(status, description))

    @app.errorhandler(DataError)
    def _bad_data(err: DataError) -> Response:
        # The database refused a value (e.g. a NUL character on PostgreSQL); the transaction rolled back.
        log.info("store rejected a value: %s", err.orig)
        return render_error(_as_api_error(400, "The request contains a value the store cannot hold (e.g. a NUL)"))

    @app.errorhandler(OperationalError)
    def _busy(err: OperationalError) -> Response:
        log.warning("store busy: %s", err)
        resp = render_error(_as_api_error(503, "The sandbox store is busy; retry the request"))
        resp.headers["Retry-After"] = "1"
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unexpected error")
        return render_error(_as_api_error(500, f"Internal sandbox error ({type(err).__name__}); see the server log"))

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


def _too_many_requests(api: str, headers: dict[str, str]) -> Response:
    """429: Dakota answers with headers only (no body); Sumsub with its JSON error."""
    resp = Response(status=429) if api == "dakota" else render_error(SumsubError("Too many requests", status=429))
    for name, value in headers.items():
        resp.headers[name] = value
    g.journal_note = "rate limited"
    return resp


def _reset_connection() -> Response:
    """Drop the TCP connection without an answer (gunicorn); in-process, the WSGI transport raises instead."""
    import socket

    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    resp = Response(status=502)
    resp.headers["X-Sandbox-Fault"] = "connection-reset"
    return resp


def _as_api_error(status: int, message: str) -> SandboxError:
    api = api_of(request.path)
    if api == "sumsub":
        return SumsubError(message, status=status)
    if api == "dakota":
        return DakotaProblem(status, message)
    return ControlError(message, status=status)


def render_error(err: SandboxError) -> Response:
    """One renderer per API, in that provider's exact envelope."""
    if isinstance(err, SumsubError):
        resp = jsonify(err.to_dict(correlation_id=sandbox().rt.ids.correlation_id()))
    elif isinstance(err, ApplicationNotReady):
        resp = jsonify(err.body)
    elif isinstance(err, DakotaProblem):
        bulk = request.path == "/customers/bulk-import-sumsub-tokens"
        resp = jsonify(err.to_dict(path=request.path, request_id=g.get("request_id", ""), bulk_style=bulk))
        if not bulk:
            resp.mimetype = "application/problem+json"
    elif isinstance(err, ControlError):
        resp = jsonify(err.to_dict())
    else:
        resp = jsonify({"error": {"status": err.status, "message": err.message}})
    resp.status_code = err.status
    g.journal_note = err.message[:500]
    return resp


def json_body(allow_empty: bool = False) -> Any:
    """The request's JSON body, or None when empty and allowed; raises ValueError on bad JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return None
        raise ValueError("request body is empty")
    return json.loads(raw)


# What `jsonify` writes (compact, ASCII-safe, keys in order, Flask's `default` for dates and the like, a trailing
# newline), without building an encoder and going through the app's JSON provider on every response.
_encode = json.JSONEncoder(
    ensure_ascii=True, sort_keys=False, separators=(",", ":"), default=DefaultJSONProvider.default
).encode


def ok(payload: Any, status: int = 200) -> Response:
    return Response(_encode(payload) + "\n", status=status, mimetype="application/json")


def read_args() -> dict[str, str]:
    return dict(request.args.items())


def parse_json_or(err_factory: Any) -> Any:
    try:
        return json_body()
    except RecursionError:
        raise err_factory("Request body must be valid JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise err_factory(f"Request body must be valid JSON ({exc})") from None


def clamp_int(raw: str | None, default: int, low: int, high: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise ControlError(f"{name} must be an integer between {low} and {high}", field=name)
    return int(raw)
