"""A local webhook receiver for tests: records every request and answers from a script.

with WebhookReceiver() as rx:          # listens on 127.0.0.1:<free port>
    rx.script(500, 200)                # first delivery fails, the next ones succeed
    ... point a webhook target at rx.url ...
    hook = rx.wait_for(1)[0]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulator.dakota.signing import verify_dakota_signature
from simulator.sumsub.signing import sumsub_digest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def verify_dakota(self, public_key_hex: str) -> bool:
        """Check X-Webhook-Signature (Ed25519 over timestamp + body) with the sandbox's published key."""
        ts, sig = self.header("X-Webhook-Timestamp"), self.header("X-Webhook-Signature")
        return bool(ts and sig) and verify_dakota_signature(public_key_hex, ts or "", self.body, sig or "")

    def verify_sumsub(self, secret: str) -> bool:
        """Check x-payload-digest with the webhook secret and the algorithm in x-payload-digest-alg."""
        alg = self.header("x-payload-digest-alg") or "HMAC_SHA256_HEX"
        return self.header("x-payload-digest") == sumsub_digest(secret, self.body, alg)


@dataclass
class Step:
    status: int = 200
    delay: float = 0.0


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.received: list[Received] = []
        self._script: list[Step] = []
        self._default = Step()
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                step = receiver.next_step()
                # Recorded before answering: once the sender has our response, the request is in `received`.
                with receiver.cond:
                    receiver.received.append(Received("POST", self.path, dict(self.headers.items()), body, step.status))
                    receiver.cond.notify_all()
                if step.delay:
                    time.sleep(step.delay)
                try:
                    self.send_response(step.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sandbox gave up waiting (timeout): fine
                    pass

            def log_message(self, *_args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_port}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def script(self, *steps: int | tuple[int, float]) -> None:
        """Answer the next requests with these statuses (or (status, delay_seconds)); then 200."""
        with self.cond:
            self._script = [Step(s) if isinstance(s, int) else Step(s[0], s[1]) for s in steps]

    def always(self, status: int, delay: float = 0.0) -> None:
        with self.cond:
            self._script = []
            self._default = Step(status, delay)

    def next_step(self) -> Step:
        with self.cond:
            return self._script.pop(0) if self._script else self._default

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} webhook(s), got {len(self.received)}")
                self.cond.wait(left)
            return list(self.received)

    def of_type(self, event_type: str) -> Iterator[Received]:
        for r in list(self.received):
            try:
                body = r.json()
            except ValueError:
                continue
            if body.get("type") == event_type:
                yield r

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
