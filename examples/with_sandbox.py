"""Run a command against a fresh `kyc-sandbox serve` (free 127.0.0.1 port, temporary SQLite file), then stop it
(`simulator.harness.served.SandboxProcess`, as the pytest plugin starts one).

The command gets SANDBOX_URL and SANDBOX_CONTROL_TOKEN (sent as X-Sandbox-Token on control-plane calls) in its
environment; its exit status is this script's. Used by `make example-ts`:

    .venv/bin/python examples/with_sandbox.py -- sh -c 'cd examples/typescript && npm ci && npm test'
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

from simulator.harness.served import SandboxProcess


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    token = secrets.token_hex(16)
    server = SandboxProcess(startup_timeout=60, env={"SANDBOX_CONTROL_TOKEN": token})
    try:
        print(f"with_sandbox: kyc-sandbox serving on {server.base_url}", flush=True)
        started = time.monotonic()
        env = {**os.environ, "SANDBOX_CONTROL_TOKEN": token, "SANDBOX_URL": server.base_url}
        status = subprocess.run(command, env=env, check=False).returncode
        print(f"with_sandbox: {' '.join(command)} exited {status} after {time.monotonic() - started:.1f} s")
        return status
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
