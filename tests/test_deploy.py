"""The container files hold together: Containerfile, build context, compose topology, HAProxy config, image test.

These are static checks, fast enough for `make test`; building and running the image is `make image-test`.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from simulator.settings import Settings
from tests.support import ROOT

CONTAINERFILE = (ROOT / "Containerfile").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
HAPROXY = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
# Read by the control-plane hardening (X-Sandbox-Token, Host checks) as well as the Settings fields.
KNOWN_VARIABLES = {f"SANDBOX_{f.name.upper()}" for f in fields(Settings)} | {
    "SANDBOX_CONTROL_TOKEN",
    "SANDBOX_ALLOWED_HOSTS",
}


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction of the Containerfile (continuation lines joined)."""
    text = CONTAINERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name} (.+)$", text, flags=re.M)]


@cache
def image_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_test", ROOT / "deploy" / "image_test.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_containerfile_is_multi_stage_on_a_base_argument_and_serves_as_a_non_root_user() -> None:
    assert CONTAINERFILE.index("ARG BASE=python:3.12-slim") < CONTAINERFILE.index("FROM ")
    assert instructions("FROM") == ["${BASE} AS build", "${BASE}"]
    assert instructions("EXPOSE") == ["8080"]
    assert instructions("VOLUME") == ['["/data"]']
    assert instructions("USER") == ["10001:10001"]
    assert instructions("ENTRYPOINT") == ['["kyc-sandbox"]'] and instructions("CMD") == ['["serve"]']
    [healthcheck] = instructions("HEALTHCHECK")
    assert "/_sandbox/health" in healthcheck
    env = " ".join(instructions("ENV"))
    assert "SANDBOX_HOST=0.0.0.0" in env and "SANDBOX_DATABASE_URL=sqlite:////data/sandbox.db" in env
    installs = " ".join(line for line in instructions("RUN") if "pip install" in line)
    assert "kyc_sandbox-*.whl" in installs and " -e " not in installs  # the wheel, never an editable checkout


def test_everything_the_containerfile_copies_is_in_the_build_context() -> None:
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    for source in (args.split()[0] for args in instructions("COPY") if not args.startswith("--from")):
        assert source in allowed, f"COPY {source}: excluded by .dockerignore"
        assert (ROOT / source).exists()


def test_every_sandbox_variable_in_the_container_files_is_a_setting() -> None:
    text = CONTAINERFILE + (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\b(SANDBOX_[A-Z_]+)\b", text))
    assert used - KNOWN_VARIABLES == set()


def test_compose_runs_postgres_two_replicas_and_a_load_balancer_in_front() -> None:
    services = COMPOSE["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    sandbox = services["sandbox"]
    assert sandbox["build"]["dockerfile"] == "Containerfile"
    assert sandbox["deploy"]["replicas"] >= 2
    assert "@postgres:5432/" in sandbox["environment"]["SANDBOX_DATABASE_URL"]
    assert sandbox["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert ":?" in sandbox["environment"]["SANDBOX_CONTROL_TOKEN"]  # one token, given to every replica
    assert "ports" not in sandbox and "ports" not in services["postgres"]  # only the balancer is published
    lb = services["lb"]
    assert lb["image"].startswith("haproxy:")
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    assert lb["ports"] == ["${KYC_SANDBOX_PUBLISH:-127.0.0.1:8080}:8080"]


def test_haproxy_has_a_slot_for_every_replica_and_checks_health() -> None:
    template = re.search(r"server-template sandbox- (\d+) sandbox:8080", HAPROXY)
    assert template and int(template.group(1)) >= COMPOSE["services"]["sandbox"]["deploy"]["replicas"]
    assert "uri /_sandbox/health" in HAPROXY
    assert "set-header X-Sandbox-Replica" in HAPROXY


def test_the_image_test_runs_deploy_haproxy_cfg_with_its_replicas_addresses(tmp_path: Path) -> None:
    config = image_test().haproxy_config(18080, [18081, 18082])
    assert "    bind 127.0.0.1:18080\n" in config
    assert "    server sandbox-1 127.0.0.1:18081\n    server sandbox-2 127.0.0.1:18082\n" in config
    assert "server-template" not in config
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed")
    (tmp_path / "haproxy.cfg").write_text(config)
    cfg = tmp_path / "haproxy.cfg"
    out = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, check=False, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_image_test_finds_the_readme_walkthrough_wherever_it_lives() -> None:
    module = image_test()
    section = module.find_section("The whole flow with curl")
    script = module.bash_blocks(section)
    assert "bulk-import-sumsub-tokens" in script and "/_sandbox/clock/advance" in script
    assert "# Multipart uploads are signed" in script  # a comment in a code block is not a heading
    assert "kyc-sandbox webhooks listen" not in section  # it ends where the next section starts


def test_the_readme_shows_the_container_as_the_way_in_without_python() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker run -p 8080:8080 kyc-sandbox" in readme
    assert "docs/container.md" in readme and "deploy/compose.yaml" in readme


def test_the_scripts_outside_the_package_import_only_what_exists() -> None:
    """deploy/, bench/ and examples/ run outside the suite (make image-test, make bench): a moved module would only
    show up there, minutes into a run. Every `simulator` name they import must exist."""
    import ast
    import importlib

    missing = []
    for folder in ("deploy", "bench", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "simulator":
                    module = importlib.import_module(node.module)
                    missing += [
                        f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                        for a in node.names
                        if not hasattr(module, a.name) and importlib.util.find_spec(f"{node.module}.{a.name}") is None
                    ]
                elif isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.split(".")[0] == "simulator" and importlib.util.find_spec(a.name) is None:
                            missing.append(f"{path.relative_to(ROOT)}: {a.name}")
    assert not missing, missing
