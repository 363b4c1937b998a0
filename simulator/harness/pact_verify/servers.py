"""The local servers a verification may need: the sandbox in this process (`LocalSandbox`) and the proxy that
re-signs Sumsub requests (`SigningProxy`)."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from simulator.harness.clients import ControlApi, control_headers
from simulator.sumsub.signing import signed_headers

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}
WsgiApp = Callable[..., Any]


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        """No access log."""


class LocalSandbox:
    """The sandbox in this process on a free port (in-memory store), for as long as the `with` block runs.

    `middleware` wraps the WSGI app (tests use it to break a response on purpose).
    """

    def __init__(self, *, seed: int | None = None, middleware: Callable[[WsgiApp], WsgiApp] | None = None) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from simulator.app import create_app
        from simulator.settings import Settings

        class Quiet(WSGIRequestHandler):
            def log_request(self, *_args: Any, **_kwargs: Any) -> None:
                """No access log."""

        holder: dict[str, WsgiApp] = {}

        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            return holder["app"](environ, start_response)

        self._server = make_server("127.0.0.1", 0, dispatch, threaded=True, request_handler=Quiet)
        self.port = int(self._server.server_port)
        self.base_url = f"http://127.0.0.1:{self.port}"
        settings = Settings(
            database_url="sqlite://", seed=seed, port=self.port, base_url=self.base_url, background_dispatch=0
        )
        self.app = create_app(settings)
        holder["app"] = middleware(self.app.wsgi_app) if middleware else self.app.wsgi_app
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="kyc-sandbox-local"
        )

    def __enter__(self) -> LocalSandbox:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.app.extensions["kyc_sandbox"].close()


class SigningProxy:
    """Forwards every request to `upstream`; Sumsub requests carrying X-App-Token and X-App-Access-Sig are re-signed.

    The signature is computed as Sumsub's clients do (HMAC-SHA256 over a fresh timestamp, the method, the exact
    path with query and the raw body) with the secret the sandbox publishes for that app token, so the sandbox's
    own signature check runs unchanged. A request without X-App-Access-Sig (or with an unknown app token) is
    forwarded as it is, so "unsigned request is rejected" interactions still verify.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._parts = parts
        self._secrets: dict[str, str] | None = None
        self._lock = threading.Lock()
        self.signed = 0
        proxy = self

        class Handler(_QuietHandler):
            def _forward(self) -> None:
                proxy.forward(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="kyc-signing-proxy"
        )

    def secrets(self) -> dict[str, str]:
        with self._lock:
            if self._secrets is None:
                api = ControlApi(self.upstream)
                try:
                    creds = api.credentials()
                finally:
                    api.http.close()
                self._secrets = {c["app_token"]: c["secret_key"] for c in creds["sumsub"]["clients"]}
            return self._secrets

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        target = handler.path
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        prefix = self._parts.path.rstrip("/")
        if target.startswith("/_sandbox/"):
            headers.update(control_headers())  # the verifier's state calls, when the sandbox has a control token
        app_token = handler.headers.get("X-App-Token")
        if target.startswith("/resources") and app_token and handler.headers.get("X-App-Access-Sig") is not None:
            secret = self.secrets().get(app_token)
            if secret is not None:
                for name in [k for k in headers if k.lower() in ("x-app-token", "x-app-access-ts", "x-app-access-sig")]:
                    del headers[name]
                headers.update(signed_headers(app_token, secret, int(time.time()), handler.command, target, body))
                self.signed += 1
        conn_cls = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self._parts.netloc, timeout=60)
        try:
            conn.request(handler.command, prefix + target, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            handler.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        except OSError as exc:
            message = f"signing proxy: cannot reach {self.upstream}: {exc}".encode()
            with contextlib.suppress(OSError):
                handler.send_response(502)
                handler.send_header("Content-Type", "text/plain")
                handler.send_header("Content-Length", str(len(message)))
                handler.end_headers()
                handler.wfile.write(message)
        finally:
            conn.close()

    def __enter__(self) -> SigningProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
