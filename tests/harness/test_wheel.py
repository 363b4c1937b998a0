"""The built wheel works outside the repo: fixtures, contracts and scenarios ship inside it; the plugin loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PLUGIN_TEST = """
def test_the_installed_plugin_serves_a_sandbox(kyc_sandbox):
    token = kyc_sandbox.token("kr-passport-hangul")
    result = kyc_sandbox.import_tokens([token])
    assert result["succeeded"] == 1, result
"""


def sh(*cmd: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "KYC_SANDBOX_URL") and not k.startswith("SANDBOX_")
    }
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_installed_wheel_runs_shipped_scenarios_and_the_plugin_outside_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("kyc_sandbox-*.whl")

    venv = tmp_path / "venv"
    # No pip inside (ensurepip is the slowest part): this environment's pip installs into it with --python.
    assert sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    bin_dir = venv / "bin"
    installed = sh(
        sys.executable,
        "-m",
        "pip",
        "--python",
        bin_dir / "python",
        "install",
        "-q",
        "--no-compile",
        f"{wheel}[testing]",
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = sh(
        bin_dir / "python",
        "-c",
        "import simulator; from simulator.core.resources import data_dir; "
        "print(simulator.__file__); print(data_dir('scenarios'))",
        cwd=work,
    )
    module_file, scenarios_dir = where.stdout.split()
    assert module_file.startswith(str(venv)) and "_bundled" in scenarios_dir, where.stdout

    # No path: the scenarios bundled in the wheel.
    run = sh(bin_dir / "kyc-sandbox", "scenario", "run", "--junit-xml", "report.xml", cwd=work)
    assert run.returncode == 0, run.stdout + run.stderr
    shipped = len(list((ROOT / "scenarios").glob("*.yaml")))
    assert f"{shipped} passed, 0 failed" in run.stdout
    assert f'tests="{shipped}"' in (work / "report.xml").read_text()

    (work / "test_integration.py").write_text(PLUGIN_TEST, encoding="utf-8")
    plugin = sh(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=work)
    assert plugin.returncode == 0, plugin.stdout + plugin.stderr
    assert "1 passed" in plugin.stdout
