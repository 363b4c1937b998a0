"""Raw WSGI calls (exact bytes, paths and headers, as a WSGI server would pass them) and a fingerprint of the store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from simulator.core.store import Base, Store
from simulator.harness.transport import call_wsgi

# Written on every request by design (the bounded request journal); everything else must stay put on a 4xx.
UNFINGERPRINTED = {"sandbox_journal"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def call(
    app: Flask,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> Reply:
    """Send `target` (path and query exactly as on the request line) to the app as a WSGI server does.

    PATH_INFO is the percent-decoded path as latin-1 characters of its bytes, RAW_URI the target untouched, and
    header values the latin-1 reading of their UTF-8 bytes (what a server receives from a client sending UTF-8).
    """
    status, response_headers, content = call_wsgi(app, method, target, body, headers, port=8080, chunked=chunked)
    return Reply(int(status.split(" ", 1)[0]), {k.lower(): v for k, v in response_headers}, content)


def fingerprint(store: Store) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row, per table (the journal aside)."""
    out: dict[str, tuple[int, str]] = {}
    with store.read() as tx:
        for table in Base.metadata.sorted_tables:
            if table.name in UNFINGERPRINTED:
                continue
            rows = tx.all(select(table).order_by(*table.primary_key.columns))
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


def api_kind(path: str) -> str:
    """Whose envelope an error of `path` must use: sumsub, dakota, control, or meta (no provider's API)."""
    if path.startswith("/resources"):
        return "sumsub"
    if path.startswith("/_sandbox"):
        return "control"
    if path == "/" or path.startswith(("/dashboard", "/openapi")):
        return "meta"
    return "dakota"


def envelope_problems(path: str, reply: Reply) -> list[str]:
    """What is wrong with an error reply's envelope for `path`'s API (empty when it is the provider's own)."""
    api = api_kind(path)
    status = reply.status
    try:
        body = reply.json()
    except ValueError:
        return [f"{status} body is not JSON: {reply.body[:200]!r}"]
    if not isinstance(body, dict):
        return [f"{status} body is not a JSON object: {body!r:.200}"]
    if api == "sumsub":
        return _sumsub_problems(reply, body)
    if api == "control" or (api == "meta" and "error" in body):
        # The dashboard and the served contracts are no provider's API: the control plane's envelope or a problem.
        return _control_problems(reply, body)
    if path.endswith("/submissions") and body.get("code") == "application_not_ready" and status == 400:
        # Dakota's own ApplicationNotReadyError body (the spec's, not a problem document).
        return [] if isinstance(body.get("status_message"), str) else ["application_not_ready without status_message"]
    return _problem_details_problems(reply, body)


def _sumsub_problems(reply: Reply, body: dict[str, Any]) -> list[str]:
    """Sumsub's `{description, code == status, correlationId}` in application/json."""
    problems: list[str] = []
    if body.get("code") != reply.status:
        problems.append(f"Sumsub error code {body.get('code')!r} != HTTP {reply.status}")
    if not isinstance(body.get("description"), str) or not body["description"]:
        problems.append("Sumsub error without a description")
    if not isinstance(body.get("correlationId"), str):
        problems.append("Sumsub error without a correlationId")
    if not reply.content_type.startswith("application/json"):
        problems.append(f"Sumsub error Content-Type {reply.content_type!r}")
    return problems


def _control_problems(reply: Reply, body: dict[str, Any]) -> list[str]:
    """The control plane's `{"error": {"status", "message"}}`."""
    status = reply.status
    err = body.get("error")
    if not isinstance(err, dict) or err.get("status") != status or not isinstance(err.get("message"), str):
        return [f'control error not {{"error": {{"status": {status}, "message": ...}}}}: {body!r:.300}']
    return []


def _problem_details_problems(reply: Reply, body: dict[str, Any]) -> list[str]:
    """Dakota's problem details: `status` == the HTTP status, a type, a title and a detail."""
    problems: list[str] = []
    if body.get("status") != reply.status:
        problems.append(f"problem status {body.get('status')!r} != HTTP {reply.status}")
    for key in ("type", "title", "detail"):
        if not isinstance(body.get(key), str):
            problems.append(f"problem without {key}")
    if not reply.content_type.startswith(("application/problem+json", "application/json")):
        problems.append(f"problem Content-Type {reply.content_type!r}")
    return problems
