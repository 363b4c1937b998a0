"""`make image-test`: build the image through the Containerfile, run it, and run the team topology, with podman.

Images cannot be pulled on these machines, so:

1. **Base.** Debian bookworm with python3 is bootstrapped here (`debootstrap --variant=minbase`) and imported with
   `podman import`. It is cached in ~/.cache/kyc-sandbox/image-base/ (or $KYC_SANDBOX_IMAGE_CACHE), keyed by the
   recipe below and a digest of the suite's signed InRelease file: see `base_image`.
2. **Image.** `podman build --build-arg BASE=<that base>` of the Containerfile, with the host's CA bundle mounted
   read-only over the container's during the build only (the package registries are reached through a proxy that
   only the host's bundle trusts); a check proves the image keeps the base's own bundle.
3. **One container**, published on 127.0.0.1: time until its HEALTHCHECK passes, then the README's curl walkthrough
   (the "The whole flow with curl" section, read from README.md or docs/*.md) and one scenario replay against it.
4. **The team topology of deploy/compose.yaml, started with plain `podman run`** (this podman, 4.3, has no
   `compose`): two replicas of the image on this machine's PostgreSQL (a database `kyc_image_test`, created and
   dropped here) started at the same moment, and Debian's HAProxy running deploy/haproxy.cfg in front, in place
   of the official images. Host networking: each replica and the balancer get their own 127.0.0.1 port, and the
   config's service name is replaced by those addresses. Through the balancer: 32 concurrent redemptions of one
   token (exactly one succeeds, both replicas answer), an idempotent replay across replicas (byte-equal), and a
   webhook receiver that must get each event exactly once.

Prints a table of figures at the end; exits 1 on the first failed check. Size and time to healthy are figures with
their targets marked, not checks (as in `make bench`: timing is never asserted). Everything listens on 127.0.0.1.

    .venv/bin/python deploy/image_test.py      (make image-test)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import image as bench_image  # noqa: E402  (bench/image.py: podman with the project's containers.conf, measurements)

podman = bench_image.podman
IMAGE = "localhost/kyc-sandbox:image-test"
BUILD_STAGE = "localhost/kyc-sandbox:image-test-build"
PREFIX = f"kyc-image-test-{os.getpid()}"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ADMIN_KEY = "dk_sandbox_admin_4KLkSmzQbL6Xs8xnUjssdGHX7PfhHpAb"  # the sandbox's well-known Dakota admin key
DAKOTA_CLIENT = "dakota.xyz_158913"
POSTGRES_ADMIN = os.environ.get("KYC_IMAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_DB = "kyc_image_test"
CONCURRENT = 32

# What the cached base contains. Changing any of it (or the suite's InRelease) makes a new cache key.
BASE_RECIPE = {
    "suite": "bookworm",
    "mirror": "http://deb.debian.org/debian",
    "variant": "minbase",
    "include": ["python3", "python3-venv", "ca-certificates"],
    # What debian:bookworm-slim leaves out too: documentation, manuals, translations, apt's downloaded indexes.
    "trim": [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "var/lib/apt/lists",
        "var/cache/apt",
    ],
    "recipe": 1,
}


class Failed(Exception):
    """A check of the image test failed."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def say(message: str) -> None:
    print(f"· {message}", flush=True)


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1 (held together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))

    def table(self) -> str:
        width = max(len(name) for name, _ in self.rows)
        lines = ["", "kyc-sandbox image test: figures", "-" * (width + 40)]
        lines += [f"{name.ljust(width)}  {value}" for name, value in self.rows]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------- the base


def release_digest(recipe: dict[str, Any]) -> str | None:
    """sha256 of the suite's InRelease (it changes with every point release), or None when the mirror is away."""
    url = f"{recipe['mirror']}/dists/{recipe['suite']}/InRelease"
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:
            return hashlib.sha256(resp.read()).hexdigest()
    except OSError:
        return None


