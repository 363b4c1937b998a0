"""The end-to-end flow in-process, for one build: run with that build's interpreter (bench/measures.py does).

    <venv>/bin/python bench/inproc.py --runs 30 --warmup 3

Imports `simulator` from whatever the interpreter has installed (the old build's virtualenv, or the new checkout),
builds the app on in-memory SQLite without the background thread, and times the same flow as over HTTP through
`simulator.harness.transport.in_process_session` (a requests session whose adapter calls the WSGI app). Prints one
JSON object: the samples in ms and the app's build time.
"""

from __future__ import annotations

import argparse
import json
import time

from flows import credentials, flow  # bench/ is this script's directory, so it is on sys.path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from simulator.app import create_app
    from simulator.harness.transport import in_process_session
    from simulator.settings import Settings

    app = create_app(Settings(database_url="sqlite://", background_dispatch=0))
    http, base = in_process_session(app)
    http.headers.update({"X-Sandbox-Token": "bench"})
    build_ms = (time.perf_counter() - started) * 1000
    key = credentials(http, base).admin_key
    for _ in range(args.warmup):
        flow(http, base, key)
    samples = [flow(http, base, key) for _ in range(args.runs)]
    print(json.dumps({"samples_ms": samples, "app_build_ms": build_ms}))


if __name__ == "__main__":
    main()
