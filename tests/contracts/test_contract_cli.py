"""`kyc-sandbox contract verify | states`, run as an integrator runs them, on real files.

The consumer example of docs/contracts-and-pact.md is extracted and executed, and its pact verified, so the docs
cannot rot. The main paths (passes, fails with a report, refuses an empty pact) run the installed CLI in a subprocess;
the other error paths go through click's runner in-process, which is the same code without the interpreter start.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from simulator.cli import main
from simulator.control.pact_states import CATALOGUE
from tests.support import ROOT, ServedSandbox

DOC = ROOT / "docs" / "contracts-and-pact.md"
EXAMPLE = re.compile(r"<!-- contract-example:start -->\s*```python\n(.*?)```\s*<!-- contract-example:end -->", re.S)
ENV = {**os.environ, "PACT_DO_NOT_TRACK": "true"}


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=cwd or ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def contract(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The `kyc-sandbox contract` command in a subprocess."""
    return run("-m", "simulator.cli", "contract", *args, cwd=cwd)


def invoke(*args: str) -> Result:
    """The same command in-process."""
    return CliRunner().invoke(main, ["contract", *args], env={"PACT_DO_NOT_TRACK": "true"})


def doc_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Contract testing in CI")
    return text[start : text.index("\n## ", start + 1)]


@pytest.fixture(scope="module")
def example_pacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs' example test, written out and run with pytest: the pact it writes."""
    found = EXAMPLE.findall(DOC.read_text(encoding="utf-8"))
    assert len(found) == 1, "docs/contracts-and-pact.md must hold exactly one contract example block"
    work = tmp_path_factory.mktemp("integrator")
    (work / "test_dakota_contract.py").write_text(found[0], encoding="utf-8")
    done = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_dakota_contract.py", cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    pact = work / "pacts" / "my-onboarding-service-dakota.json"
    assert pact.exists(), done.stdout
    return work / "pacts"


def test_docs_example_pact_passes(example_pacts: Path) -> None:
    done = contract("verify", str(example_pacts))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  an import of a valid share token  [given: a share token exists for Dakota]" in done.stdout
    assert "PASS  an import of an expired share token  [given: a share token has expired]" in done.stdout
    assert "PASSED: 2 interactions checked, 2 ok, 0 failing" in done.stdout


def test_docs_example_passes_against_a_running_sandbox(example_pacts: Path, served_sandbox: ServedSandbox) -> None:
    done = invoke("verify", str(example_pacts), "--provider-base-url", served_sandbox.base_url, "--provider", "dakota")
    assert done.exit_code == 0, done.output
    assert f"Verifying against {served_sandbox.base_url}" in done.stdout


def test_broken_expectation_fails_with_a_readable_report(example_pacts: Path, tmp_path: Path) -> None:
    pact = json.loads((example_pacts / "my-onboarding-service-dakota.json").read_text())
    for interaction in pact["interactions"]:
        if interaction["description"] == "an import of a valid share token":
            row = interaction["response"]["body"]["content"]["results"][0]
            row["customerId"] = row.pop("customer_id")  # the integrator expects a field Dakota does not send
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(pact))
    done = contract("verify", str(broken))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL  an import of a valid share token  [given: a share token exists for Dakota]" in out
    assert "$.results[0] -> Actual map is missing the following keys: customerId" in out
    assert "PASS  an import of an expired share token" in out
    assert "FAILED: 2 interactions checked, 1 ok, 1 failing" in out


def hand_written(interactions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "consumer": {"name": "hand-written"},
        "provider": {"name": "Dakota"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}},
    }


def test_hand_written_v2_pact_passes(tmp_path: Path) -> None:
    """A pact written by hand (Pact v2 `providerState`), no pact library involved."""
    admin = "dk_sandbox_admin_4KLkSmzQbL6Xs8xnUjssdGHX7PfhHpAb"
    pact = hand_written(
        [
            {
                "description": "an import with no tokens",
                "providerState": "the sandbox is empty",
                "request": {
                    "method": "POST",
                    "path": "/customers/bulk-import-sumsub-tokens",
                    "headers": {
                        "Content-Type": "application/json",
                        "x-api-key": admin,
                        "x-idempotency-key": "0b6f3c1e-9a57-4f1b-8f0e-3d2c1b0a9f8e",
                    },
                    "body": {"tokens": []},
                },
                "response": {"status": 400, "body": {"status": 400, "title": "Invalid Request"}},
            },
            {
                "description": "a customer that does not exist",
                "providerState": "the sandbox is empty",
                "request": {
                    "method": "GET",
                    "path": "/customers/2ZbF1cQmXo4yP7sT9vW3kLn8RtA",
                    "headers": {"x-api-key": admin},
                },
                "response": {"status": 404},
            },
        ]
    )
    path = tmp_path / "hand-written-dakota.json"
    path.write_text(json.dumps(pact))
    done = invoke("verify", str(path))
    assert done.exit_code == 0, done.output
    assert "PASSED: 2 interactions checked, 2 ok, 0 failing" in done.stdout