def base_image(figures: Figures) -> str:
    """The debootstrapped base as a local image, from the cache when one with the same key is there.

    Why caching is safe: the base holds only Debian packages of the named suite, fetched by debootstrap and checked
    against Debian's archive keyring, nothing of this project; the key is the recipe plus the digest of the suite's
    signed InRelease, so a point release or an edited recipe makes a new base rather than reusing a stale one; the
    tarball is written under a temporary name and renamed when complete, never changed afterwards; and the cache
    is per user and per machine. Offline, the newest base of the same recipe is used, and the output says so.
    """
    cache = Path(os.environ.get("KYC_SANDBOX_IMAGE_CACHE") or Path.home() / ".cache" / "kyc-sandbox" / "image-base")
    cache.mkdir(parents=True, exist_ok=True)
    recipe_key = hashlib.sha256(json.dumps(BASE_RECIPE, sort_keys=True).encode()).hexdigest()[:12]
    digest = release_digest(BASE_RECIPE)
    suite = BASE_RECIPE["suite"]
    if digest is None:
        cached = sorted(cache.glob(f"{suite}-{recipe_key}-*.tar"), key=lambda p: p.stat().st_mtime)
        check(bool(cached), f"{BASE_RECIPE['mirror']} is unreachable and no cached base exists in {cache}")
        tarball = cached[-1]
        say(f"base: mirror unreachable, using the newest cached base {tarball.name}")
    else:
        tarball = cache / f"{suite}-{recipe_key}-{digest[:12]}.tar"
    tag = f"localhost/kyc-sandbox-base:{tarball.stem}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        figures.add("base image", f"{tag} (cached)")
        return tag
    started = time.monotonic()
    if tarball.exists():
        how = f"imported from {tarball}"
    else:
        bootstrap(tarball)
        how = f"bootstrapped into {tarball}"
        for old in cache.glob(f"{suite}-{recipe_key}-*.tar"):
            if old != tarball:
                old.unlink()  # a superseded point release of the same recipe
    podman(
        "import", "--message", "debootstrap --variant=minbase (deploy/image_test.py)", str(tarball), tag, timeout=600
    )
    figures.add("base image", f"{tag} ({how} in {time.monotonic() - started:.0f} s)")
    return tag


def bootstrap(tarball: Path) -> None:
    check(os.geteuid() == 0, "debootstrap needs root (or a cached base)")
    check(shutil.which("debootstrap") is not None, "debootstrap is not installed (apt-get install debootstrap)")
    say(f"base: debootstrap {BASE_RECIPE['suite']} (first run on this machine: about a minute)")
    with tempfile.TemporaryDirectory(dir=tarball.parent, prefix=".bootstrap-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                f"--variant={BASE_RECIPE['variant']}",
                f"--include={','.join(BASE_RECIPE['include'])}",
                BASE_RECIPE["suite"],
                str(rootfs),
                BASE_RECIPE["mirror"],
            ],
            check=True,
            capture_output=True,
            timeout=1200,
        )
        for path in BASE_RECIPE["trim"]:
            shutil.rmtree(rootfs / path, ignore_errors=True)
        for path in ("var/lib/apt/lists/partial", "var/cache/apt/archives/partial"):  # apt in a derived image
            (rootfs / path).mkdir(parents=True, exist_ok=True)
        partial = Path(tmp) / "base.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)


# ------------------------------------------------------------------------------------------------------ the image


