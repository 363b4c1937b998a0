"""`kyc-sandbox serve` in a subprocess on a free 127.0.0.1 port, for the pytest plugin, the tests and the example
runner (examples/with_sandbox.py): started, waited for until healthy, stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests


class SandboxProcess:
    """`kyc-sandbox serve` on a free port (its own SQLite file unless a database URL is given); `stop()` ends it."""

    started = 0  # how many this process started (a test checks the plugin starts none unasked)

    def __init__(
        self,
        startup_timeout: float = 30.0,
        *,
        workers: int = 1,
        database_url: str | None = None,
        own_session: bool = False,
        host: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`host`: the interface to bind (default 127.0.0.1; requests always go to 127.0.0.1); `env`: SANDBOX_*
        settings for the server (none of this process's are passed on)."""
        self.tmp = tempfile.TemporaryDirectory(prefix="kyc-sandbox-pytest-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.tmp.name}/sandbox.db"
        self.log_path = Path(self.tmp.name) / "server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        cmd = [
            sys.executable,
            "-m",
            "simulator.cli",
            "serve",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--workers",
            str(workers),
            "--quiet",
            *(["--host", host] if host else []),
        ]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}, **(env or {})}
        # `own_session`: the server and its workers form one process group, so `kill()` takes them all at once.
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp.name, env=env, start_new_session=own_session
        )
        SandboxProcess.started += 1
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.output()
                self.stop()
                raise RuntimeError(f"kyc-sandbox serve exited early (code {self.proc.returncode}):\n{log}")
            try:
                if requests.get(f"{self.base_url}/_sandbox/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        log = self.output()
        self.stop()
        raise RuntimeError(f"kyc-sandbox serve did not answer within {startup_timeout:.0f}s:\n{log}")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    @property
    def stopped(self) -> bool:
        return self._log.closed

    def kill(self) -> None:
        """SIGKILL the whole process group (with `own_session`) or the server alone: no shutdown code runs."""
        if self.proc.poll() is None:
            if self.proc.pid == os.getpgid(self.proc.pid):
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()
        self.tmp.cleanup()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self._log.closed:
            self._log.close()
        self.tmp.cleanup()
