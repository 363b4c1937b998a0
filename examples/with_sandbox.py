"""Run a command against a fresh `kyc-sandbox serve` (free 127.0.0.1 port, temporary SQLite file), then stop it.

The command gets SANDBOX_URL and SANDBOX_CONTROL_TOKEN (sent as X-Sandbox-Token on control-plane calls) in its
environment; its exit status is this script's. Used by `make example-ts`:

    .venv/bin/python examples/with_sandbox.py -- sh -c 'cd examples/typescript && npm ci && npm test'
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"kyc-sandbox serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} was not healthy within {timeout:.0f} s")


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    port, token = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="kyc-sandbox-") as tmp:
        env = {**os.environ, "SANDBOX_CONTROL_TOKEN": token}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{tmp}/sandbox.db",
                "--quiet",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_healthy(url, server)
            print(f"with_sandbox: kyc-sandbox serving on {url}", flush=True)
            started = time.monotonic()
            status = subprocess.run(command, env={**env, "SANDBOX_URL": url}, check=False).returncode
            print(f"with_sandbox: {' '.join(command)} exited {status} after {time.monotonic() - started:.1f} s")
            return status
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
