"""Serving the sandbox on gunicorn (a production WSGI server), one or more worker processes."""

from __future__ import annotations

import gc
import os
import select
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from simulator.settings import Settings

SALT_ENV = "SANDBOX_WORKER_SALT"


# How long a thread that just answered waits for the same connection's next request before handing the connection
# back: a client's turnaround between two requests of a flow is well under a millisecond, even on a busy machine.
KEEP_SERVING_S = 0.005


class KeepServingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, except that a thread that answered a keep-alive request keeps the connection while
    the client's next request follows at once (within `KEEP_SERVING_S`) and no other connection waits for a thread.

    gthread hands every request across three threads: the poller sees the socket readable and queues it, a pool
    thread serves it and queues the connection back, the poller wakes again to watch the socket. A client that
    sends its requests one after another (every flow of a test suite) paid those wake-ups on each request. A
    connection that goes quiet, or any connection while others wait for a thread, goes back to the poller as
    before; a request that arrives while every thread waits on its own connection waits `KEEP_SERVING_S` at most.
    """

    def handle(self, conn: Any) -> Any:
        while True:
            kept = super().handle(conn)
            if kept is not True or not self.alive:
                return kept
            if conn.parser.unreader.buf.getvalue():
                continue  # the next request's bytes were already read with the last body
            if self.tpool._work_queue.qsize() or not _readable(conn.sock, KEEP_SERVING_S):
                return kept  # back to the poller: others wait for a thread, or the client went quiet


def _readable(sock: Any, timeout: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


class SandboxServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn application: the master prepares the store, each worker builds its own app after fork."""

    def __init__(self, settings: Settings, *, threads: int = 8, quiet: bool = False) -> None:
        self.settings = settings
        self.threads = threads
        self.quiet = quiet
        super().__init__()

    def load_config(self) -> None:
        cfg = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.workers,
            "worker_class": KeepServingThreadWorker,
            "threads": self.threads,
            "timeout": 120,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": None if self.quiet else "-",
            "errorlog": "-",
            "loglevel": "warning" if self.quiet else "info",
            "post_fork": _post_fork,
        }
        for key, value in cfg.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from simulator.app import create_app

        app = create_app(self.settings, prepare=False)
        # The app lives as long as the worker: out of the cyclic collector's generations with the rest (see serve).
        gc.freeze()
        return app


def _post_fork(_server: Any, worker: Any) -> None:
    # Seeded id streams must differ per worker, or two workers would mint the same ids.
    os.environ[SALT_ENV] = str(worker.age)


def serve(settings: Settings, *, quiet: bool = False) -> None:
    # Everything the master built (modules, compiled contracts, table metadata) lives as long as the workers it
    # forks: frozen, no worker's full collection walks it again (and the pages it sits on stay shared). No
    # collection first: it took 40 to 80 ms of every cold start to find a few dozen unreachable objects.
    gc.freeze()
    SandboxServer(settings, quiet=quiet).run()