def test_unknown_state_and_bad_params_fail_and_are_named(tmp_path: Path) -> None:
    pact = hand_written(
        [
            {
                "description": "anything",
                "providerState": "a unicorn exists",
                "request": {"method": "GET", "path": "/customers"},
                "response": {"status": 401},
            },
            {
                "description": "a misspelt param",
                "providerStates": [{"name": "a share token has expired", "params": {"ttl": 5}}],
                "request": {"method": "GET", "path": "/customers"},
                "response": {"status": 401},
            },
        ]
    )
    path = tmp_path / "unicorn.json"
    path.write_text(json.dumps(pact))
    done = invoke("verify", str(path))
    assert done.exit_code == 1, done.output
    assert "provider state 'a unicorn exists' is not in the sandbox's catalogue" in done.stdout
    assert "the sandbox answered 400: provider state 'a share token has expired' takes no param(s) ttl" in done.stdout


def test_unreachable_sandbox_fails_clearly(example_pacts: Path) -> None:
    from tests.support import free_port

    url = f"http://127.0.0.1:{free_port()}"
    done = invoke("verify", str(example_pacts), "--provider-base-url", url)
    assert done.exit_code == 1
    assert f"cannot verify: cannot reach the sandbox at {url}" in done.stderr


def test_empty_pact_fails_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"consumer": {"name": "c"}, "provider": {"name": "dakota"}, "interactions": []}))
    done = contract("verify", str(path))
    assert done.returncode == 1
    assert f"Error: nothing to verify: {path}: the pact has no interactions: nothing would be verified" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"consumer": {"name": "c"}, "provider": {"name": "dakota"}}, "has no interactions"),
        ({"consumer": {"name": "c"}, "provider": {"name": "dakota"}, "messages": []}, "has no interactions"),
        ({"hello": "world"}, "not a pact file"),
        ("not json at all", "not a readable JSON pact file"),
    ],
)
def test_nothing_to_verify_fails_with_a_clear_message(tmp_path: Path, content: Any, message: str) -> None:
    path = tmp_path / "pact.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    done = invoke("verify", str(path))
    assert done.exit_code == 1
    assert "nothing to verify" in done.stderr
    assert message in done.stderr


def test_missing_file_and_empty_directory_fail(tmp_path: Path) -> None:
    missing = invoke("verify", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1
    assert "no such file or directory" in missing.stderr
    empty = invoke("verify", str(tmp_path))
    assert empty.exit_code == 1
    assert "no pact files (*.json) in this directory" in empty.stderr


def test_provider_filter_that_matches_nothing_fails(example_pacts: Path) -> None:
    done = invoke("verify", str(example_pacts), "--provider", "sumsub")
    assert done.exit_code == 1
    assert "no pact for provider 'sumsub' (the pacts name: dakota)" in done.stderr


def test_states_command_lists_the_catalogue() -> None:
    text = invoke("states")
    assert text.exit_code == 0, text.output
    as_json = invoke("states", "--json")
    listed = json.loads(as_json.stdout)["states"]
    assert [s["name"] for s in listed] == list(CATALOGUE)
    for name in CATALOGUE:
        assert repr(name) in text.stdout
    assert ".given('a share token has expired', {\"ttlInSecs\": 600})" in text.stdout


def test_readme_documents_every_provider_state() -> None:
    section = doc_section()
    for name in CATALOGUE:
        assert f"`{name}`" in section, f"the docs' contract section does not document {name!r}"
    assert "kyc-sandbox contract verify pacts/" in section


def test_verify_help_explains_states_and_exit_status() -> None:
    done = invoke("verify", "--help")
    assert done.exit_code == 0
    assert "kyc-sandbox contract states" in done.stdout
    assert "Exit status" in done.stdout
