"""The README's shell walkthroughs, run as written against a served sandbox (only host and ports swapped)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT, ServedSandbox, free_port

pytestmark = pytest.mark.served
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.index("\n## ", start + 3)
    return README[start:end]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _localize(script: str, base_url: str, listen_port: int) -> str:
    cli = f"{sys.executable} -m simulator.cli"
    return (
        script.replace("http://127.0.0.1:8080", base_url)
        .replace("127.0.0.1:9999", f"127.0.0.1:{listen_port}")
        .replace(".venv/bin/kyc-sandbox", cli)
    )


def _run(script: str, cwd: Path) -> str:
    out = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the README signs with openssl")
def test_readme_curl_flow_runs_as_written(served_sandbox: ServedSandbox, tmp_path: Path) -> None:
    assert _bash_blocks(_section("Quick start"))  # make run / make test are shown
    blocks = _bash_blocks(_section("The whole flow with curl"))
    script = "\n".join(blocks)
    requests_reset = (
        f"curl -s -X POST {served_sandbox.base_url}/_sandbox/reset -H 'Content-Type: application/json' >/dev/null\n"
    )
    out = _run(requests_reset + _localize(script, served_sandbox.base_url, 0), tmp_path)
    assert '"reviewStatus":"completed"' in out or '"reviewStatus": "completed"' in out
    assert "Jane Doe (from Sumsub)" in out
    assert '"application_status":"pending"' in out
    assert "Failed to redeem share token: Share token expired" in out
    assert "Tokens are single-use" in out


def test_readme_step3_and_webhooks_run_as_written(served_sandbox: ServedSandbox, tmp_path: Path) -> None:
    section = _section("Step 3: complete, submit and approve; receive the webhooks")
    listen_cmd, script = _bash_blocks(section)[:2]
    port = free_port()
    reset = f"{served_sandbox.base_url}/_sandbox/reset"
    subprocess.run(["curl", "-s", "-X", "POST", "-H", "Content-Type: application/json", reset], check=True,
                   capture_output=True, timeout=30)  # fmt: skip
    listen_line = _localize(listen_cmd.strip(), served_sandbox.base_url, port)
    listen_line += f" --port {port} --base-url {served_sandbox.base_url} --count 6"
    listener = subprocess.Popen(
        ["bash", "-c", listen_line], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        time.sleep(1.5)
        out = _run(_localize(script, served_sandbox.base_url, port), tmp_path)
        received, _ = listener.communicate(timeout=60)
    finally:
        listener.kill()
    assert "Waiting on: individual details (employment_status, purpose_of_account, source_of_wealth, ssn)" in out
    assert "submitted" in out and "approved approved" in out
    assert "'delivered'" in out  # the retried delivery fired on the clock advance
    assert received.count("signature ok") == 6
    assert "customer.created" in received and "answered 500" in received
    assert "customer.kyb_application.submitted" in received
