"""Verify Pact files (yours or ours) against the sandbox: `kyc-sandbox contract verify`.

- Provider states go to the control plane, `POST /_sandbox/pact/provider-states` (a URL state handler: fast, and
  the values it answers are injected into requests marked with `generate.provider_state("${token}")`).
- Sumsub requests are re-signed on the way in by a small local proxy: the signature covers a fresh timestamp and
  the exact request, so a pact can only hold an example; the proxy plays the consumer's signing client with the
  sandbox's published credentials, and the sandbox checks every signature as it always does.
- Message (webhook) interactions are produced by driving the sandbox through its public endpoints and capturing
  the webhook it really delivers to a local receiver.

Empty sources fail: a missing file, a file that is not a pact, a pact with no interactions, a directory without
pacts, and a verifier run that checked fewer interactions than the file holds.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import http.client
import json
import os
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from simulator.harness.clients import ControlApi, DakotaApi, SumsubApi, control_headers, harness_session
from simulator.harness.receiver import Received, WebhookReceiver
from simulator.settings import control_token_from_env
from simulator.sumsub.signing import signed_headers

STATE_PATH = "/_sandbox/pact/provider-states"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}
ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")
WsgiApp = Callable[..., Any]


class PactSourceError(Exception):
    """The pact source is missing, unreadable or holds nothing to verify."""


class SandboxUnavailable(Exception):
    """The provider base URL does not answer as a kyc-sandbox."""


# ============================================================================================= pact files
@dataclass(frozen=True)
class PactInteraction:
    description: str
    kind: str  # "HTTP" | "message"
    states: tuple[str, ...]
    expected: Any  # the expected message contents (messages only)
    params: tuple[dict[str, Any], ...] = ()  # each state's params, in order


@dataclass(frozen=True)
class PactFile:
    path: Path
    consumer: str
    provider: str
    interactions: tuple[PactInteraction, ...]

    @property
    def messages(self) -> list[PactInteraction]:
        return [i for i in self.interactions if i.kind == "message"]


def _interaction(raw: dict[str, Any], message_pact: bool) -> PactInteraction:
    kind_raw = str(raw.get("type", ""))
    is_message = message_pact or "Messages" in kind_raw or ("contents" in raw and "request" not in raw)
    declared = raw.get("providerStates") or ([{"name": raw["providerState"]}] if raw.get("providerState") else [])
    states = tuple(str(s.get("name", "")) if isinstance(s, dict) else str(s) for s in declared)
    params = tuple(
        dict(s["params"]) if isinstance(s, dict) and isinstance(s.get("params"), dict) else {} for s in declared
    )
    expected: Any = None
    if is_message:
        contents = raw.get("contents")
        if isinstance(contents, dict) and "content" in contents:  # V4: {"content", "contentType", "encoded"}
            contents = contents["content"]
        if isinstance(contents, str):
            with contextlib.suppress(ValueError):
                contents = json.loads(contents)
        expected = contents
    kind = "message" if is_message else "HTTP"
    return PactInteraction(str(raw.get("description", "")), kind, states, expected, params)


def load_pact(path: Path) -> PactFile:
    """Parse one pact file; raise PactSourceError when it is not a pact or holds no interactions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PactSourceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PactSourceError(f"{path}: not a readable JSON pact file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("consumer"), dict) or not data.get("provider"):
        raise PactSourceError(f"{path}: not a pact file (no consumer/provider)")
    raws = data.get("interactions")
    message_pact = False
    if raws is None and isinstance(data.get("messages"), list):  # V3 message pact
        raws, message_pact = data["messages"], True
    if not isinstance(raws, list) or not raws:
        raise PactSourceError(f"{path}: the pact has no interactions: nothing would be verified")
    interactions = tuple(_interaction(r, message_pact) for r in raws if isinstance(r, dict))
    if not interactions:
        raise PactSourceError(f"{path}: the pact has no interactions: nothing would be verified")
    return PactFile(path, str(data["consumer"].get("name", "")), str(data["provider"].get("name", "")), interactions)


def load_pacts(sources: list[Path], provider: str | None = None) -> list[PactFile]:
    """Every pact under `sources` (files, or directories of *.json), optionally only those for `provider`."""
    if not sources:
        raise PactSourceError("no pact file or directory given")
    pacts: list[PactFile] = []
    for src in sources:
        if src.is_dir():
            files = sorted(src.glob("*.json"))
            if not files:
                raise PactSourceError(f"{src}: no pact files (*.json) in this directory")
            pacts.extend(load_pact(f) for f in files)
        elif src.exists():
            pacts.append(load_pact(src))
        else:
            raise PactSourceError(f"{src}: no such file or directory")
    if provider is not None:
        found = sorted({p.provider for p in pacts})
        pacts = [p for p in pacts if p.provider == provider]
        if not pacts:
            raise PactSourceError(f"no pact for provider {provider!r} (the pacts name: {', '.join(found)})")
    return pacts


# ============================================================================================= servers
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


# ============================================================================================= webhook producer
DAKOTA_CHAIN = (
    "customer.created",
    "customer.kyb_application.submitted",
    "customer.updated",
    "customer.kyb_status.created",
    "recipient.created",
)
SUMSUB_TYPES = ("applicantCreated", "applicantReviewed")


class ProducerError(Exception):
    """The sandbox cannot produce the message a pact expects."""


class WebhookProducer:
    """Produces real webhook payloads by driving a sandbox through its public endpoints.

    Dakota Event envelopes: a webhook target pointing at a local receiver, a token import (`customer.created`),
    Step 3 and a submission (`customer.kyb_application.submitted`, `customer.updated`), a simulated approval
    (`customer.kyb_status.created`, `recipient.created`). Sumsub webhook payloads: the client's webhook URL set to
    the receiver, then an applicant created (`applicantCreated`) and reviewed (`applicantReviewed`), or a share token
    redeemed (`applicantReviewed` with `reuseScope`, through the endpoint the expected `reuseScope` names).
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = harness_session()
        self.control = ControlApi(self.base_url, session=self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WebhookProducer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _creds(self) -> dict[str, Any]:
        return self.control.credentials()

    def _admin(self) -> DakotaApi:
        key = next(k["key"] for k in self._creds()["dakota"]["api_keys"] if k["role"] == "admin")
        return DakotaApi(self.base_url, key, session=self.http)

    def _sumsub(self, client_id: str) -> SumsubApi:
        c = next(c for c in self._creds()["sumsub"]["clients"] if c["client_id"] == client_id)
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def _ok(self, resp: requests.Response, what: str) -> Any:
        if resp.status_code >= 300:
            raise ProducerError(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def _deliver(self, rx: WebhookReceiver, want: Callable[[dict[str, Any]], bool], what: str) -> Received:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self._ok(self.http.post(f"{self.base_url}/_sandbox/webhooks/dispatch", json={}, timeout=30), "dispatch")
            for r in list(rx.received):
                with contextlib.suppress(ValueError):
                    if want(r.json()):
                        return r
            time.sleep(0.05)
        seen = ", ".join(str(r.json().get("type")) for r in rx.received) or "nothing"
        raise ProducerError(f"the sandbox delivered no {what} webhook within {self.timeout}s (received: {seen})")

    # ------------------------------------------------------------------------------ Dakota
    def dakota_event(self, event_type: str) -> Received:
        if event_type not in DAKOTA_CHAIN:
            raise ProducerError(f"cannot produce Dakota event {event_type!r}; supported: {', '.join(DAKOTA_CHAIN)}")
        self._ok(self.control.reset(), "reset")
        admin = self._admin()
        with WebhookReceiver() as rx:
            self._ok(
                self.http.post(
                    f"{self.base_url}/webhooks/targets",
                    json={"url": rx.url, "global": True},
                    headers={"x-api-key": admin.api_key, "x-idempotency-key": str(uuid.uuid4())},
                    timeout=30,
                ),
                "create a webhook target",
            )
            row = self._ok(admin.bulk_import_sumsub_tokens([self.control.donor_token("gb-passport")]), "bulk import")
            result = row["results"][0]
            if not result.get("success"):
                raise ProducerError(f"bulk import failed: {result}")
            if DAKOTA_CHAIN.index(event_type) >= 1:
                self._complete_and_submit(admin, result["customer_id"], result["application_id"])
            if DAKOTA_CHAIN.index(event_type) >= 3:
                self._ok(
                    self.http.post(
                        f"{self.base_url}/sandbox/simulate/onboarding",
                        json={
                            "type": "kyb_approve",
                            "applicant_id": result["application_id"],
                            "simulation_id": f"pact-{uuid.uuid4().hex[:8]}",
                        },
                        headers={"x-api-key": admin.api_key, "x-idempotency-key": str(uuid.uuid4())},
                        timeout=30,
                    ),
                    "simulate an approval",
                )
            return self._deliver(rx, lambda b: b.get("type") == event_type, event_type)

    def _complete_and_submit(self, admin: DakotaApi, customer_id: str, application_id: str) -> None:
        from simulator.sumsub.profiles import fake_image

        token = admin.application_token(customer_id)
        url = f"{self.base_url}/applications/{application_id}"
        hdrs = {"X-Application-Token": token}
        app = self._ok(admin.get_application(application_id, token, include="entities"), "read the application")
        ind = app["entities"]["primary_individual"]
        details = {
            "roles": ["individual"],
            "name": {"first": ind.get("first_name") or "Ada", "last": ind.get("last_name") or "Lovelace"},
            "date_of_birth": ind.get("date_of_birth") or "1990-01-01",
            "nationalities": ind.get("nationalities") or ["GB"],
            "address": ind.get("address") or {"street1": "1 Main Street", "city": "London", "country": "GB"},
            "email_address": ind.get("email_address") or "ada@mailbox.co.uk",
            "employment_status": "employed",
            "purpose_of_account": ["investing"],
            "source_of_wealth": ["employment"],
        }
        self._ok(self.http.put(f"{url}/individual-details", json=details, headers=hdrs, timeout=30), "Step 3 details")

        def post(path: str, body: dict[str, Any], what: str) -> Any:
            h = {**hdrs, "x-idempotency-key": str(uuid.uuid4())}
            return self._ok(self.http.post(url + path, json=body, headers=h, timeout=30), what)

        doc = {
            "type": "source_of_wealth",
            "file_type": "png",
            "file_content": base64.b64encode(fake_image("pact-sow")).decode(),
            "country": "GB",
        }
        post(f"/associated-individuals/{ind['id']}/documents", doc, "upload a source-of-wealth document")
        now = int(self.control.clock()["epoch"])
        for i, kind in enumerate(ATTESTATIONS):
            body = {"attestation_type": kind, "timestamp": now - 100 + i, "applicant_id": ind["id"]}
            post("/attestations", body, f"attest {kind}")
        post("/submissions", {}, "submit the application")

    # ------------------------------------------------------------------------------ Sumsub
    def sumsub_webhook(self, event_type: str, reuse_scope: str | None = None) -> Received:
        if event_type not in SUMSUB_TYPES:
            raise ProducerError(f"cannot produce Sumsub webhook {event_type!r}; supported: {', '.join(SUMSUB_TYPES)}")
        self._ok(self.control.reset(), "reset")
        creds = self._creds()
        recipient = str(creds["sumsub"]["dakota_client_id"])
        donor = next(c["client_id"] for c in creds["sumsub"]["clients"] if c["role"] == "donor")
        with WebhookReceiver() as rx:
            client = recipient if reuse_scope else donor
            self._ok(
                self.http.post(
                    f"{self.base_url}/_sandbox/sumsub/webhooks", json={"client_id": client, "url": rx.url}, timeout=30
                ),
                "configure the Sumsub webhook",
            )
            if reuse_scope:
                # Every redemption path sends the one documented reuseScope; Dakota's import is the one this
                # sandbox is about.
                token = self.control.donor_token("gb-passport", share_with=recipient)
                self._ok(self._admin().bulk_import_sumsub_tokens([token]), "Dakota bulk import")
            else:
                api = self._sumsub(donor)
                made = self._ok(
                    api.create_applicant(
                        "basic-kyc-level",
                        {
                            "externalUserId": f"user-{uuid.uuid4().hex[:8]}",
                            "fixedInfo": {"firstName": "Jane", "lastName": "Doe"},
                        },
                    ),
                    "create an applicant",
                )
                if event_type == "applicantReviewed":
                    self._ok(api.test_completed(made["id"]), "complete the review")

            def wanted(b: dict[str, Any]) -> bool:
                return b.get("type") == event_type and (reuse_scope is None or "reuseScope" in b)

            return self._deliver(rx, wanted, event_type)

    # ------------------------------------------------------------------------------ by expectation
    def produce(self, expected: Any) -> Received:
        """The real webhook matching what a pact expects (read from the expected example's `type`)."""
        if not isinstance(expected, dict) or not isinstance(expected.get("type"), str):
            raise ProducerError("the expected message is not a JSON object with a string 'type'")
        kind = expected["type"]
        if kind in DAKOTA_CHAIN or "api_version" in expected:
            return self.dakota_event(kind)
        if kind in SUMSUB_TYPES or "applicantId" in expected:
            scope = expected.get("reuseScope")
            return self.sumsub_webhook(kind, scope if isinstance(scope, str) else None)
        raise ProducerError(f"unknown message type {kind!r}")

    def message(self, expected: Any) -> dict[str, Any]:
        """A pact-python `Message`: the delivered body and its delivery headers as metadata (signatures left out)."""
        r = self.produce(expected)
        metadata: dict[str, Any] = {"contentType": "application/json"}
        for name in ("X-Dakota-Event-Type", "X-Dakota-Event-ID", "x-payload-digest-alg"):
            value = r.header(name)
            if value is not None:
                metadata[name] = value
        return {"contents": r.body, "metadata": metadata, "content_type": "application/json"}


# ============================================================================================= verification
@dataclass
class InteractionOutcome:
    description: str
    kind: str
    states: list[str]
    passed: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class PactOutcome:
    pact: PactFile
    interactions: list[InteractionOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return not self.errors and bool(self.interactions) and all(i.passed for i in self.interactions)


@dataclass
class Report:
    base_url: str
    pacts: list[PactOutcome]

    @property
    def passed(self) -> bool:
        return bool(self.pacts) and all(p.passed for p in self.pacts)

    @property
    def counts(self) -> tuple[int, int]:
        ok = sum(1 for p in self.pacts for i in p.interactions if i.passed)
        total = sum(len(p.interactions) for p in self.pacts)
        return ok, total - ok

    def render(self, *, verbose: bool = False) -> str:
        lines = [f"Verifying against {self.base_url}"]
        for p in self.pacts:
            n = len(p.pact.interactions)
            lines.append("")
            lines.append(f"{p.pact.path}  ({p.pact.consumer} -> {p.pact.provider}, {n} interaction{'s' * (n != 1)})")
            for i in p.interactions:
                mark = "PASS" if i.passed else "FAIL"
                given = f"  [given: {'; '.join(i.states)}]" if i.states else ""
                kind = " (message)" if i.kind == "message" else ""
                lines.append(f"  {mark}  {i.description}{kind}{given}")
                lines.extend(f"          {problem}" for problem in i.problems)
            lines.extend(f"  ERROR {e}" for e in p.errors)
            if verbose and p.output:
                lines.append("  --- pact verifier output ---")
                lines.extend(f"  {line}" for line in p.output.splitlines())
        ok, failed = self.counts
        errors = sum(len(p.errors) for p in self.pacts)
        verdict = "PASSED" if self.passed else "FAILED"
        extra = f", {errors} error{'s' * (errors != 1)}" if errors else ""
        lines.append("")
        lines.append(f"{verdict}: {ok + failed} interactions checked, {ok} ok, {failed} failing{extra}")
        return "\n".join(lines)


def _mismatch_lines(raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return [str(raw)] if raw else []
    if isinstance(raw.get("mismatches"), list):
        out = []
        for m in raw["mismatches"]:
            if not isinstance(m, dict):
                out.append(str(m))
                continue
            text = str(m.get("mismatch") or m.get("message") or json.dumps(m))
            path = m.get("path")
            kind = m.get("type", "")
            if path and path != "/":
                out.append(f"{path} -> {text}")
            elif kind and kind not in ("BodyMismatch",):
                out.append(f"{kind}: {text}")
            else:
                out.append(text)
        return out
    for key in ("message", "error", "description"):
        if raw.get(key):
            return [str(raw[key])]
    return [json.dumps(raw)]


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 to `path` for the block: the Rust verifier prints its own report on stdout
    and pact's message relay logs each request on stderr; the report here says it more briefly."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(path, "wb") as fh:
            os.dup2(fh.fileno(), 1)
            os.dup2(fh.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


def _verify_one(
    pact: PactFile, target_url: str, state_url: str, producer: WebhookProducer, known_states: set[str] | None
) -> PactOutcome:
    from pact import Verifier
    from pact.types import Message

    outcome = PactOutcome(pact)
    host = urlsplit(target_url).hostname or "127.0.0.1"
    verifier = (
        Verifier(pact.provider, host=host)
        .add_source(str(pact.path))
        .add_transport(url=target_url)
        .state_handler(state_url, teardown=True, body=True)
        .set_coloured_output(enabled=False)
        .set_request_timeout(30_000)
    )
    messages = pact.messages
    failures: dict[str, str] = {}
    if messages:

        def producer_for(expected: Any, description: str) -> Callable[[], Message]:
            def produce() -> Message:
                try:
                    made = producer.message(expected)
                    return Message(
                        contents=made["contents"], metadata=made["metadata"], content_type=made["content_type"]
                    )
                except (ProducerError, requests.RequestException) as exc:
                    failures[description] = str(exc)
                    raise

            return produce

        verifier.message_handler({m.description: producer_for(m.expected, m.description) for m in messages})
    ran = True
    with tempfile.TemporaryDirectory(prefix="kyc-pact-") as tmp:
        try:
            with _output_to(Path(tmp) / "verifier.out"):
                verifier.verify()
        except RuntimeError:
            pass  # the verifier's only failure signal; the per-interaction results say what failed
        except Exception as exc:
            outcome.errors.append(f"the verifier could not run: {type(exc).__name__}: {exc}")
            ran = False
    results = verifier.results if ran else {}
    outcome.output = verifier.output(strip_ansi=True) if ran else ""
    # pact-python 4.2 stops its message relay and state callback servers with `shutdown()` but never closes their
    # listening sockets: collected here, quietly, rather than warned about later.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del verifier
        gc.collect()
    if not ran:
        return outcome
    outcome.interactions.extend(_interaction_outcomes(pact, results, failures, known_states, state_url))
    checked = len(results.get("interactionResults") or [])
    if checked != len(pact.interactions):
        outcome.errors.append(f"the verifier checked {checked} of the {len(pact.interactions)} interactions")
    return outcome


def _interaction_outcomes(
    pact: PactFile,
    results: dict[str, Any],
    failures: dict[str, str],
    known_states: set[str] | None,
    state_url: str,
) -> list[InteractionOutcome]:
    """Each interaction's verdict, with what explains a failure."""
    out: list[InteractionOutcome] = []
    by_description: dict[str, list[dict[str, Any]]] = {}
    for r in results.get("interactionResults") or []:
        by_description.setdefault(str(r.get("description")), []).append(r)
    for inter in pact.interactions:
        rows = by_description.get(inter.description) or []
        if not rows:
            out.append(
                InteractionOutcome(inter.description, inter.kind, list(inter.states), False, ["was not verified"])
            )
            continue
        row = rows.pop(0)
        passed = str(row.get("result")) == "OK"
        problems = [] if passed else _mismatch_lines(row.get("mismatch"))
        if not passed and inter.description in failures:
            problems.append(f"producing the message failed: {failures[inter.description]}")
        if not passed and known_states is not None:
            problems.extend(
                f"provider state {s!r} is not in the sandbox's catalogue (see `kyc-sandbox contract states`)"
                for s in inter.states
                if s and s not in known_states
            )
        if not passed and any("state change handler" in p for p in problems):
            problems.extend(_state_errors(state_url, inter, known_states))
        out.append(InteractionOutcome(inter.description, inter.kind, list(inter.states), passed, problems))
    return out


def _state_errors(state_url: str, inter: PactInteraction, known: set[str] | None) -> list[str]:
    """Why a state setup failed: set the (catalogued) states up again and report the sandbox's error messages."""
    out = []
    for state, params in zip(inter.states, inter.params or tuple({} for _ in inter.states), strict=False):
        if known is not None and state not in known:
            continue  # already reported
        try:
            resp = requests.post(
                state_url,
                json={"action": "setup", "state": state, "params": params},
                headers=control_headers(),
                timeout=30,
            )
        except requests.RequestException as exc:
            out.append(f"provider state {state!r}: {type(exc).__name__}")
            continue
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:300]
            out.append(f"provider state {state!r}: the sandbox answered {resp.status_code}: {message}")
    return out


def _known_states(base_url: str) -> set[str] | None:
    try:
        resp = requests.get(base_url.rstrip("/") + STATE_PATH, headers=control_headers(), timeout=10)
        return {s["name"] for s in resp.json()["states"]} if resp.status_code == 200 else None
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def verify_pacts(pacts: list[PactFile], base_url: str, *, sign_sumsub: bool = True) -> Report:
    """Verify every pact against the sandbox at `base_url` (which must serve the control plane)."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    if not pacts:
        raise PactSourceError("no pacts to verify")
    base_url = base_url.rstrip("/")
    try:
        health = requests.get(f"{base_url}/_sandbox/health", timeout=10)
    except requests.RequestException as exc:
        raise SandboxUnavailable(f"cannot reach the sandbox at {base_url} ({type(exc).__name__})") from None
    if health.status_code != 200:
        raise SandboxUnavailable(
            f"{base_url} is not a kyc-sandbox (GET /_sandbox/health answered {health.status_code})"
        )
    known = _known_states(base_url)
    with contextlib.ExitStack() as stack:
        producer = stack.enter_context(WebhookProducer(base_url))
        target = state_base = base_url
        if sign_sumsub or control_token_from_env():
            # The proxy signs Sumsub requests, and adds the control token to the verifier's state calls.
            proxy = stack.enter_context(SigningProxy(base_url)).url
            target = proxy if sign_sumsub else base_url
            state_base = proxy
        state_url = state_base + STATE_PATH
        return Report(base_url, [_verify_one(p, target, state_url, producer, known) for p in pacts])


def verify(
    sources: list[Path],
    base_url: str | None = None,
    *,
    provider: str | None = None,
    sign_sumsub: bool = True,
) -> Report:
    """Load the pacts under `sources` and verify them against `base_url`, or against a sandbox started here."""
    pacts = load_pacts(sources, provider)
    if base_url:
        return verify_pacts(pacts, base_url, sign_sumsub=sign_sumsub)
    with LocalSandbox() as local:
        return verify_pacts(pacts, local.base_url, sign_sumsub=sign_sumsub)