def image_id(tag: str) -> str | None:
    out = podman("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def build_image(base: str, figures: Figures) -> None:
    say(f"build: podman build --build-arg BASE={base} -f Containerfile (host CA bundle mounted for the build only)")
    started = time.monotonic()
    previous = {tag: image_id(tag) for tag in (IMAGE, BUILD_STAGE)}
    for target, tag in ((None, IMAGE), ("build", BUILD_STAGE)):  # the build stage tagged too: see below
        out = podman(
            "build", "--format", "docker", "--network", "host", "--build-arg", f"BASE={base}",
            "--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro", *(["--target", target] if target else []),
            "--tag", tag, "--file", str(ROOT / "Containerfile"), str(ROOT),
            check=False, timeout=1200,
        )  # fmt: skip
        if out.returncode != 0:
            raise Failed(f"podman build failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    # The previous run's images (both stages), once replaced, go with the layers only they used; the layers this
    # build reused stay as the next build's cache. Without this every code change would leave a few hundred MB.
    stale = [old for tag, old in previous.items() if old and old != image_id(tag)]
    if stale:
        podman("rmi", *stale, check=False)
    figures.add("image build", f"{time.monotonic() - started:.0f} s")

    def bundle_digest(image: str) -> str:
        return podman("run", "--rm", "--entrypoint", "sha256sum", image, HOST_CA_BUNDLE).stdout.split()[0]

    check(bundle_digest(IMAGE) == bundle_digest(base), "the image's CA bundle is not its base's: the host's leaked")
    size = bench_image.image_size_mb(IMAGE)
    verdict = "pass" if size < bench_image.SIZE_TARGET_MB else "MISS"
    figures.add("image size", f"{size:.0f} MB (target < {bench_image.SIZE_TARGET_MB:.0f} MB: {verdict})")


# ----------------------------------------------------------------------------------- one container, as a user runs it


def run_args(name: str, env: dict[str, str], *options: str) -> list[str]:
    """`podman run -d` arguments for the image as container `name` with `env`. Podman would run the HEALTHCHECK
    from systemd timers, which these machines lack: the test runs it itself (`podman healthcheck run`)."""
    args = ["run", "-d", "--health-interval=disable", "--name", name, *options]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return [*args, IMAGE]


def control_headers(token: str) -> dict[str, str]:
    return {"X-Sandbox-Token": token, "Content-Type": "application/json"}


def find_section(title: str) -> str:
    """The Markdown section whose heading starts with `title`, in README.md or docs/*.md (wherever it lives now),
    up to the next heading of the same or a higher level."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
        level, fenced, section = 0, False, []
        for line in lines:
            fenced ^= line.startswith("```")
            heading = re.match(r"(#+) ", line) if not (fenced or line.startswith("```")) else None
            if level and heading and len(heading.group(1)) <= level:
                break
            if heading and not level and line[heading.end() :].startswith(title):
                level = len(heading.group(1))
            if level:
                section.append(line)
        if section:
            return "".join(section)
    raise Failed(f"no section {title!r} in README.md or docs/*.md")


def bash_blocks(section: str) -> str:
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.S))


def run_walkthrough(base_url: str, token: str) -> str:
    """The README's curl walkthrough as written: only the base URL and the CLI's path are swapped, and every curl
    carries the control-plane token (harmless where it is not needed)."""
    script = bash_blocks(find_section("The whole flow with curl"))
    script = script.replace("http://127.0.0.1:8080", base_url).replace(
        ".venv/bin/kyc-sandbox", f"{sys.executable} -m simulator.cli"
    )
    prelude = 'curl() { command curl -H "X-Sandbox-Token: $SANDBOX_CONTROL_TOKEN" "$@"; }\n'
    env = {**os.environ, "SANDBOX_CONTROL_TOKEN": token, "SANDBOX_URL": base_url, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["bash", "-c", prelude + script], cwd=tmp, env=env, capture_output=True, text=True, timeout=180, check=False
        )
    check(out.returncode == 0, f"walkthrough exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    for expected in (
        '"reviewStatus":"completed"',
        "Jane Doe (from Sumsub)",
        '"application_status":"pending"',
        "Failed to redeem share token: Share token expired",
        "Tokens are single-use",
    ):
        check(
            expected.replace(" ", "") in out.stdout.replace(" ", ""),
            f"walkthrough output lacks {expected!r}:\n{out.stdout[-3000:]}",
        )
    return out.stdout


def single_container(figures: Figures) -> None:
    (port,), token = free_ports(1), secrets.token_hex(16)
    base_url = f"http://127.0.0.1:{port}"
    name = f"{PREFIX}-single"
    say(f"run: podman run -p 127.0.0.1:{port}:8080 {IMAGE}")
    started = time.monotonic()
    podman(
        *run_args(name, {"SANDBOX_CONTROL_TOKEN": token, "SANDBOX_BASE_URL": base_url}, "-p", f"127.0.0.1:{port}:8080")
    )
    try:
        healthy = bench_image.wait_healthy(name, started)
        verdict = "pass" if healthy < bench_image.HEALTHY_TARGET_S else "MISS"
        target = f"target < {bench_image.HEALTHY_TARGET_S:.0f} s: {verdict}"
        figures.add("time to healthy", f"{healthy:.2f} s (podman run -> HEALTHCHECK passes; {target})")
        uid = podman("exec", name, "id", "-u").stdout.strip()
        check(uid != "0", "the sandbox runs as root in the container")

        say("walkthrough: README 'The whole flow with curl' against the container")
        t0 = time.monotonic()
        run_walkthrough(base_url, token)
        figures.add("README curl walkthrough", f"passed ({time.monotonic() - t0:.1f} s)")

        # The replay runs from the image too (its CLI, no Python on the host needed), on the host's network.
        say("scenario: kyc-sandbox scenario run expired-token.yaml --base-url <the container>, from the image")
        out = podman(
            "run", "--rm", "--health-interval=disable", "--network", "host", "-e", f"SANDBOX_CONTROL_TOKEN={token}",
            "-v", f"{ROOT / 'scenarios'}:/scenarios:ro", IMAGE,
            "scenario", "run", "/scenarios/expired-token.yaml", "--base-url", base_url,
            check=False,
        )  # fmt: skip
        check(out.returncode == 0, f"scenario replay failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
        check("1 passed" in out.stdout, f"scenario replay did not pass:\n{out.stdout[-3000:]}")
        figures.add("scenario replay (CLI in the image)", "expired-token.yaml passed")

        files = podman("exec", name, "ls", "/data").stdout.split()
        check("sandbox.db" in files, f"no SQLite store on the /data volume: {files}")
        t0 = time.monotonic()
        podman("stop", "-t", "10", name)
        figures.add(
            "container uid / store / stop",
            f"uid {uid}, /data/sandbox.db, SIGTERM stop in {time.monotonic() - t0:.2f} s",
        )
    finally:
        podman("rm", "-f", "-v", "-t", "2", name, check=False)  # -v: its anonymous /data volume too


# ------------------------------------------------------------------------------------------- the team topology


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook target on 127.0.0.1 that records every delivery's event id and checks its Ed25519 signature."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []  # (X-Dakota-Event-ID, X-Dakota-Event-Type)
        self.bad_signatures = 0
        self.public_key_hex = ""
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        from simulator.dakota.signing import verify_dakota_signature

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = verify_dakota_signature(
            self.server.public_key_hex,
            self.headers.get("X-Webhook-Timestamp", ""),
            body,
            self.headers.get("X-Webhook-Signature", ""),
        )
        with self.server.lock:
            self.server.deliveries.append((self.headers["X-Dakota-Event-ID"], self.headers["X-Dakota-Event-Type"]))
            self.server.bad_signatures += 0 if ok else 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on this machine's PostgreSQL (never the suite's `test`), dropped afterwards."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise Failed(f"PostgreSQL at {POSTGRES_ADMIN} is not reachable: {exc}") from exc
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {POSTGRES_DB}")
        try:
            yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{POSTGRES_DB}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")


def haproxy_config(lb_port: int, replica_ports: list[int]) -> str:
    """deploy/haproxy.cfg with compose's names replaced by this machine's 127.0.0.1 ports (each replacement must hit
    once, so the test runs the file compose runs)."""
    text = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    servers = "\n".join(f"    server sandbox-{i} 127.0.0.1:{p}" for i, p in enumerate(replica_ports, 1))
    for old, new in (
        (re.compile(r"^    bind :8080$", re.M), f"    bind 127.0.0.1:{lb_port}"),
        (re.compile(r"^    server-template sandbox- \d+ sandbox:8080$", re.M), servers),
    ):
        text, hits = old.subn(new, text)
        check(hits == 1, f"deploy/haproxy.cfg: expected one line matching {old.pattern!r}")
    return text


def import_tokens(url: str, tokens: list[str], key: str | None = None) -> requests.Response:
    return requests.post(
        f"{url}/customers/bulk-import-sumsub-tokens",
        data=json.dumps({"tokens": tokens}),
        headers={
            "x-api-key": ADMIN_KEY,
            "x-idempotency-key": key or str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
        timeout=60,
    )


def mint(url: str, token: str) -> str:
    resp = requests.post(
        f"{url}/_sandbox/donors",
        headers=control_headers(token),
        timeout=30,
        data=json.dumps({"profile": "gb-passport", "share_with": DAKOTA_CLIENT}),
    )
    check(resp.ok, f"POST /_sandbox/donors answered {resp.status_code}: {resp.text}")
    return str(resp.json()["share_token"]["token"])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/_sandbox/health", timeout=2).ok:
                return
        time.sleep(0.1)
    raise Failed(f"{url} did not answer /_sandbox/health within {timeout:.0f} s")


def team_topology(figures: Figures) -> None:
    token = secrets.token_hex(16)
    lb_port, *ports = free_ports(3)
    lb = f"http://127.0.0.1:{lb_port}"
    names = [f"{PREFIX}-sandbox-{i}" for i in (1, 2)]
    haproxy: subprocess.Popen[bytes] | None = None
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with postgres_database() as database_url, tempfile.TemporaryDirectory() as tmp:
        try:
            say(f"topology: 2 replicas on postgresql ({POSTGRES_DB}) started together, haproxy in front")
            started = time.monotonic()
            env = {
                "SANDBOX_HOST": "127.0.0.1",
                "SANDBOX_DATABASE_URL": database_url,
                "SANDBOX_BASE_URL": lb,
                "SANDBOX_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SANDBOX_CONTROL_TOKEN": token,
            }
            with ThreadPoolExecutor(len(names)) as pool:  # both `podman run` at the same moment
                runs = [
                    run_args(name, {**env, "SANDBOX_PORT": str(port)}, "--network", "host")
                    for name, port in zip(names, ports, strict=True)
                ]
                list(pool.map(lambda args: podman(*args), runs))
            for name in names:
                try:
                    bench_image.wait_healthy(name, started)
                except TimeoutError as exc:
                    logs = podman("logs", "--tail", "40", name, check=False)
                    raise Failed(f"{exc}:\n{logs.stdout}{logs.stderr}") from exc
            versions = _alembic_versions(database_url)
            check(len(versions) == 1, f"alembic_version after two replicas started together: {versions}")
            figures.add(
                "migrations, 2 replicas started together",
                f"one schema, revision {versions[0]}; both healthy in {time.monotonic() - started:.1f} s",
            )

            cfg = Path(tmp) / "haproxy.cfg"
            cfg.write_text(haproxy_config(lb_port, ports), encoding="utf-8")
            haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL)
            wait_http(lb)

            receiver.public_key_hex = requests.get(
                f"{lb}/_sandbox/webhooks/public-key", headers=control_headers(token), timeout=10
            ).json()["public_key_hex"]
            resp = requests.post(
                f"{lb}/webhooks/targets",
                timeout=10,
                data=json.dumps({"url": receiver.url, "global": True}),
                headers={
                    "x-api-key": ADMIN_KEY,
                    "Content-Type": "application/json",
                    "x-idempotency-key": str(uuid.uuid4()),
                },
            )
            check(resp.status_code in (200, 201), f"POST /webhooks/targets answered {resp.status_code}: {resp.text}")

            figures.add(f"{CONCURRENT} concurrent redemptions of one token", concurrent_redemptions(lb, token))
            figures.add("idempotent replay, replica 1 then 2", cross_replica_replay(lb, ports, token))
            for port in ports:  # one more event produced by each replica directly
                check(
                    import_tokens(f"http://127.0.0.1:{port}", [mint(lb, token)]).json()["succeeded"] == 1,
                    "an import at a replica failed",
                )
            figures.add("webhook deliveries", exactly_once(lb, receiver))
        finally:
            if haproxy is not None:
                haproxy.terminate()
                haproxy.wait(timeout=10)
            receiver.shutdown()
            for name in names:
                podman("rm", "-f", "-v", "-t", "5", name, check=False)


def _alembic_versions(database_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def concurrent_redemptions(lb: str, token: str) -> str:
    share_token = mint(lb, token)
    barrier = threading.Barrier(CONCURRENT)
    results: list[tuple[int, dict[str, Any], str]] = []
    lock = threading.Lock()

    def redeem() -> None:
        barrier.wait()
        resp = import_tokens(lb, [share_token])  # a new connection each: the balancer picks a replica per request
        with lock:
            results.append((resp.status_code, resp.json(), resp.headers.get("X-Sandbox-Replica", "?")))

    threads = [threading.Thread(target=redeem) for _ in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    check(len(results) == CONCURRENT, f"{CONCURRENT - len(results)} redemptions did not answer")
    check(all(status == 200 for status, _, _ in results), f"statuses: {Counter(s for s, _, _ in results)}")
    rows = [body["results"][0] for _, body, _ in results]
    succeeded = sum(1 for row in rows if row["success"])
    single_use = sum(1 for row in rows if not row["success"] and "Tokens are single-use" in row.get("error", ""))
    replicas = Counter(replica for _, _, replica in results)
    check(succeeded == 1, f"{succeeded} of {CONCURRENT} redemptions succeeded (expected exactly 1)")
    check(single_use == CONCURRENT - 1, f"only {single_use} rows say 'Tokens are single-use': {rows}")
    check(len(replicas) >= 2 and "?" not in replicas, f"the balancer did not spread the requests: {replicas}")
    spread = " + ".join(f"{n} on {r}" for r, n in sorted(replicas.items()))
    return f"1 succeeded, {single_use} 'Tokens are single-use' ({spread})"


def cross_replica_replay(lb: str, ports: list[int], token: str) -> str:
    share_token, key = mint(lb, token), str(uuid.uuid4())
    first = import_tokens(f"http://127.0.0.1:{ports[0]}", [share_token], key)
    second = import_tokens(f"http://127.0.0.1:{ports[1]}", [share_token], key)
    check(first.status_code == 200 and first.json()["succeeded"] == 1, f"first import: {first.text}")
    check(second.headers.get("Idempotent-Replayed") == "true", f"no Idempotent-Replayed: {dict(second.headers)}")
    check(second.content == first.content, "the replayed body differs from the first response")
    return "byte-equal body, Idempotent-Replayed: true"


def exactly_once(lb: str, receiver: Receiver, timeout: float = 30, settle: float = 3) -> str:
    """Every event of /events delivered once: wait for all, then `settle` seconds more for any duplicate."""
    resp = requests.get(f"{lb}/events?limit=100", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    expected = {event["id"] for event in resp.json()["data"]}
    check(len(expected) >= 4, f"expected at least 4 events, /events lists {len(expected)}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= {event_id for event_id, _ in receiver.deliveries}:
        time.sleep(0.2)
    time.sleep(settle)
    with receiver.lock:
        counts = Counter(event_id for event_id, _ in receiver.deliveries)
        types = Counter(event_type for _, event_type in receiver.deliveries)
        bad = receiver.bad_signatures
    missing, duplicated = expected - set(counts), {e: n for e, n in counts.items() if n > 1}
    check(not missing, f"events never delivered: {sorted(missing)}")
    check(not duplicated, f"events delivered more than once: {duplicated}")
    check(set(counts) == expected, f"deliveries of unknown events: {sorted(set(counts) - expected)}")
    check(bad == 0, f"{bad} deliveries with a bad Ed25519 signature")
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
    return f"{len(expected)} events, {sum(counts.values())} deliveries, each once, signatures ok ({kinds})"


# ------------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="Build the image and test it and the team topology with podman.").parse_args(
        argv
    )
    for tool in ("podman", "haproxy"):
        if shutil.which(tool) is None:
            print(f"image-test: {tool} is not installed (.ci/run installs it from Debian's packages)", file=sys.stderr)
            return 1
    figures = Figures()
    started = time.monotonic()
    try:
        base = base_image(figures)
        build_image(base, figures)
        single_container(figures)
        team_topology(figures)
    except (Failed, subprocess.CalledProcessError, TimeoutError, requests.RequestException) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
        print(figures.table() if figures.rows else "", file=sys.stderr)
        print(f"\nimage-test FAILED: {exc}\n{detail or ''}", file=sys.stderr)
        return 1
    figures.add("image test took", f"{time.monotonic() - started:.0f} s")
    print(figures.table())
    print("\nimage-test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
