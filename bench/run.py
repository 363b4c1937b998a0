"""kyc-sandbox benchmarks (`make bench`): real `kyc-sandbox serve` processes on 127.0.0.1, one table of figures.

Measured (every server is a fresh `kyc-sandbox serve` subprocess on a free port with its own temporary SQLite file,
or the PostgreSQL database given by --database-url):

- end-to-end flow latency: donor + share token (control plane, or four signed Sumsub calls), bulk import of that one
  token, GET /customers/{id}, GET /applications/{id}: median and p99 over sequential runs, on one keep-alive
  http.client connection (as the GET latency), and the same flow through `requests` for comparison;
- bulk import of 100 tokens (median of several runs);
- sustained import throughput (tokens/s) with 1 and N workers, several clients importing batches concurrently;
- GET /customers/{id} throughput with keep-alive, from a small multi-process load generator (pure Python, an event
  loop per process; see `load`), with its latency median/p99: the median of rounds alternating with the baseline;
- cold start (process spawn -> first 200 from /_sandbox/health) and reset (POST /_sandbox/reset);
- the same figures for a trivial Flask endpoint (`GET /ping` -> `ok`, bench/baseline.py) served by the same
  gunicorn configuration, and the ratio.

Targets are printed next to the figures and marked pass/miss; nothing here is a test and nothing asserts timing.
Everything talks to 127.0.0.1 only and is bounded in count and time (about 2 minutes; --quick about 40 s).

    python bench/run.py [--quick] [--json] [--markdown] [--workers N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import image  # bench/image.py: the container image's figures (n/a without podman or a built image)
import requests

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
DAKOTA_CLIENT = "dakota.xyz_158913"

TARGETS = {
    "flow_control_median_ms": ("<", 15.0),
    "bulk_import_100_ms": ("<", 150.0),
    "cold_start_s": ("<", 1.5),
    "reset_ms": ("<", 50.0),
    "get_ratio": (">=", 0.5),
}


@dataclass
class Plan:
    """How much of everything to do (--quick shrinks it)."""

    flow_runs: int = 60
    signed_flow_runs: int = 30
    bulk_runs: int = 5
    cold_runs: int = 3
    reset_runs: int = 7
    sustained_clients: int = 4
    sustained_batches: int = 3
    sustained_batch_size: int = 25
    get_seconds: float = 3.0
    get_rounds: int = 3  # GET throughput: rounds alternating sandbox and baseline, the median round of each
    get_processes: int = 2
    get_connections: int = 8
    latency_samples: int = 300

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            flow_runs=15,
            signed_flow_runs=8,
            bulk_runs=2,
            cold_runs=1,
            reset_runs=3,
            sustained_batches=1,
            get_seconds=1.5,
            get_rounds=1,
            latency_samples=100,
        )


# ---------------------------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _health_ok(port: int) -> bool:
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
    base_url: str = ""

    def __post_init__(self) -> None:
        self.base_url = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def spawn(name: str, cmd: list[str], cwd: Path, port: int, timeout: float = 30.0) -> Server:
    log_path = cwd / f"{name}-{port}.log"
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        if _health_ok(port):
            return Server(name, port, proc, log_path, time.perf_counter() - started)
        time.sleep(0.005)
    proc.kill()
    raise RuntimeError(f"{name} did not answer /_sandbox/health within {timeout}s")


def sandbox_cmd(port: int, workers: int, database_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "simulator.cli",
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--workers",
        str(workers),
        "--quiet",
    ]


def baseline_cmd(port: int, workers: int) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "baseline.py"), "--port", str(port), "--workers", str(workers)]


class Servers:
    """Starts and always stops every process of the run; a fresh SQLite file per sandbox unless --database-url."""

    def __init__(self, database_url: str | None) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="kyc-bench-")
        self.dir = Path(self.tmp.name)
        self.database_url = database_url
        self.running: list[Server] = []
        self.count = 0

    def sandbox(self, workers: int) -> Server:
        self.count += 1
        port = free_port()
        url = self.database_url or f"sqlite:///{self.dir}/sandbox-{self.count}.db"
        server = spawn(f"sandbox-w{workers}", sandbox_cmd(port, workers, url), self.dir, port)
        self.running.append(server)
        if self.database_url:  # a shared server: start from the seed
            requests.post(f"{server.base_url}/_sandbox/reset", json={}, timeout=60).raise_for_status()
        return server

    def baseline(self, workers: int) -> Server:
        port = free_port()
        server = spawn(f"baseline-w{workers}", baseline_cmd(port, workers), self.dir, port)
        self.running.append(server)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def close(self) -> None:
        for server in list(self.running):
            self.stop(server)
        self.tmp.cleanup()


# ---------------------------------------------------------------------------------------------- clients
@dataclass
class Creds:
    admin_key: str
    donor_client_id: str
    donor_token: str
    donor_secret: str


def credentials(base_url: str) -> Creds:
    data = requests.get(f"{base_url}/_sandbox/credentials", timeout=10).json()
    admin = next(k for k in data["dakota"]["api_keys"] if "manage_compliance_applications" in k["permissions"])
    donor = next(
        c for c in data["sumsub"]["clients"] if c["role"] == "donor" and DAKOTA_CLIENT in c.get("shares_with", [])
    )
    return Creds(admin["key"], donor["client_id"], donor["app_token"], donor["secret_key"])


class BenchError(RuntimeError):
    pass


class LeanResponse:
    """The part of `requests.Response` the flows read."""

    def __init__(self, method: str, url: str, status: int, content: bytes) -> None:
        self.request = type("Req", (), {"method": method})()
        self.url = url
        self.status_code = status
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanHttp:
    """One keep-alive HTTP/1.1 connection on `http.client`, with the `get`/`post` the flows use.

    The flows are timed with it, as the GET latency is: what is measured is the sandbox and the wire, not the
    client library (`requests` adds most of a millisecond per call on this machine; the table shows that flow
    too). A connection the server closed while idle is reopened once.
    """

    def __init__(self) -> None:
        self._conns: dict[str, http.client.HTTPConnection] = {}

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> LeanResponse:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            conn = self._conns.get(parts.netloc)
            if conn is None:
                conn = self._conns[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=120)
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                return LeanResponse(method, url, resp.status, resp.read())
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                del self._conns[parts.netloc]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(
        self, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None, **_: Any
    ) -> LeanResponse:
        return self._send("GET", url + (f"?{urlencode(params)}" if params else ""), None, dict(headers or {}))

    def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None, **_: Any) -> LeanResponse:
        body = b"" if json is None else _json_dumps(json).encode()
        return self._send("POST", url, body, {"Content-Type": "application/json", **(headers or {})})


_json_dumps = json.dumps
Http = requests.Session | LeanHttp


def expect(resp: requests.Response | LeanResponse, status: int = 200) -> Any:
    if resp.status_code != status:
        raise BenchError(f"{resp.request.method} {resp.url}: HTTP {resp.status_code} {resp.text[:500]}")
    return resp.json() if resp.content else None


def bulk_import(http: Http, base: str, key: str, tokens: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = expect(
        http.post(
            f"{base}/customers/bulk-import-sumsub-tokens",
            json={"tokens": tokens},
            headers={"x-api-key": key, "x-idempotency-key": str(uuid.uuid4())},
            timeout=120,
        )
    )
    if body["succeeded"] != len(tokens):
        failed = [r for r in body["results"] if not r["success"]][:3]
        raise BenchError(f"bulk import: {body['failed']} of {len(tokens)} rows failed, e.g. {failed}")
    return body


def mint_tokens(base: str, n: int, threads: int = 4) -> list[str]:
    """`n` share tokens for Dakota: a few donor applicants, many tokens each (minting is cheaper than donors)."""
    donors = [
        expect(requests.post(f"{base}/_sandbox/donors", json={"profile": "gb-passport"}, timeout=30), 201)[
            "applicant_id"
        ]
        for _ in range(threads)
    ]
    out: list[list[str]] = [[] for _ in range(threads)]

    def work(i: int) -> None:
        http = requests.Session()
        for _ in range(i, n, threads):
            resp = http.post(
                f"{base}/_sandbox/share-tokens",
                json={"applicant_id": donors[i], "for_client_id": DAKOTA_CLIENT},
                timeout=30,
            )
            out[i].append(expect(resp, 201)["token"])

    run_threads(threads, work)
    return [t for chunk in out for t in chunk]


def run_threads(n: int, fn: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    yield box
    box.append((time.perf_counter() - started) * 1000)


# ---------------------------------------------------------------------------------------------- measurements
def flow_control(http: Http, base: str, key: str) -> float:
    """Control-plane donor + token -> bulk import of 1 -> GET customer -> GET application, in ms."""
    with timed() as t:
        donor = expect(
            http.post(
                f"{base}/_sandbox/donors",
                json={"profile": "gb-passport", "share_with": DAKOTA_CLIENT},
                timeout=30,
            ),
            201,
        )
        _import_and_read(http, base, key, donor["share_token"]["token"])
    return t[0]


def flow_signed(http: requests.Session, base: str, creds: Creds, n: int) -> float:
    """Signed Sumsub create / upload / review / mint -> bulk import of 1 -> GET customer -> GET application."""
    from simulator.harness.clients import SumsubApi
    from simulator.sumsub.profiles import fake_image

    sumsub = SumsubApi(base, creds.donor_token, creds.donor_secret, session=http)
    ext = f"bench-{uuid.uuid4()}"
    with timed() as t:
        created = expect(
            sumsub.create_applicant(
                "basic-kyc-level",
                {
                    "externalUserId": ext,
                    "email": "jane.doe@mail.example",
                    "fixedInfo": {
                        "firstName": "Jane",
                        "lastName": "Doe",
                        "dob": "1990-02-03",
                        "nationality": "GBR",
                        "addresses": [{"street": "High Street", "buildingNumber": "12", "town": "Oxford"}],
                    },
                },
            )
        )
        meta = {"idDocType": "PASSPORT", "country": "GBR", "firstName": "JANE", "lastName": "DOE", "number": str(n)}
        expect(sumsub.add_id_doc(created["id"], meta, fake_image(ext)))
        expect(sumsub.test_completed(created["id"], "GREEN"))
        token = expect(sumsub.generate_share_token(created["id"], DAKOTA_CLIENT))["token"]
        _import_and_read(http, base, creds.admin_key, token)
    return t[0]


def _import_and_read(http: Http, base: str, key: str, token: str) -> None:
    row = bulk_import(http, base, key, [token])["results"][0]
    customer = expect(http.get(f"{base}/customers/{row['customer_id']}", headers={"x-api-key": key}, timeout=30))
    app_token = customer["application_url"].split("token=", 1)[1]
    expect(
        http.get(
            f"{base}/applications/{row['application_id']}",
            params={"include": "entities,validation"},
            headers={"X-Application-Token": app_token},
            timeout=30,
        )
    )


def measure_flows(base: str, creds: Creds, plan: Plan) -> dict[str, Any]:
    http = requests.Session()
    lean = LeanHttp()
    for _ in range(3):  # warm up every worker's connection pool and code paths
        flow_control(lean, base, creds.admin_key)
        flow_control(http, base, creds.admin_key)
        flow_signed(http, base, creds, 0)
    # Alternating, so both clients see the same server state (the store grows as the flows run).
    control: list[float] = []
    via_requests: list[float] = []
    for _ in range(plan.flow_runs):
        control.append(flow_control(lean, base, creds.admin_key))
        via_requests.append(flow_control(http, base, creds.admin_key))
    signed = [flow_signed(http, base, creds, i) for i in range(plan.signed_flow_runs)]
    return {
        "flow_control_median_ms": statistics.median(control),
        "flow_control_p99_ms": pct(control, 99),
        "flow_control_runs": len(control),
        "flow_requests_median_ms": statistics.median(via_requests),
        "flow_requests_p99_ms": pct(via_requests, 99),
        "flow_signed_median_ms": statistics.median(signed),
        "flow_signed_p99_ms": pct(signed, 99),
        "flow_signed_runs": len(signed),
    }


def measure_bulk_100(base: str, creds: Creds, plan: Plan) -> dict[str, Any]:
    http = requests.Session()
    runs: list[float] = []
    for _ in range(plan.bulk_runs):
        tokens = mint_tokens(base, 100)
        # The workers write the minting requests' journal rows in the background (every 0.5 s): let that settle,
        # so what is timed is the import alone.
        time.sleep(1.0)
        with timed() as t:
            bulk_import(http, base, creds.admin_key, tokens)
        runs.append(t[0])
    return {"bulk_import_100_ms": statistics.median(runs), "bulk_import_100_runs_ms": [round(r, 1) for r in runs]}


def measure_sustained(base: str, creds: Creds, plan: Plan) -> dict[str, Any]:
    """Clients import batches concurrently from a pre-minted pool; tokens/s over the whole window."""
    per_client = plan.sustained_batches * plan.sustained_batch_size
    pool = mint_tokens(base, plan.sustained_clients * per_client)
    barrier = threading.Barrier(plan.sustained_clients + 1)
    done: list[float] = []

    def client(i: int) -> None:
        http = requests.Session()
        mine = pool[i * per_client : (i + 1) * per_client]
        barrier.wait()
        for b in range(plan.sustained_batches):
            batch = mine[b * plan.sustained_batch_size : (b + 1) * plan.sustained_batch_size]
            bulk_import(http, base, creds.admin_key, batch)
        done.append(time.perf_counter())

    threads = [threading.Thread(target=_guard(client), args=(i,)) for i in range(plan.sustained_clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if len(done) != plan.sustained_clients:
        raise BenchError("a sustained-import client failed (see above)")
    elapsed = max(done) - started
    return {"tokens_per_s": len(pool) / elapsed, "tokens": len(pool), "clients": plan.sustained_clients}


def _guard(fn: Callable[[int], None]) -> Callable[[int], None]:
    def run(i: int) -> None:
        try:
            fn(i)
        except Exception as exc:
            print(f"client {i}: {exc}", file=sys.stderr)

    return run


def sequential_latency(base: str, path: str, headers: dict[str, str], n: int) -> dict[str, float]:
    """One keep-alive connection (http.client), one request at a time: ms median and p99."""
    conn = http.client.HTTPConnection(HOST, int(base.rsplit(":", 1)[1]), timeout=30)
    samples = []
    for i in range(n + 20):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise BenchError(f"GET {path}: HTTP {resp.status}")
        if i >= 20:
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return {"median_ms": statistics.median(samples), "p99_ms": pct(samples, 99)}


def measure_reset(base: str, plan: Plan) -> dict[str, Any]:
    http = requests.Session()
    client_ms, server_ms = [], []
    for _ in range(plan.reset_runs):
        # Give every reset something to delete: a donor, a token and an import.
        creds = credentials(base)
        token = expect(
            http.post(f"{base}/_sandbox/donors", json={"profile": "gb-passport", "share_with": DAKOTA_CLIENT}), 201
        )["share_token"]["token"]
        bulk_import(http, base, creds.admin_key, [token])
        with timed() as t:
            body = expect(http.post(f"{base}/_sandbox/reset", json={}, timeout=60))
        client_ms.append(t[0])
        server_ms.append(float(body.get("took_ms", float("nan"))))
    return {"reset_ms": statistics.median(client_ms), "reset_server_ms": statistics.median(server_ms)}


# ---------------------------------------------------------------------------------------------- load generator
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class _Conn:
    """One keep-alive connection of the load generator: one request in flight at a time."""

    def __init__(self, port: int, request: bytes, sock: socket.socket | None = None) -> None:
        self.port = port
        self.request = request
        self.buf = b""
        self.sent_at = 0.0
        self.sock = sock if sock is not None else self._connect()
        self.sock.setblocking(False)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.sock.sendall(self.request)  # a few hundred bytes: always fits the socket buffer

    def reconnect(self) -> None:
        self.sock.close()
        self.sock = self._connect()
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
    connection of a burst (16 of 16 in half the tries on this machine), which halves a 2-worker figure at random.
    Each connection asks `/_sandbox/health` which worker holds it (`pid`); extras are closed and replaced.
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
        pid = int(json.loads(buf[end + 4 :])["pid"])
        if len(kept.setdefault(pid, [])) < quota:
            kept[pid].append(sock)
        else:
            sock.close()
    socks = [sk for group in kept.values() for sk in group]
    if len(socks) < count:
        raise BenchError(f"could not spread {count} connections over {workers} workers: {len(socks)} kept")
    return socks[:count]


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
    while True:
        remaining = stop - time.time()
        if remaining <= 0:
            break
        for key, _events in sel.select(timeout=remaining):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
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


def load(
    port: int,
    path: str,
    headers: dict[str, str],
    seconds: float,
    processes: int,
    connections: int,
    workers: int = 1,
) -> dict[str, Any]:
    """GET `path` as fast as possible for `seconds` from `processes` x `connections` keep-alive connections.

    A pure-Python stand-in for wrk: each process runs an event loop over its connections with one request in
    flight per connection, a pre-built request and a minimal response parser (Content-Length bodies only).
    """
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = time.time() + 0.5
    socks = balanced_sockets(port, processes * connections, workers)
    procs = [
        ctx.Process(
            target=_load_process,
            args=(port, request, socks[i * connections : (i + 1) * connections], start, start + seconds, out),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    for sk in socks:  # the children have their own copies
        sk.close()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(10)
    ok = sum(r[0] for r in results)
    bad = sum(r[1] for r in results)
    lat = [x for r in results for x in r[2]]
    return {
        "rps": ok / seconds,
        "errors": bad,
        "latency_median_ms": statistics.median(lat) if lat else float("nan"),
        "latency_p99_ms": pct(lat, 99),
        "concurrency": processes * connections,
    }


def load_pair(
    sandbox: tuple[int, str, dict[str, str]],
    baseline: tuple[int, str, dict[str, str]],
    plan: Plan,
    workers: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """GET throughput of the sandbox and the baseline in alternating rounds, so both see the same machine (a
    shared 2-core VM drifts by tens of percent over a minute); each side's median round, with every round's rps.
    The connections are spread evenly over the `workers` processes of each (see `balanced_sockets`)."""
    args = (plan.get_seconds, plan.get_processes, plan.get_connections, workers)
    sb_rounds: list[dict[str, Any]] = []
    base_rounds: list[dict[str, Any]] = []
    for _ in range(plan.get_rounds):
        sb_rounds.append(load(*sandbox, *args))
        base_rounds.append(load(*baseline, *args))

    def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
        ordered = sorted(rounds, key=lambda r: float(r["rps"]))
        return {**ordered[len(ordered) // 2], "rounds_rps": [round(r["rps"]) for r in rounds]}

    return median_round(sb_rounds), median_round(base_rounds)


def wrk(port: int, path: str, headers: dict[str, str], seconds: float, connections: int) -> float | None:
    """Requests/s from Debian's `wrk`, when it is installed (only for comparing the load generators)."""
    from shutil import which

    exe = which("wrk")
    if exe is None:
        return None
    cmd = [exe, "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(
        [*cmd, f"http://{HOST}:{port}{path}"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    return float(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------- the run
@dataclass
class Results:
    meta: dict[str, Any] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)


def sample_customer(base: str, creds: Creds) -> str:
    token = expect(
        requests.post(f"{base}/_sandbox/donors", json={"profile": "gb-passport", "share_with": DAKOTA_CLIENT}), 201
    )["share_token"]["token"]
    return str(bulk_import(requests.Session(), base, creds.admin_key, [token])["results"][0]["customer_id"])


def run(plan: Plan, workers: int, database_url: str | None, use_wrk: bool, say: Callable[[str], None]) -> Results:
    res = Results()
    res.meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "store": "postgresql" if database_url else "sqlite (file, WAL)",
        "workers": workers,
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "get_load": f"{plan.get_processes} processes x {plan.get_connections} keep-alive connections, "
        f"median of {plan.get_rounds} {plan.get_seconds:g} s round{'s' if plan.get_rounds > 1 else ''} "
        "alternating with the baseline",
    }
    servers = Servers(database_url)
    try:
        # Cold starts: fresh process (and fresh store) each time; the last one of each kind stays up.
        sb_cold, base_cold = [], []
        sandbox = baseline = None
        for i in range(plan.cold_runs):
            say(f"cold start {i + 1}/{plan.cold_runs}")
            if sandbox is not None:
                servers.stop(sandbox)
            sandbox = servers.sandbox(workers)
            sb_cold.append(sandbox.cold_start_s)
            if baseline is not None:
                servers.stop(baseline)
            baseline = servers.baseline(workers)
            base_cold.append(baseline.cold_start_s)
        assert sandbox is not None and baseline is not None
        res.sandbox["cold_start_s"] = statistics.median(sb_cold)
        res.baseline["cold_start_s"] = statistics.median(base_cold)

        base = sandbox.base_url
        creds = credentials(base)
        say("end-to-end flows")
        res.sandbox.update(measure_flows(base, creds, plan))
        say("bulk import of 100 tokens")
        res.sandbox.update(measure_bulk_100(base, creds, plan))

        say("GET throughput")
        customer_id = sample_customer(base, creds)
        get_path, get_headers = f"/customers/{customer_id}", {"x-api-key": creds.admin_key}
        lat = sequential_latency(base, get_path, get_headers, plan.latency_samples)
        res.sandbox["get_latency_median_ms"], res.sandbox["get_latency_p99_ms"] = lat["median_ms"], lat["p99_ms"]
        lat = sequential_latency(baseline.base_url, "/ping", {}, plan.latency_samples)
        res.baseline["get_latency_median_ms"], res.baseline["get_latency_p99_ms"] = lat["median_ms"], lat["p99_ms"]
        res.sandbox[f"get_w{workers}"], res.baseline[f"get_w{workers}"] = load_pair(
            (sandbox.port, get_path, get_headers), (baseline.port, "/ping", {}), plan, workers
        )
        if use_wrk:
            res.sandbox[f"wrk_w{workers}_rps"] = wrk(
                sandbox.port, get_path, get_headers, plan.get_seconds, plan.get_processes * plan.get_connections
            )
            res.baseline[f"wrk_w{workers}_rps"] = wrk(
                baseline.port, "/ping", {}, plan.get_seconds, plan.get_processes * plan.get_connections
            )

        say(f"sustained import, {workers} workers")
        res.sandbox[f"sustained_w{workers}"] = measure_sustained(base, creds, plan)
        say("reset")
        res.sandbox.update(measure_reset(base, plan))
        servers.stop(sandbox)
        servers.stop(baseline)

        if workers != 1:
            say("1 worker: sustained import and GET throughput")
            one = servers.sandbox(1)
            one_creds = credentials(one.base_url)
            res.sandbox["sustained_w1"] = measure_sustained(one.base_url, one_creds, plan)
            cid = sample_customer(one.base_url, one_creds)
            one_base = servers.baseline(1)
            res.sandbox["get_w1"], res.baseline["get_w1"] = load_pair(
                (one.port, f"/customers/{cid}", {"x-api-key": one_creds.admin_key}),
                (one_base.port, "/ping", {}),
                plan,
                1,
            )
            servers.stop(one)
            servers.stop(one_base)
    finally:
        servers.close()
    return res


# ---------------------------------------------------------------------------------------------- output
def verdict(key: str, value: float) -> str:
    op, target = TARGETS[key]
    ok = value < target if op == "<" else value >= target
    return "pass" if ok else "MISS"


def rows(res: Results) -> list[tuple[str, str, str, str, str, str]]:
    """(measure, sandbox, baseline, ratio, target, result) rows of the table."""
    s, b, w = res.sandbox, res.baseline, res.meta["workers"]
    out: list[tuple[str, str, str, str, str, str]] = []

    def ms(x: float) -> str:
        return f"{x:.1f} ms" if x < 1000 else f"{x / 1000:.2f} s"

    out.append(
        (
            f"flow, control-plane donor+token, http.client keep-alive (median / p99, n={s['flow_control_runs']})",
            f"{ms(s['flow_control_median_ms'])} / {ms(s['flow_control_p99_ms'])}",
            "",
            "",
            "median < 15 ms",
            verdict("flow_control_median_ms", s["flow_control_median_ms"]),
        )
    )
    if "flow_requests_median_ms" in s:
        out.append(
            (
                f"  same flow through the requests library (median / p99, n={s['flow_control_runs']})",
                f"{ms(s['flow_requests_median_ms'])} / {ms(s['flow_requests_p99_ms'])}",
                "",
                "",
                "",
                "",
            )
        )
    out.append(
        (
            f"flow, signed Sumsub create/upload/review/mint, requests (median / p99, n={s['flow_signed_runs']})",
            f"{ms(s['flow_signed_median_ms'])} / {ms(s['flow_signed_p99_ms'])}",
            "",
            "",
            "",
            "",
        )
    )
    out.append(
        (
            f"bulk import of 100 tokens (median of {len(s['bulk_import_100_runs_ms'])})",
            ms(s["bulk_import_100_ms"]),
            "",
            "",
            "< 150 ms",
            verdict("bulk_import_100_ms", s["bulk_import_100_ms"]),
        )
    )
    for workers in sorted({1, w}):
        sus = s.get(f"sustained_w{workers}")
        if sus:
            out.append(
                (
                    f"sustained import, {workers} worker{'s' if workers > 1 else ''} "
                    f"({sus['clients']} clients, {sus['tokens']} tokens)",
                    f"{sus['tokens_per_s']:.0f} tokens/s",
                    "",
                    "",
                    "",
                    "",
                )
            )
    out.append(
        (
            "GET /customers/{id} latency, one connection (median / p99) [baseline: GET /ping]",
            f"{ms(s['get_latency_median_ms'])} / {ms(s['get_latency_p99_ms'])}",
            f"{ms(b['get_latency_median_ms'])} / {ms(b['get_latency_p99_ms'])}",
            f"{s['get_latency_median_ms'] / b['get_latency_median_ms']:.1f}x",
            "",
            "",
        )
    )
    for workers in sorted({1, w}):
        sg, bg = s.get(f"get_w{workers}"), b.get(f"get_w{workers}")
        if not sg or not bg:
            continue
        ratio = sg["rps"] / bg["rps"] if bg["rps"] else float("nan")
        out.append(
            (
                f"GET /customers/{{id}} throughput, {workers} worker{'s' if workers > 1 else ''}, "
                f"{sg['concurrency']} connections (p50 / p99 under load)",
                f"{sg['rps']:.0f} req/s ({ms(sg['latency_median_ms'])} / {ms(sg['latency_p99_ms'])})",
                f"{bg['rps']:.0f} req/s ({ms(bg['latency_median_ms'])} / {ms(bg['latency_p99_ms'])})",
                f"{ratio:.2f}",
                ">= 0.5 x baseline" if workers == w else "",
                verdict("get_ratio", ratio) if workers == w else "",
            )
        )
        wk_s, wk_b = s.get(f"wrk_w{workers}_rps"), b.get(f"wrk_w{workers}_rps")
        if wk_s and wk_b:
            out.append(
                (
                    f"  same, measured by wrk ({sg['concurrency']} connections)",
                    f"{wk_s:.0f} req/s",
                    f"{wk_b:.0f} req/s",
                    f"{wk_s / wk_b:.2f}",
                    "",
                    "",
                )
            )
    out.append(
        (
            "cold start: spawn -> first 200 from /_sandbox/health",
            f"{s['cold_start_s']:.2f} s",
            f"{b['cold_start_s']:.2f} s",
            f"{s['cold_start_s'] / b['cold_start_s']:.1f}x",
            "< 1.5 s",
            verdict("cold_start_s", s["cold_start_s"]),
        )
    )
    out.append(
        (
            "reset: POST /_sandbox/reset (median; server-side took_ms)",
            f"{ms(s['reset_ms'])} ({ms(s['reset_server_ms'])})",
            "",
            "",
            "< 50 ms",
            verdict("reset_ms", s["reset_ms"]),
        )
    )
    out.extend(image.rows(s.get("container", {})))
    return out


HEADERS = ("measure", "kyc-sandbox", "baseline (trivial Flask)", "ratio", "target", "result")


def print_rich(res: Results) -> None:
    from rich.console import Console
    from rich.table import Table

    m = res.meta
    table = Table(
        title=f"kyc-sandbox bench · {m['date']} · {m['cores']} cores · Python {m['python']} · {m['store']} · "
        f"{m['workers']} workers · load average at start {m['load_average_at_start']}",
        title_justify="left",
    )
    for h in HEADERS:
        table.add_column(h, overflow="fold")
    for row in rows(res):
        style = "red" if row[5] == "MISS" else ("green" if row[5] == "pass" else None)
        table.add_row(*row[:5], f"[{style}]{row[5]}[/]" if style else row[5])
    Console(width=200).print(table)


def markdown(res: Results) -> str:
    m = res.meta
    lines = [
        f"Measured {m['date']} on a {m['cores']}-core {m['machine']} machine, Python {m['python']}, store "
        f"{m['store']}, `serve --workers {m['workers']}` (gunicorn gthread, 8 threads per worker, kept "
        f"connections); GET load: "
        f"{m['get_load']}. Load average when the run started: {m['load_average_at_start']}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    for row in rows(res):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kyc-sandbox benchmarks (real served processes on 127.0.0.1)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (about 40 s)")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (as in the README)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the N-worker figures")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temp SQLite file each)")
    parser.add_argument("--wrk", action="store_true", help="also measure GET throughput with wrk, if installed")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()

    def say(msg: str) -> None:
        if not args.json:
            print(f"· {msg}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    res = run(plan, args.workers, args.database_url, args.wrk, say)
    say("container image (podman)")
    res.sandbox["container"] = image.measure()
    res.meta["bench_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        out = {"meta": res.meta, "sandbox": res.sandbox, "baseline": res.baseline, "targets": {}}
        checks = {
            "flow_control_median_ms": res.sandbox["flow_control_median_ms"],
            "bulk_import_100_ms": res.sandbox["bulk_import_100_ms"],
            "cold_start_s": res.sandbox["cold_start_s"],
            "reset_ms": res.sandbox["reset_ms"],
            "get_ratio": res.sandbox[f"get_w{args.workers}"]["rps"] / res.baseline[f"get_w{args.workers}"]["rps"],
        }
        for key, value in checks.items():
            op, target = TARGETS[key]
            out["targets"][key] = {"value": value, "target": f"{op} {target}", "result": verdict(key, value)}
        print(json.dumps(out, indent=2))
    elif args.markdown:
        print(markdown(res))
    else:
        print_rich(res)
        print(f"(bench took {res.meta['bench_seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
