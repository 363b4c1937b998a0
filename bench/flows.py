"""The client side of the bench: HTTP helpers and the end-to-end flow, shared by both builds.

Only the standard library and `requests`: bench/inproc.py imports this module under the *old* build's interpreter
too (its own virtualenv, where nothing of the new checkout is importable).

Every control-plane write carries `Content-Type: application/json` and `X-Sandbox-Token` (CONTROL_HEADERS): builds
after 28462ce refuse form-like writes to /_sandbox/*, older ones ignore both.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

DAKOTA_CLIENT = "dakota.xyz_158913"
# The servers are spawned without SANDBOX_CONTROL_TOKEN, so any value passes; sending one is what matters.
CONTROL_HEADERS = {"X-Sandbox-Token": "bench"}


class BenchError(RuntimeError):
    pass


def session() -> requests.Session:
    s = requests.Session()
    s.headers.update(CONTROL_HEADERS)
    return s


class LeanResponse:
    """The part of `requests.Response` the flows read."""

    def __init__(self, method: str, url: str, status: int, content: bytes) -> None:
        self.request = type("Req", (), {"method": method})()
        self.url = url
        self.status_code = status
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanHttp:
    """One keep-alive HTTP/1.1 connection on `http.client`, with the `get`/`post` the flows use.

    The HTTP flow is timed with it, as the GET latency is: what is measured is the server and the wire, not the
    client library (`requests` adds most of a millisecond per call). A connection the server closed while idle is
    reopened once.
    """

    def __init__(self) -> None:
        self._conns: dict[str, http.client.HTTPConnection] = {}

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> LeanResponse:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            conn = self._conns.get(parts.netloc)
            if conn is None:
                conn = self._conns[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=120)
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                return LeanResponse(method, url, resp.status, resp.read())
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                del self._conns[parts.netloc]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(
        self, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None, **_: Any
    ) -> LeanResponse:
        return self._send("GET", url + (f"?{urlencode(params)}" if params else ""), None, dict(headers or {}))

    def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None, **_: Any) -> LeanResponse:
        body = b"" if json is None else _json_dumps(json).encode()
        return self._send("POST", url, body, {"Content-Type": "application/json", **CONTROL_HEADERS, **(headers or {})})

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


_json_dumps = json.dumps
Http = requests.Session | LeanHttp


def expect(resp: requests.Response | LeanResponse, status: int = 200) -> Any:
    if resp.status_code != status:
        raise BenchError(f"{resp.request.method} {resp.url}: HTTP {resp.status_code} {resp.text[:500]}")
    return resp.json() if resp.content else None


@dataclass
class Creds:
    admin_key: str
    donor_client_id: str
    donor_token: str
    donor_secret: str


def credentials(http: Http, base: str) -> Creds:
    data = expect(http.get(f"{base}/_sandbox/credentials", headers=CONTROL_HEADERS, timeout=10))
    admin = next(k for k in data["dakota"]["api_keys"] if "manage_compliance_applications" in k["permissions"])
    donor = next(
        c for c in data["sumsub"]["clients"] if c["role"] == "donor" and DAKOTA_CLIENT in c.get("shares_with", [])
    )
    return Creds(admin["key"], donor["client_id"], donor["app_token"], donor["secret_key"])


def bulk_import(http: Http, base: str, key: str, tokens: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = expect(
        http.post(
            f"{base}/customers/bulk-import-sumsub-tokens",
            json={"tokens": tokens},
            headers={"x-api-key": key, "x-idempotency-key": str(uuid.uuid4())},
            timeout=120,
        )
    )
    if body["succeeded"] != len(tokens):
        failed = [r for r in body["results"] if not r["success"]][:3]
        raise BenchError(f"bulk import: {body['failed']} of {len(tokens)} rows failed, e.g. {failed}")
    return body


def new_donor_token(http: Http, base: str) -> str:
    """A control-plane donor applicant with a share token for Dakota."""
    donor = expect(
        http.post(f"{base}/_sandbox/donors", json={"profile": "gb-passport", "share_with": DAKOTA_CLIENT}, timeout=30),
        201,
    )
    return str(donor["share_token"]["token"])


def import_and_read(http: Http, base: str, key: str, token: str) -> None:
    """Bulk import of one token -> GET /customers/{id} -> GET /applications/{id}."""
    row = bulk_import(http, base, key, [token])["results"][0]
    customer = expect(http.get(f"{base}/customers/{row['customer_id']}", headers={"x-api-key": key}, timeout=30))
    app_token = customer["application_url"].split("token=", 1)[1]
    expect(
        http.get(
            f"{base}/applications/{row['application_id']}",
            params={"include": "entities,validation"},
            headers={"X-Application-Token": app_token},
            timeout=30,
        )
    )


def flow(http: Http, base: str, key: str) -> float:
    """The end-to-end flow in ms: control-plane donor + token -> bulk import of 1 -> GET customer -> GET application."""
    with timed() as t:
        import_and_read(http, base, key, new_donor_token(http, base))
    return t[0]


def sample_customer(base: str, key: str) -> tuple[str, bytes, list[tuple[str, str]]]:
    """A customer imported for GET throughput: its id, and the body and headers of its GET."""
    http = LeanHttp()
    cid = str(bulk_import(http, base, key, [new_donor_token(http, base)])["results"][0]["customer_id"])
    http.close()
    conn = http_client_for(base)
    conn.request("GET", f"/customers/{cid}", headers={"x-api-key": key})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise BenchError(f"GET /customers/{cid}: HTTP {resp.status} {body[:300]!r}")
    return cid, body, resp.getheaders()


def http_client_for(base: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)


def mint_tokens(base: str, n: int, threads: int = 4) -> list[str]:
    """`n` share tokens for Dakota: a few donor applicants, many tokens each (minting is cheaper than donors)."""
    http = session()
    donors = [
        expect(http.post(f"{base}/_sandbox/donors", json={"profile": "gb-passport"}, timeout=30), 201)["applicant_id"]
        for _ in range(threads)
    ]
    out: list[list[str]] = [[] for _ in range(threads)]

    def work(i: int) -> None:
        http = session()
        for _ in range(i, n, threads):
            resp = http.post(
                f"{base}/_sandbox/share-tokens",
                json={"applicant_id": donors[i], "for_client_id": DAKOTA_CLIENT},
                timeout=30,
            )
            out[i].append(expect(resp, 201)["token"])

    run_threads(threads, work)
    return [t for chunk in out for t in chunk]


def run_threads(n: int, fn: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    yield box
    box.append((time.perf_counter() - started) * 1000)
