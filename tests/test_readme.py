"""Every shell block of README.md and docs/*.md, run as written against a served sandbox.

Only the host and ports, the CLI's path and where `kyc-sandbox fixtures` writes are swapped (`_localize`; SANDBOX_URL
points the CLI's default at the served sandbox). Two walkthroughs have tests of their own that also check what they
print (`WALKTHROUGHS`); every other shell block runs in `test_doc_block_runs`, one test per block, after a reset of
the sandbox, with the earlier blocks of its section before it (a block may use what they set up) and the section's
`<!-- file: NAME -->` blocks written to NAME. A block that cannot run is listed in `NOT_RUN` with the reason; any
other block runs, so a new one that cannot fails its test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.harness.clients import ControlApi
from tests.support import ROOT, ServedSandbox, free_port

README = "README.md"
SHELL = {"bash", "sh", "shell", "console"}  # run with bash (a `console` block with prompts belongs in NOT_RUN)
FENCE = re.compile(r"^( *)```(\S*)")
FILE_MARK = re.compile(r"^\s*<!-- file: (\S+) -->\s*$")
HEADING = re.compile(r"^#{1,6} (.+)$")

# Sections whose blocks a test below runs and checks (by file and heading): the generic test leaves them out.
WALKTHROUGHS = {
    (README, "The whole flow with curl"),
    ("docs/step3-and-webhooks.md", "Step 3: complete, submit and approve; receive the webhooks"),
}

# Blocks that cannot run here, by file and a line of the block (a substring of one of its lines), with the reason.
IMAGE_TEST = "built and run by `make image-test` (deploy/image_test.py), which .ci/run runs after the suite"
NOT_RUN: dict[tuple[str, str], str] = {
    (README, "make run"): "`make run` serves until stopped, and `make test` runs this whole suite",
    (README, "docker build -t kyc-sandbox"): IMAGE_TEST,
    ("docs/container.md", "docker build -t kyc-sandbox"): IMAGE_TEST,
    ("docs/container.md", "docker compose -f deploy/compose.yaml up"): (
        "compose is not installed on the project's machines (podman 4.3); `make image-test` runs the same topology "
        "(two replicas on PostgreSQL behind deploy/haproxy.cfg) with podman run"
    ),
}

# Pages README links to that another change adds.
PENDING_PAGES: set[str] = set()


@dataclass(frozen=True)
class Block:
    """One fenced block of a Markdown file."""

    doc: str  # README.md or docs/<page>.md
    section: str  # the heading it sits under
    line: int  # the opening fence's line (1-based)
    lang: str
    text: str
    file_name: str | None  # from `<!-- file: NAME -->` just before it: written to NAME before the section runs

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def doc_files() -> list[str]:
    return [README, *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]


def parse(doc: str) -> list[Block]:
    """The fenced blocks of `doc`, dedented (a block may sit in a list item), with the heading each sits under."""
    blocks: list[Block] = []
    section, file_name = "", None
    lines = (ROOT / doc).read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        if fence := FENCE.match(lines[i]):
            indent, lang, start = len(fence.group(1)), fence.group(2), i
            i += 1
            body = []
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            blocks.append(Block(doc, section, start + 1, lang, "\n".join(body) + "\n", file_name))
            file_name = None
        elif mark := FILE_MARK.match(lines[i]):
            file_name = mark.group(1)
        elif heading := HEADING.match(lines[i]):
            section = heading.group(1)
        i += 1
    return blocks


ALL_BLOCKS = [b for doc in doc_files() for b in parse(doc)]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in SHELL]


def reason_not_run(block: Block) -> str | None:
    for (doc, line), reason in NOT_RUN.items():
        if doc == block.doc and any(line in text for text in block.text.splitlines()):
            return reason
    return None


def runnable(block: Block) -> bool:
    return (block.doc, block.section) not in WALKTHROUGHS and reason_not_run(block) is None


def section_blocks(doc: str, section: str) -> list[Block]:
    found = [b for b in ALL_BLOCKS if b.doc == doc and b.section == section]
    assert found, f"{doc} has no blocks under {section!r}"
    return found


def _localize(script: str, base_url: str, listen_port: int) -> str:
    cli = f"{sys.executable} -m simulator.cli"
    return (
        script.replace("http://127.0.0.1:8080", base_url)
        .replace("127.0.0.1:9999", f"127.0.0.1:{listen_port}")
        .replace(".venv/bin/kyc-sandbox fixtures", ".venv/bin/kyc-sandbox fixtures --out fixtures")  # the copy
        .replace(".venv/bin/kyc-sandbox", cli)
    )


def _env(base_url: str | None = None) -> dict[str, str]:
    """This environment without SANDBOX_* settings, with this interpreter's scripts (`pytest`, `kyc-sandbox`) first;
    `base_url`: where the CLI's default sandbox (127.0.0.1:8080) is (SANDBOX_URL, read by `kyc-sandbox sumsub`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    if base_url:
        env["SANDBOX_URL"] = base_url
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PACT_DO_NOT_TRACK"] = "true"
    return env


