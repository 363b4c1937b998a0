"""Serving the sandbox on gunicorn (a production WSGI server), one or more worker processes."""

from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from simulator.settings import Settings

SALT_ENV = "SANDBOX_WORKER_SALT"


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
            "worker_class": "gthread",
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
