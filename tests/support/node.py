"""The vendor SDKs for Node in tests/clients/node (`npm ci` by `make test`), run as scripts that print JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from tests.support.kit import ROOT

NODE_DIR = ROOT / "tests" / "clients" / "node"


def node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / ".installed").exists():
        return f"the Node clients are not installed (`make test` runs npm ci in {NODE_DIR})"
    return None


def run_node(node: str, script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run tests/clients/node/<script> and return the JSON object it prints (failing the test on a failed step)."""
    # No proxy: the sandbox is on loopback, and axios would otherwise honour an HTTP(S)_PROXY of the environment.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run(
        [node, script, *args], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing (exit {proc.returncode}):\n{proc.stderr}"
    out: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and "error" not in out, f"{script} failed: {out.get('error')}\n{proc.stderr}"
    return out
