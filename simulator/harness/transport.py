"""A requests transport adapter that calls a WSGI app in-process, so one client works in-process or over HTTP."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

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
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method or "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_path(url.path),
            "QUERY_STRING": url.query,
            "RAW_URI": url.path + (f"?{url.query}" if url.query else ""),
            "SERVER_NAME": url.hostname or "localhost",
            "SERVER_PORT": str(url.port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        status_holder: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_holder["status"] = status
            status_holder["headers"] = headers
            return lambda _data: None

        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if any(k.lower() == "x-sandbox-fault" and v == "connection-reset" for k, v in status_holder["headers"]):
            # Over TCP the sandbox drops the connection; in-process, fail the way requests would.
            raise requests.ConnectionError("Connection reset by peer (injected by the sandbox)", request=request)
        resp = requests.Response()
        resp.status_code = int(status_holder["status"].split(" ", 1)[0])
        resp.reason = status_holder["status"].split(" ", 1)[1] if " " in status_holder["status"] else ""
        resp.headers = CaseInsensitiveDict(status_holder["headers"])
        # A raw response too, as over HTTP: tools that read `raw.headers` (schemathesis) see every header.
        resp.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(status_holder["headers"]),
            status=resp.status_code,
            version=11,
            preload_content=False,
        )
        resp._content = content
        resp.url = request.url or ""
        resp.request = request
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        """Nothing to close."""


def _wsgi_path(path: str) -> str:
    from urllib.parse import unquote

    # WSGI carries the decoded path as latin-1 characters of the UTF-8 bytes.
    return unquote(path).encode("utf-8").decode("latin-1")


def in_process_session(app: Any, base_url: str = "http://sandbox.local") -> tuple[requests.Session, str]:
    """A requests session whose calls to `base_url` run in-process against `app`."""
    session = requests.Session()
    session.mount(base_url, WSGIAdapter(app))
    return session, base_url
