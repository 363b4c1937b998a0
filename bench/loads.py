"""Load generators for GET throughput: Debian's `wrk` when it is there (installed by the bench's setup when apt-get
works without asking), else a small pure-Python one. One run measures every server with the same tool.

    tool = load_tool(prefer="auto", install=True, say=print)
    tool.run(Target("new", port, "/customers/abc", {"x-api-key": key}, workers=2), seconds=3, connections=16)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from builds import HOST
from flows import BenchError, pct


@dataclass
class Target:
    """A server to load: `workers` is how many processes serve it (the Python generator spreads connections)."""

    name: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    workers: int = 1


class LoadTool(Protocol):
    name: str
    description: str

    def run(self, target: Target, seconds: float, connections: int) -> dict[str, Any]:
        """rps, latency_median_ms, latency_p99_ms (under load), errors."""
        ...


def load_tool(prefer: str, install: bool, say: Callable[[str], None]) -> LoadTool:
    """`prefer`: "wrk", "python" or "auto" (wrk if present or installable, else python)."""
    if prefer == "python":
        return PythonLoad()
    exe = shutil.which("wrk") or (install_wrk(say) if install else None)
    if exe:
        return Wrk(exe)
    if prefer == "wrk":
        raise BenchError("wrk is not installed and could not be installed (apt-get install wrk)")
    say("wrk not available: GET throughput from the pure-Python load generator")
    return PythonLoad()


def install_wrk(say: Callable[[str], None]) -> str | None:
    """`apt-get install wrk`, only when that can run without asking (root, or sudo without a password)."""
    apt = shutil.which("apt-get")
    if apt is None:
        return None
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and _quietly(["sudo", "-n", "true"]):
        prefix = ["sudo", "-n"]
    else:
        return None
    say("installing wrk (apt-get install wrk)")
    install = [*prefix, apt, "install", "-y", "-q", "--no-install-recommends", "wrk"]
    if not _quietly(install) and not (_quietly([*prefix, apt, "update", "-q"]) and _quietly(install)):
        return None
    return shutil.which("wrk")


def _quietly(cmd: list[str]) -> bool:
    """Ran without asking anything (no terminal, Debian's non-interactive front end) and succeeded."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


# ---------------------------------------------------------------------------------------------- wrk
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\b", text, re.MULTILINE)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


class Wrk:
    name = "wrk"

    def __init__(self, exe: str) -> None:
        self.exe = exe
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        first = (version.stdout or version.stderr).strip().splitlines()
        self.description = f"{first[0].split(' [')[0]}, 1 thread" if first else "wrk, 1 thread"

    def run(self, target: Target, seconds: float, connections: int) -> dict[str, Any]:
        # One thread: wrk needs a fraction of a core for this, and the servers get the rest of a 2-core machine.
        cmd = [self.exe, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
        for k, v in target.headers.items():
            cmd += ["-H", f"{k}: {v}"]
        out = subprocess.run(
            [*cmd, f"http://{HOST}:{target.port}{target.path}"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        ).stdout
        rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
        if rps is None:
            raise BenchError(f"wrk gave no figure for {target.name}:\n{out[-2000:]}")
        non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        socket_errors = re.search(r"Socket errors:.*?read (\d+), write (\d+), timeout (\d+)", out)
        errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
            sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
        )
        requests_done = re.search(r"(\d+) requests in", out)
        done = int(requests_done.group(1)) if requests_done else 0
        return {
            # wrk's Requests/sec counts every answer; only the 2xx ones count here, as the Python generator does.
            "rps": float(rps.group(1)) * (max(done - errors, 0) / done if done else 1.0),
            "errors": errors,
            "latency_median_ms": _wrk_ms(out, "50%"),
            "latency_p99_ms": _wrk_ms(out, "99%"),
        }


# ---------------------------------------------------------------------------------------------- pure Python
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class PythonLoad:
    """A pure-Python stand-in for wrk: `processes` processes, each an event loop over its keep-alive connections
    with one request in flight on each, a pre-built request and a minimal response parser (Content-Length bodies).
    It needs about a core of its own, so on a 2-core machine it understates fast servers; wrk does not."""

    name = "python"

    def __init__(self, processes: int = 2) -> None:
        self.processes = processes
        self.description = f"bench/loads.py, {processes} processes"

    def run(self, target: Target, seconds: float, connections: int) -> dict[str, Any]:
        lines = [f"GET {target.path} HTTP/1.1", f"Host: {HOST}:{target.port}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in target.headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        per_process = -(-connections // self.processes)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        start = time.time() + 0.5
        socks = balanced_sockets(target.port, per_process * self.processes, target.workers)
        procs = [
            ctx.Process(
                target=_load_process,
                args=(
                    target.port,
                    request,
                    socks[i * per_process : (i + 1) * per_process],
                    start,
                    start + seconds,
                    out,
                ),
            )
            for i in range(self.processes)
        ]
        for p in procs:
            p.start()
        for sk in socks:  # the children have their own copies
            sk.close()
        results = [out.get(timeout=seconds + 60) for _ in procs]
        for p in procs:
            p.join(10)
        lat = [x for r in results for x in r[2]]
        return {
            "rps": sum(r[0] for r in results) / seconds,
            "errors": sum(r[1] for r in results),
            "latency_median_ms": statistics.median(lat) if lat else float("nan"),
            "latency_p99_ms": pct(lat, 99),
        }


class _Conn:
    """One keep-alive connection of the load generator: one request in flight at a time."""

    def __init__(self, port: int, request: bytes, sock: socket.socket) -> None:
        self.port = port
        self.request = request
        self.buf = b""
        self.sent_at = 0.0
        self.sock = sock
        self.sock.setblocking(False)

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.sock.sendall(self.request)  # a few hundred bytes: always fits the socket buffer

    def reconnect(self) -> None:
        self.sock.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""

    def take_response(self) -> int | None:
        """The status of a complete response at the head of the buffer (consumed), or None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end]
        match = _CONTENT_LENGTH.search(head)
        length = int(match.group(1)) if match else 0
        if len(self.buf) < end + 4 + length:
            return None
        self.buf = self.buf[end + 4 + length :]
        return int(head[9:12])


def balanced_sockets(port: int, count: int, workers: int, attempts: int = 400) -> list[socket.socket]:
    """`count` keep-alive connections spread evenly over the server's `workers` processes.

    Gunicorn's workers take turns accepting from one listening socket, and one worker often takes every
    connection of a burst, which halves a 2-worker figure at random. Each connection asks `/_sandbox/health`
    which worker holds it (`pid`); extras are closed and replaced. (wrk cannot do this: the median of alternating
    rounds is what evens it out there.)
    """
    quota = -(-count // workers)
    kept: dict[int, list[socket.socket]] = {}
    for _ in range(attempts):
        if sum(len(v) for v in kept.values()) >= count:
            break
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(f"GET /_sandbox/health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        buf = b""
        while True:
            buf += sock.recv(65536)
            end = buf.find(b"\r\n\r\n")
            match = _CONTENT_LENGTH.search(buf[:end]) if end >= 0 else None
            if match and len(buf) >= end + 4 + int(match.group(1)):
                break
        pid = int(json.loads(buf[end + 4 :]).get("pid", 0))
        if len(kept.setdefault(pid, [])) < quota:
            kept[pid].append(sock)
        else:
            sock.close()
    socks = [sk for group in kept.values() for sk in group]
    if len(socks) < count:
        raise BenchError(f"could not spread {count} connections over {workers} workers: {len(socks)} kept")
    return socks[:count]


def _read_some(c: Any) -> bytes | None:
    """What the connection has (b"": closed), or None when nothing is there yet (a spurious wake-up)."""
    try:
        data: bytes = c.sock.recv(65536)
    except BlockingIOError:
        return None
    except OSError:
        return b""
    return data


def _load_process(port: int, request: bytes, socks: list[socket.socket], start: float, stop: float, out: Any) -> None:
    sel = selectors.DefaultSelector()
    conns = [_Conn(port, request, sk) for sk in socks]
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    ok = bad = 0
    latencies: list[float] = []
    while time.time() < start:
        time.sleep(0.0005)
    for c in conns:
        c.send()
    while (remaining := stop - time.time()) > 0:
        for key, _events in sel.select(timeout=remaining):
            c = key.data
            data = _read_some(c)
            if data is None:
                continue
            if not data:  # closed by the server: count as an error, reconnect, go on
                bad += 1
                sel.unregister(c.sock)
                c.reconnect()
                sel.register(c.sock, selectors.EVENT_READ, c)
                c.send()
                continue
            c.buf += data
            status = c.take_response()
            if status is None:
                continue
            if status == 200:
                ok += 1
                latencies.append((time.perf_counter() - c.sent_at) * 1000)
            else:
                bad += 1
            c.send()
    for c in conns:
        c.sock.close()
    out.put((ok, bad, latencies[:: max(1, len(latencies) // 5000)]))
