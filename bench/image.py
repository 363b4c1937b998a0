"""The container image's figures for `make bench`: its size and its time to healthy, measured with podman.

`make image-test` builds the image (`localhost/kyc-sandbox:image-test`); `$KYC_SANDBOX_IMAGE` names another one.
Without podman or without a built image every figure is "n/a". Containers run on 127.0.0.1 ports only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from report import Check, Row

ROOT = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"
CANDIDATES = ("localhost/kyc-sandbox:image-test", "localhost/kyc-sandbox:latest")
SIZE_TARGET_MB = 250.0
HEALTHY_TARGET_S = 2.0


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """podman with the project's containers.conf (runc, cgroupfs, no default ulimits)."""
    env = {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}
    return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout, check=check)


def find_image() -> str | None:
    if shutil.which("podman") is None:
        return None
    for image in filter(None, (os.environ.get("KYC_SANDBOX_IMAGE"), *CANDIDATES)):
        if podman("image", "exists", image, check=False).returncode == 0:
            return image
    return None


def image_size_mb(image: str) -> float:
    """The image's size as `podman images` shows it (uncompressed, MB of 10^6 bytes)."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip()) / 1e6


def wait_healthy(container: str, started: float, timeout: float = 60) -> float:
    """Seconds from `started` until the image's own HEALTHCHECK command first succeeds in `container`."""
    deadline = started + timeout
    while time.monotonic() < deadline:
        if podman("healthcheck", "run", container, check=False).returncode == 0:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{container} not healthy after {timeout:.0f} s")


def time_to_healthy(image: str) -> float:
    """`podman run` of a new container (published on 127.0.0.1, new /data) until its HEALTHCHECK passes."""
    name = f"kyc-bench-{os.getpid()}"
    started = time.monotonic()
    podman(
        "run",
        "-d",
        "--health-interval=disable",  # no systemd timers here: checked with `podman healthcheck run`
        "--name",
        name,
        "-p",
        "127.0.0.1::8080",
        "-e",
        f"SANDBOX_CONTROL_TOKEN={os.urandom(16).hex()}",
        image,
    )
    try:
        return wait_healthy(name, started)
    finally:
        podman("rm", "-f", "-v", "-t", "5", name, check=False)  # -v: its anonymous /data volume too


def measure() -> dict[str, float | str]:
    image = find_image()
    if image is None:
        return {}
    runs = sorted(time_to_healthy(image) for _ in range(3))
    return {"image": image, "size_mb": image_size_mb(image), "healthy_s": runs[1]}


def rows(bench: object) -> list[Row]:
    """The bench table's rows (`ROW_PROVIDERS` in bench/run.py): this checkout's image, in the new column."""
    figures = measure()
    if not figures:
        why = "n/a (no podman)" if shutil.which("podman") is None else "n/a (no image: make image-test)"
        return [
            Row("container image size", new=why, checks=[Check(f"< {SIZE_TARGET_MB:.0f} MB", None)]),
            Row("container start -> HEALTHCHECK passes", new=why, checks=[Check(f"< {HEALTHY_TARGET_S:.0f} s", None)]),
        ]
    size, healthy = float(figures["size_mb"]), float(figures["healthy_s"])
    return [
        Row(
            f"container image size ({figures['image']})",
            new=f"{size:.0f} MB",
            checks=[Check(f"< {SIZE_TARGET_MB:.0f} MB", size < SIZE_TARGET_MB, size)],
            data={"size_mb": size},
        ),
        Row(
            "container start -> HEALTHCHECK passes (podman, median of 3)",
            new=f"{healthy:.2f} s",
            checks=[Check(f"< {HEALTHY_TARGET_S:.0f} s", healthy < HEALTHY_TARGET_S, healthy)],
            data={"healthy_s": healthy},
        ),
    ]
