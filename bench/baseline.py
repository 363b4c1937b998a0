"""The baseline for bench/run.py: a trivial Flask app on exactly the gunicorn configuration `kyc-sandbox serve` uses.

`python bench/baseline.py --port 8099 --workers 2` serves `GET /ping` -> `ok` (and `GET /_sandbox/health`, so cold
start is measured the same way as for the sandbox). The server class is the sandbox's own `SandboxServer` with only
the application swapped, so workers, worker class, threads, keep-alive and logging are identical.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from flask import Flask

from simulator.server import SandboxServer
from simulator.settings import Settings


def trivial_app() -> Flask:
    app = Flask("baseline")

    @app.get("/ping")
    def ping() -> str:
        return "ok"

    @app.get("/_sandbox/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid()}  # which worker holds a connection, as the sandbox says

    return app


class BaselineServer(SandboxServer):
    def load(self) -> Any:
        return trivial_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port, workers=args.workers)
    BaselineServer(settings, quiet=True).run()


if __name__ == "__main__":
    main()
