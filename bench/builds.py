"""The two builds the bench compares, and serving them.

- **new**: the checkout this file lives in, run with the interpreter running the bench (its .venv).
- **old**: a commit of the same repository (default OLD_REF, main before the server and data-layer rework),
  exported with `git archive` into a cache directory keyed by the full commit id, with its own virtualenv holding an
  editable install of it and its own dependencies (`pip install -e <src>` from that commit's pyproject). Built once;
  later runs reuse it (a stamp file is written last, so a half-built one is rebuilt).

Both are served through their own CLI only (`<venv>/bin/kyc-sandbox serve ...`), so the bench works whatever server
each build uses, each on a free 127.0.0.1 port with its own temporary SQLite file and no SANDBOX_* variables from
the caller's environment.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HOST = "127.0.0.1"
OLD_REF = "28462ce"  # main before this round's server and data-layer work (issue 14's "today's main")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kyc-sandbox"


@dataclass
class Build:
    name: str  # "old" or "new"
    label: str  # what the table's column says: a short commit id, "+ changes" when the work tree differs
    python: Path  # the build's interpreter
    src: Path  # its source tree (bench/image.py and the like may want it)
    commit: str = ""

    @property
    def cli(self) -> list[str]:
        script = self.python.parent / "kyc-sandbox"
        return [str(script)] if script.exists() else [str(self.python), "-m", "simulator.cli"]


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout.strip()


def new_build() -> Build:
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        label = commit[:7] + (" + changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        commit, label = "", "this checkout"
    return Build("new", label, Path(sys.executable), REPO, commit)


def old_build(ref: str, say: Callable[[str], None]) -> Build:
    """The build of `ref`, from the cache or made now (a minute or so: git archive, venv, pip install)."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    base_python = Path(getattr(sys, "_base_executable", "") or shutil.which("python3.11") or sys.executable)
    home = cache_root() / f"bench-old-{commit}"
    src, venv, stamp = home / "src", home / "venv", home / "ready.json"
    want = {"commit": commit, "python": str(base_python)}
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"bench-old-{commit}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another bench run building the same commit: wait for it
        if not (stamp.exists() and json.loads(stamp.read_text()) == want):
            say(f"building old ({commit[:7]}) in {home} (once; later runs reuse it)")
            shutil.rmtree(home, ignore_errors=True)
            src.mkdir(parents=True)
            archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
            subprocess.run([str(base_python), "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
            done = subprocess.run([*pip, "install", "-e", str(src)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"pip install -e {src} failed:\n{done.stderr[-3000:]}")
            stamp.write_text(json.dumps(want))
    return Build("old", commit[:7], venv / "bin" / "python", src, commit)


# ---------------------------------------------------------------------------------------------- serving
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def health_ok(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/_sandbox/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@dataclass
class Server:
    """A served process on a free port; `cold_start_s` is spawn -> first 200 from /_sandbox/health."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    cold_start_s: float
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        """SIGTERM to the server's process group (its workers too), then SIGKILL to what is left of it."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return  # the whole group is gone
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            try:
                os.killpg(self.proc.pid, 0)  # workers outliving their master?
            except ProcessLookupError:
                return


def server_env() -> dict[str, str]:
    """The caller's environment without SANDBOX_* (a control token or a database URL would change what runs)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}


def spawn(name: str, cmd: list[str], cwd: Path, port: int, timeout: float = 60.0) -> Server:
    log_path = cwd / f"{name}-{port}.log"
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=server_env(), start_new_session=True
        )
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        if health_ok(port):
            return Server(name, port, proc, log_path, time.perf_counter() - started)
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"{name} did not answer /_sandbox/health within {timeout}s")


class Servers:
    """Starts and always stops every process of the run (`close`), in one temporary directory."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kyc-bench-")
        self.dir = Path(self._tmp.name)
        self.running: list[Server] = []
        self.count = 0

    def serve(self, build: Build, workers: int) -> Server:
        """`kyc-sandbox serve` of `build` with a fresh SQLite file."""
        self.count += 1
        port = free_port()
        db = self.dir / f"{build.name}-{self.count}.db"
        cmd = [
            *build.cli,
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--database-url",
            f"sqlite:///{db}",
            "--quiet",
        ]
        return self.add(spawn(f"{build.name}-w{workers}", cmd, self.dir, port))

    def add(self, server: Server) -> Server:
        self.running.append(server)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def close(self) -> None:
        for server in list(self.running):
            self.stop(server)
        self._tmp.cleanup()
