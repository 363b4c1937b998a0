"""A requests transport adapter that calls a WSGI app in-process, so one client works in-process or over HTTP."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPHeaderDict, HTTPResponse


class WSGIAdapter(BaseAdapter):
    """Mount on a `requests.Session` for a base URL; requests go straight to the WSGI app."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        target = url.path + (f"?{url.query}" if url.query else "")
        status_line, headers, content = call_wsgi(
            self.app,
            request.method or "GET",
            target,
            body,
            dict(request.headers.items()),
            host=url.hostname or "localhost",
            port=url.port or 80,
            scheme=url.scheme or "http",
        )
        if any(k.lower() == "x-sandbox-fault" and v == "connection-reset" for k, v in headers):
            # Over TCP the sandbox drops the connection; in-process, fail the way requests would.
            raise requests.ConnectionError("Connection reset by peer (injected by the sandbox)", request=request)
        resp = requests.Response()
        code, _, reason = status_line.partition(" ")
        resp.status_code = int(code)
        resp.reason = reason
        resp.headers = CaseInsensitiveDict(headers)
        # A raw response too, as over HTTP: tools that read `raw.headers` (schemathesis) see every header.
        resp.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(headers),
            status=resp.status_code,
            version=11,
            preload_content=False,
        )
        resp.url = request.url or ""
        resp.request = request
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        """Nothing to close."""


def call_wsgi(
    app: Any,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 80,
    scheme: str = "http",
    chunked: bool = False,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call a WSGI app as a server would: `target` is the path and query exactly as on the request line.

    PATH_INFO is the percent-decoded path as latin-1 characters of its bytes, RAW_URI the target untouched, and
    header values the latin-1 reading of their UTF-8 bytes. `chunked`: the body came with `Transfer-Encoding:
    chunked` (no Content-Length; the server hands over the de-chunked stream). Returns (status line, headers, body).
    """
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": target,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    if chunked:
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    for name, value in (headers or {}).items():
        wsgi_value = value.encode("utf-8").decode("latin-1")
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = wsgi_value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = wsgi_value
    box: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        box["status"] = status
        box["headers"] = response_headers
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    except ConnectionAbortedError:
        content = b""  # the sandbox dropped the connection (a `reset` fault): its marker header says so
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return box["status"], box["headers"], content


def in_process_session(app: Any, base_url: str = "http://localhost") -> tuple[requests.Session, str]:
    """A requests session whose calls to `base_url` run in-process against `app` (a harness session: its
    control-plane requests carry X-Sandbox-Token)."""
    from simulator.harness.clients import harness_session

    session = harness_session()
    session.mount(base_url, WSGIAdapter(app))
    return session, base_url
