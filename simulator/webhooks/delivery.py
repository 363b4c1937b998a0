"""Delivering the outbox: POST each due item (signed by its channel), record the attempt; the dispatcher thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulator.core.events import Delivery
from simulator.webhooks.outbox import Attempt, Claimed, Outbox

if TYPE_CHECKING:
    import requests

log = logging.getLogger("simulator.webhooks")


class Deliverer:
    """POSTs claimed items to their receivers (`post`: a stand-in for tests)."""

    def __init__(self, outbox: Outbox, post: Callable[..., requests.Response] | None = None) -> None:
        self.outbox = outbox
        self._post_with = post
        self._http: requests.Session | None = None

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        if self._post_with is not None:
            return self._post_with(url, **kwargs)
        if self._http is None:
            import requests  # on first delivery, not at start: the import alone is a tenth of a cold start

            self._http = requests.Session()
        return self._http.post(url, **kwargs)

    def deliver(self, item: Claimed) -> Attempt:
        import requests

        body = item.body.encode("utf-8")
        timeout = self.outbox.rt.settings.webhook_timeout_seconds
        channel = self.outbox.channels[item.kind]
        headers = {"Content-Type": "application/json", "User-Agent": "kyc-sandbox-webhooks/1"}
        headers.update(channel.sign(Delivery(item.owner, item.event_id, item.event_type, item.is_replay), body))
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            resp = self._post(item.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
            status_code = resp.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered HTTP {status_code}"
        except requests.Timeout:
            error = f"timed out after {timeout}s"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        return self.outbox.record(item, status_code, error, (time.perf_counter() - started) * 1000)

    def dispatch_due(self, limit: int = 200) -> list[Attempt]:
        """Deliver everything due now; returns what fired."""
        fired: list[Attempt] = []
        while len(fired) < limit:
            items = self.outbox.claim_due(min(50, limit - len(fired)))
            if not items:
                break
            fired.extend(self.deliver(item) for item in items)
        return fired


class Dispatcher:
    """A daemon thread per worker process: delivers due items and settles due work every `interval` seconds."""

    def __init__(self, tick: Callable[[bool], Any], interval: float = 0.5) -> None:
        """`tick(kicked)` runs every `interval` seconds (kicked=False) and as soon as `kick()` is called (True)."""
        self._tick = tick
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kyc-sandbox-dispatcher", daemon=True)
                self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            kicked = self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._tick(kicked)
            except Exception:  # the loop must survive a bad receiver or a busy store
                log.exception("webhook dispatch failed")
