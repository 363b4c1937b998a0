"""Serving the sandbox on granian (its WSGI interface), one or more worker processes.

The CLI prepares the store once (schema, seed) before any worker starts. Workers are granian's processes; each
builds its own app with `worker_app` (granian's `factory` target), from the settings this process exported as
SANDBOX_* environment variables, with its own id salt (seeded id streams never collide across workers) and its own
webhook dispatcher thread (started with the app). Everything imported before the workers start (modules, compiled
contracts) is frozen out of the cyclic collector with `gc.freeze`, so forked workers share those pages and never
walk them. granian drains in-flight requests on SIGTERM, and respawns a worker that died (e.g. SIGKILL).
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

from simulator.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

# Each worker serves requests on a pool of blocking threads: requests wait on the store (SQLite's one writer, the
# PostgreSQL round trips), not on the CPU, so a few threads per worker keep both cores busy.
THREADS_PER_WORKER = 8


def worker_app() -> Flask:
    """One worker's app: the settings the server exported, an id salt of its own (its pid)."""
    from simulator.app import create_app

    app = create_app(Settings.from_env(), prepare=False, worker_salt=os.getpid())
    gc.freeze()  # the app lives as long as the worker: out of the collector's generations with the rest
    return app


def serve(settings: Settings, *, quiet: bool = False) -> None:
    """Serve until SIGTERM / SIGINT (the store must be prepared already)."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    os.environ.update(settings.to_env())  # what every worker's `worker_app` reads
    # No collection first: the few unreachable objects are not worth 40 to 80 ms of every cold start.
    gc.freeze()
    Granian(
        "simulator.server:worker_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,
        blocking_threads=THREADS_PER_WORKER,
        factory=True,
        log_level=LogLevels.warning if quiet else LogLevels.info,
        log_access=not quiet,
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=10,
    ).serve()
