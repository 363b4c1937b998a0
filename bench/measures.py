"""What the bench measures, for every build of the run, interleaved so that machine drift hits them alike.

A shared 2-core VM drifts by tens of percent within a minute, so nothing is measured as "all of old, then all of
new": every measure runs in rounds that alternate between the builds (and reverse their order every other round),
and each build reports its median (or the median of its pooled samples).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from builds import BENCH_DIR, HOST, Build, Server, Servers, server_env
from flows import (
    DAKOTA_CLIENT,
    BenchError,
    Creds,
    LeanHttp,
    bulk_import,
    credentials,
    expect,
    flow,
    import_and_read,
    mint_tokens,
    new_donor_token,
    pct,
    sample_customer,
    session,
    timed,
)
from loads import LoadTool, Target

T = TypeVar("T")


@dataclass
class Plan:
    """How much of everything to do (--quick shrinks it). Counts are per build."""

    cold_runs: int = 9
    flow_runs: int = 200  # in blocks of flow_block, alternating
    flow_block: int = 10
    signed_flow_runs: int = 40
    inproc_rounds: int = 8  # subprocesses per build, alternating
    inproc_runs: int = 25  # timed flows per subprocess
    bulk_runs: int = 7
    latency_samples: int = 400
    get_warmup_rounds: int = 20  # at most; see warm_up
    get_seconds: float = 2.0
    get_rounds: int = 11
    get_connections: int = 16
    sustained_rounds: int = 3
    sustained_clients: int = 4
    sustained_batches: int = 3
    sustained_batch_size: int = 25
    reset_runs: int = 25

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            cold_runs=3,
            flow_runs=20,
            flow_block=5,
            signed_flow_runs=8,
            inproc_rounds=3,
            inproc_runs=10,
            bulk_runs=3,
            latency_samples=100,
            get_warmup_rounds=10,
            get_seconds=1.0,
            get_rounds=5,
            sustained_rounds=1,
            sustained_batches=1,
            reset_runs=3,
        )


@dataclass
class Bench:
    """One run: what the measures and the row providers (bench/run.py's ROW_PROVIDERS) get."""

    plan: Plan
    workers: int
    builds: list[Build]  # old (when it could be built) then new
    servers: Servers
    tool: LoadTool
    wiremock_jar: Path | None
    wiremock_note: str  # why there is no WireMock column, when there is none
    say: Callable[[str], None]
    only: frozenset[str] = frozenset()  # --only: the PHASES to run (empty: all)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by build name, and "wiremock"
    meta: dict[str, Any] = field(default_factory=dict)
    serving: dict[str, Server] = field(default_factory=dict)  # the build's server the measures use
    creds: dict[str, Creds] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [x.name for x in self.builds]

    def build(self, name: str) -> Build:
        return next(x for x in self.builds if x.name == name)


def alternate(names: list[str], rounds: int, fn: Callable[[str], T]) -> dict[str, list[T]]:
    """`fn(name)` for every name, `rounds` times, the order reversed every other round."""
    out: dict[str, list[T]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            out[name].append(fn(name))
    return out


def run_all(b: Bench) -> None:
    """Every measure of the table, in an order that leaves the store-destroying ones (reset) last."""
    b.results = {n: {} for n in b.names}
    b.meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "store": "sqlite (temporary file per server)",
        "workers": b.workers,
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "builds": {x.name: {"label": x.label, "commit": x.commit, "python": str(x.python)} for x in b.builds},
        "load_tool": b.tool.description,
        "get_load": f"{b.tool.description}, {b.plan.get_connections} keep-alive connections, {b.plan.get_rounds} "
        f"rounds of {b.plan.get_seconds:g} s rotating over the servers, each one's median round",
    }
    if b.wiremock_jar is not None:
        from wiremock_stub import WIREMOCK_VERSION, java_version

        b.meta["wiremock"] = WIREMOCK_VERSION
        b.meta["java"] = java_version()
    b.meta["phase_seconds"] = {}
    for key, (label, measure) in PHASES.items():
        if key != "cold" and b.only and key not in b.only:
            continue
        b.say(label)
        started = time.perf_counter()
        measure(b)
        b.meta["phase_seconds"][key] = round(time.perf_counter() - started, 1)


def timings(rounds: list[list[float]]) -> dict[str, Any]:
    """A build's result for timed runs in rounds: `value` the median of all (ms), `p99_ms`, `n`, and `rounds` the
    median of each round (what the table's new/old ratio pairs up; see report.paired_ratio)."""
    flat = [x for r in rounds for x in r]
    return {"value": statistics.median(flat), "p99_ms": pct(flat, 99), "n": len(flat), "rounds": medians(rounds)}


def medians(rounds: list[list[float]]) -> list[float]:
    return [round(statistics.median(r), 4) for r in rounds]


def one_per_round(runs: list[float], **extra: Any) -> dict[str, Any]:
    """A build's result for one figure per round: `value` their median."""
    return {"value": statistics.median(runs), "n": len(runs), "rounds": [round(r, 4) for r in runs], **extra}


# ---------------------------------------------------------------------------------------------- measures
def measure_cold_start(b: Bench) -> None:
    """Spawn -> first 200 from /_sandbox/health, a fresh process and store each time; the last one of each build
    stays up for the other measures."""

    def once(name: str) -> float:
        build = b.build(name)
        if name in b.serving:
            b.servers.stop(b.serving.pop(name))
        b.serving[name] = b.servers.serve(build, b.workers)
        return b.serving[name].cold_start_s

    wanted = not b.only or "cold" in b.only  # else: only the servers for the other measures
    for name, runs in alternate(b.names, b.plan.cold_runs if wanted else 1, once).items():
        if wanted:
            b.results[name]["cold_start_s"] = one_per_round(runs)
    b.creds = {name: credentials(session(), server.base_url) for name, server in b.serving.items()}


def measure_flows(b: Bench) -> None:
    """The flow on one keep-alive http.client connection (see flows.flow), in alternating blocks; then the signed
    Sumsub variant (create / upload / review / mint through the new checkout's SumsubApi, over `requests`)."""
    lean = {n: LeanHttp() for n in b.serving}
    for name, server in b.serving.items():
        for _ in range(3):  # warm up every worker's connection pool and code paths
            flow(lean[name], server.base_url, b.creds[name].admin_key)

    def block(name: str) -> list[float]:
        base, key = b.serving[name].base_url, b.creds[name].admin_key
        return [flow(lean[name], base, key) for _ in range(b.plan.flow_block)]

    rounds = max(1, b.plan.flow_runs // b.plan.flow_block)
    for name, blocks in alternate(b.names, rounds, block).items():
        b.results[name]["flow_http"] = timings(blocks)
        lean[name].close()

    signed_http = {n: session() for n in b.serving}
    counter = iter(range(10**9))

    def signed(name: str) -> float:
        return flow_signed(signed_http[name], b.serving[name].base_url, b.creds[name], next(counter))

    for name in b.serving:
        signed(name)  # warm-up
    for name, runs in alternate(b.names, b.plan.signed_flow_runs, signed).items():
        b.results[name]["flow_signed"] = timings([[x] for x in runs])


def flow_signed(http: Any, base: str, creds: Creds, n: int) -> float:
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
        import_and_read(http, base, creds.admin_key, token)
    return t[0]


def measure_inproc(b: Bench) -> None:
    """bench/inproc.py under each build's own interpreter: in-memory SQLite, no server, no background thread."""

    def once(name: str) -> list[float]:
        build = b.build(name)
        done = subprocess.run(
            [str(build.python), str(BENCH_DIR / "inproc.py"), "--runs", str(b.plan.inproc_runs)],
            capture_output=True,
            text=True,
            cwd=build.src,
            env=server_env(),
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"in-process flow of {name} failed:\n{done.stderr[-3000:]}")
        samples: list[float] = json.loads(done.stdout.strip().splitlines()[-1])["samples_ms"]
        return samples

    for name, rounds in alternate(b.names, b.plan.inproc_rounds, once).items():
        b.results[name]["flow_inproc"] = timings(rounds)


def measure_bulk_100(b: Bench) -> None:
    http = {n: session() for n in b.serving}

    pools = {n: mint_tokens(b.serving[n].base_url, 100 * b.plan.bulk_runs) for n in b.names}

    def once(name: str) -> float:
        base, pool = b.serving[name].base_url, pools[name]
        tokens, pools[name] = pool[:100], pool[100:]
        # Workers may write journal rows in the background (every 0.5 s in 28462ce), the minting's or the other
        # build's last import: let that settle, so what is timed is this import alone.
        time.sleep(0.7)
        with timed() as t:
            bulk_import(http[name], base, b.creds[name].admin_key, tokens)
        return t[0]

    for name, runs in alternate(b.names, b.plan.bulk_runs, once).items():
        b.results[name]["bulk_import_100_ms"] = one_per_round(runs)


def sequential_latency(target: Target, n: int) -> list[float]:
    """One keep-alive connection (http.client), one request at a time, after 20 unmeasured: ms per request."""
    conn = http.client.HTTPConnection(HOST, target.port, timeout=30)
    samples = []
    for i in range(n + 20):
        started = time.perf_counter()
        conn.request("GET", target.path, headers=target.headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise BenchError(f"{target.name}: GET {target.path}: HTTP {resp.status}")
        if i >= 20:
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return samples


def measure_get(b: Bench) -> None:
    """GET /customers/{id} of a customer imported into each server: latency on one connection, then throughput
    under load from `b.tool`, old / new / WireMock in rotating order each round, each one's median round."""
    from wiremock_stub import serve_stub

    targets: dict[str, Target] = {}
    answers: dict[str, tuple[bytes, list[tuple[str, str]]]] = {}
    for name in b.names:
        server, key = b.serving[name], b.creds[name].admin_key
        cid, body, headers = sample_customer(server.base_url, key)
        targets[name] = Target(name, server.port, f"/customers/{cid}", {"x-api-key": key}, b.workers)
        answers[name] = body, headers
        b.results[name]["get_body_bytes"] = len(body)
    wiremock: Server | None = None
    if b.wiremock_jar is not None:
        b.say("starting the WireMock stub")
        new = targets["new"]
        body, headers = answers["new"]  # the new build's answer, byte for byte
        wiremock = serve_stub(b.servers, b.wiremock_jar, new.path, new.headers["x-api-key"], body, headers)
        targets["wiremock"] = Target("wiremock", wiremock.port, new.path, dict(new.headers), 1)
        b.results["wiremock"] = {"get_body_bytes": len(body), "cold_start_s": one_per_round([wiremock.cold_start_s])}
    try:
        names = list(targets)
        for name in names:
            b.results[name]["get_warmup_rps"] = warm_up(b, targets[name])
        for name, samples in alternate(
            names, 2, lambda n: sequential_latency(targets[n], b.plan.latency_samples // 2)
        ).items():
            b.results[name]["get_latency"] = timings(samples)
        rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for r in range(b.plan.get_rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                rounds[name].append(b.tool.run(targets[name], b.plan.get_seconds, b.plan.get_connections))
        for name, rs in rounds.items():
            b.results[name]["get_throughput"] = {
                # req/s: the median round. Which worker accepts which of wrk's 16 connections is left to chance at
                # the start of each round, and now and then one of 2 workers takes them all (1 round in 12 on an
                # idle machine here, more often under load: a worker not scheduled during the burst gets none);
                # such a round runs at less than half speed. The median leaves those out, a mean would not.
                "value": statistics.median(x["rps"] for x in rs),
                "latency_median_ms": statistics.median(x["latency_median_ms"] for x in rs),
                "latency_p99_ms": statistics.median(x["latency_p99_ms"] for x in rs),
                "errors": sum(x["errors"] for x in rs),
                "n": len(rs),
                "rounds": [round(x["rps"], 1) for x in rs],
                "connections": b.plan.get_connections,
            }
    finally:
        if wiremock is not None:
            b.servers.stop(wiremock)


def warm_up(b: Bench, target: Target) -> list[float]:
    """1 s rounds of load, not counted, until three in a row were no faster than 1.05x the best before them (at
    most `get_warmup_rounds`). A Python server settles at once; the JVM's JIT takes WireMock from a twentieth of
    its speed to all of it in steps over ten seconds or more (a fixed 2 s warm-up left it warming up through the
    measured rounds)."""
    seen: list[float] = []
    for _ in range(b.plan.get_warmup_rounds):
        seen.append(round(b.tool.run(target, 1.0, b.plan.get_connections)["rps"]))
        if len(seen) >= 4 and max(seen[-3:]) <= 1.05 * max(seen[:-3]):
            break
    return seen


def measure_sustained(b: Bench) -> None:
    """Clients import batches concurrently from a pre-minted pool; tokens/s over the whole window."""
    p = b.plan

    def once(name: str) -> float:
        base, key = b.serving[name].base_url, b.creds[name].admin_key
        per_client = p.sustained_batches * p.sustained_batch_size
        pool = mint_tokens(base, p.sustained_clients * per_client)
        time.sleep(1.0)  # as for the 100-token import
        barrier = threading.Barrier(p.sustained_clients + 1)
        done: list[float] = []
        errors: list[BaseException] = []

        def client(i: int) -> None:
            try:
                http = session()
                mine = pool[i * per_client : (i + 1) * per_client]
                barrier.wait()
                for k in range(p.sustained_batches):
                    bulk_import(http, base, key, mine[k * p.sustained_batch_size : (k + 1) * p.sustained_batch_size])
                done.append(time.perf_counter())
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(p.sustained_clients)]
        for t in threads:
            t.start()
        with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: its error is raised below
            barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return len(pool) / (max(done) - started)

    for name, runs in alternate(b.names, p.sustained_rounds, once).items():
        b.results[name]["sustained"] = one_per_round(  # tokens/s
            runs, tokens=p.sustained_clients * p.sustained_batches * p.sustained_batch_size, clients=p.sustained_clients
        )


def measure_reset(b: Bench) -> None:
    """POST /_sandbox/reset, each time after a donor, a token and an import (something to delete)."""
    http = {n: session() for n in b.serving}
    server_ms: dict[str, list[float]] = {n: [] for n in b.serving}

    def once(name: str) -> float:
        base = b.serving[name].base_url
        key = credentials(http[name], base).admin_key
        bulk_import(http[name], base, key, [new_donor_token(http[name], base)])
        with timed() as t:
            body = expect(http[name].post(f"{base}/_sandbox/reset", json={}, timeout=60))
        server_ms[name].append(float((body or {}).get("took_ms", float("nan"))))
        return t[0]

    for name, runs in alternate(b.names, b.plan.reset_runs, once).items():
        b.results[name]["reset"] = one_per_round(runs, server_ms=statistics.median(server_ms[name]))


# What run_all measures, in order (the keys are what --only takes). The cold starts always run: their last servers
# are the ones the other measures use; reset destroys the store, so it comes last.
PHASES: dict[str, tuple[str, Callable[[Bench], None]]] = {
    "cold": ("cold start", measure_cold_start),
    "flow": ("end-to-end flow over HTTP", measure_flows),
    "inproc": ("end-to-end flow in-process", measure_inproc),
    "bulk": ("bulk import of 100 tokens", measure_bulk_100),
    "get": ("GET /customers/{id}: latency and throughput", measure_get),
    "sustained": ("sustained import", measure_sustained),
    "reset": ("reset", measure_reset),
}