def _run(script: str, cwd: Path, base_url: str) -> str:
    """The script under `set -e -o pipefail`: a command that fails anywhere fails the test."""
    out = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=_env(base_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _reset(served_sandbox: ServedSandbox) -> None:
    assert ControlApi(served_sandbox.base_url).reset().status_code == 200


# ---------------------------------------------------------------- the two walkthroughs, with what they print
@pytest.mark.served
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the README signs with openssl")
def test_readme_curl_flow_runs_as_written(served_sandbox: ServedSandbox, tmp_path: Path) -> None:
    script = "".join(b.text for b in section_blocks(README, "The whole flow with curl") if b.lang == "bash")
    _reset(served_sandbox)
    out = _run(_localize(script, served_sandbox.base_url, 0), tmp_path, served_sandbox.base_url)
    assert '"reviewStatus":"completed"' in out or '"reviewStatus": "completed"' in out
    assert "Jane Doe (from Sumsub)" in out
    assert '"application_status":"pending"' in out
    assert "Failed to redeem share token: Share token expired" in out
    assert "Tokens are single-use" in out


@pytest.mark.served
def test_step3_and_webhooks_run_as_written(served_sandbox: ServedSandbox, tmp_path: Path) -> None:
    blocks = section_blocks("docs/step3-and-webhooks.md", "Step 3: complete, submit and approve; receive the webhooks")
    listen_cmd, script = (b.text for b in blocks if b.lang == "bash")
    port = free_port()
    _reset(served_sandbox)
    listen_line = _localize(listen_cmd.strip(), served_sandbox.base_url, port)
    listen_line += f" --port {port} --base-url {served_sandbox.base_url} --count 6"
    listener = subprocess.Popen(
        ["bash", "-c", listen_line], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        time.sleep(1.5)
        out = _run(_localize(script, served_sandbox.base_url, port), tmp_path, served_sandbox.base_url)
        received, _ = listener.communicate(timeout=60)
    finally:
        listener.kill()
    assert "Waiting on: individual details (employment_status, purpose_of_account, source_of_wealth, ssn)" in out
    assert "submitted" in out and "approved approved" in out
    assert "'delivered'" in out  # the retried delivery fired on the clock advance
    assert received.count("signature ok") == 6
    assert "customer.created" in received and "answered 500" in received
    assert "customer.kyb_application.submitted" in received


# ---------------------------------------------------------------- every other shell block
@pytest.mark.served
@pytest.mark.parametrize("block", [b for b in SHELL_BLOCKS if runnable(b)], ids=lambda b: b.id)
def test_doc_block_runs(block: Block, served_sandbox: ServedSandbox, tmp_path: Path) -> None:
    """The block, after the earlier runnable blocks of its section, in a folder laid out like the checkout."""
    section = section_blocks(block.doc, block.section)
    before = [b for b in section if b.lang in SHELL and runnable(b) and b.line < block.line]
    for name in ("contracts", "scenarios"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")  # `kyc-sandbox fixtures` writes here, not to ROOT
    for b in section:
        if b.file_name:
            (tmp_path / b.file_name).write_text(b.text, encoding="utf-8")
    _reset(served_sandbox)
    script = _localize("".join(b.text for b in [*before, block]), served_sandbox.base_url, free_port())
    _run(script, tmp_path, served_sandbox.base_url)


def test_every_shell_block_is_run_or_has_a_reason() -> None:
    assert {(b.doc, b.section) for b in SHELL_BLOCKS} >= WALKTHROUGHS
    for doc, line in NOT_RUN:
        matches = [b.id for b in SHELL_BLOCKS if b.doc == doc and any(line in text for text in b.text.splitlines())]
        assert len(matches) == 1, f"NOT_RUN entry {(doc, line)} matches {matches}, not one shell block"


def test_every_fenced_block_names_its_language() -> None:
    """An untagged fence could hide a shell command from the tests: output is ```text."""
    untagged = [b.id for b in ALL_BLOCKS if not b.lang]
    assert untagged == []


# ---------------------------------------------------------------- README's shape and the links between pages
def test_readme_is_short_and_shows_the_two_commands() -> None:
    text = (ROOT / README).read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    lines = [line.split("#")[0].strip() for b in section_blocks(README, "Quick start") for line in b.text.splitlines()]
    assert {"make run", "make test"} <= set(lines)


def test_readme_links_every_docs_page() -> None:
    text = (ROOT / README).read_text(encoding="utf-8")
    for doc in doc_files()[1:]:
        assert f"]({doc})" in text, f"README's 'Where to go next' does not link {doc}"


def test_relative_links_resolve() -> None:
    broken = []
    for doc in doc_files():
        text = (ROOT / doc).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            path = ((ROOT / doc).parent / target).resolve()
            if not path.exists() and path.relative_to(ROOT).as_posix() not in PENDING_PAGES:
                broken.append(f"{doc}: {target}")
    assert broken == []


def test_readme_python_example_runs(tmp_path: Path) -> None:
    (example,) = re.findall(r"<!-- python-example -->\s*```python\n(.*?)```", (ROOT / README).read_text(), re.S)
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Olivia Bennett (from Sumsub)"
