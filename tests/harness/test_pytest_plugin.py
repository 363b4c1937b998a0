"""The pytest plugin (`kyc_sandbox`), run the way an integrator runs it: inner pytest sessions via pytester."""

from __future__ import annotations

import re

import pytest

from simulator.harness import pytest_plugin
from tests.support import ROOT, ServedSandbox

pytest_plugins = ["pytester"]

INTEGRATOR_TESTS = """
def test_a_shared_customer_is_imported(kyc_sandbox):
    token = kyc_sandbox.token("gb-passport")
    result = kyc_sandbox.import_tokens([token])
    assert result["succeeded"] == 1
    row = result["results"][0]
    app = kyc_sandbox.application(row["customer_id"], row["application_id"])
    assert app["entities"]["primary_individual"]["first_name"] == "Olivia"
    assert kyc_sandbox.token_state(token) == "redeemed"


def test_each_test_starts_from_a_reset_sandbox(kyc_sandbox):
    assert kyc_sandbox.customers()["meta"]["total_count"] == 0


def test_the_clock_expires_tokens(kyc_sandbox):
    kyc_sandbox.freeze()
    token = kyc_sandbox.token("us-ssn", ttl=60)
    kyc_sandbox.advance(60)
    row = kyc_sandbox.import_tokens([token])["results"][0]
    assert row["error"] == "Failed to redeem share token: Share token expired"


def test_signed_sumsub_clients_and_webhooks(kyc_sandbox, kyc_sandbox_webhooks):
    donor = kyc_sandbox.donor("us-ssn")
    assert kyc_sandbox.sumsub().review_status(donor["applicant_id"]).json()["reviewStatus"] == "completed"
    token = kyc_sandbox.mint(donor["applicant_id"], ttl=300)
    kyc_sandbox.import_tokens([token])
    hooks = kyc_sandbox_webhooks.wait_for(1)
    assert hooks[0].json()["type"] == "customer.created"
"""


FAILING_TEST = """
def test_wrong_expectation(kyc_sandbox):
    result = kyc_sandbox.import_tokens(["not-a-token"])
    assert result["succeeded"] == 1
"""


def test_plugin_is_registered_with_its_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*kyc-sandbox*", "*--kyc-sandbox-url=URL*"])


def doc_example(doc: str) -> str:
    text = (ROOT / doc).read_text(encoding="utf-8")
    match = re.search(r"<!-- pytest-plugin-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"{doc} has the pytest plugin example"
    return match.group(1)


def test_plugin_serves_integrator_tests_and_the_docs_examples_from_one_sandbox_process(
    pytester: pytest.Pytester,
) -> None:
    readme, docs = doc_example("README.md"), doc_example("docs/pytest-plugin.md")
    pytester.makepyfile(
        test_integrator=INTEGRATOR_TESTS, test_readme_example=readme, test_docs_example=docs, test_failing=FAILING_TEST
    )
    before = pytest_plugin.SandboxProcess.started
    result = pytester.runpytest("-p", "no:cacheprovider")
    example_tests = len(re.findall(r"^def test_", readme + docs, re.M))
    result.assert_outcomes(passed=4 + example_tests, failed=1)
    assert pytest_plugin.SandboxProcess.started == before + 1, "one sandbox process for the whole session"
    # A failing test's report carries the sandbox's last requests.
    result.stdout.fnmatch_lines(
        ["*kyc-sandbox journal (last requests)*", "POST /customers/bulk-import-sumsub-tokens → 200*"]
    )


def test_plugin_starts_nothing_unless_a_test_asks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_unrelated():
            assert 1 + 1 == 2
        """
    )
    before = pytest_plugin.SandboxProcess.started
    pytester.runpytest().assert_outcomes(passed=1)
    assert pytest_plugin.SandboxProcess.started == before


@pytest.mark.served
def test_plugin_runs_the_same_tests_against_a_live_sandbox_by_url(
    pytester: pytest.Pytester, served_sandbox: ServedSandbox
) -> None:
    pytester.makepyfile(test_integrator=INTEGRATOR_TESTS)
    pytester.makepyfile(
        test_where=f"""
        def test_it_is_the_live_one(kyc_sandbox):
            assert kyc_sandbox.base_url == "{served_sandbox.base_url}"
            assert not kyc_sandbox.server.started_here
        """
    )
    before = pytest_plugin.SandboxProcess.started
    result = pytester.runpytest("--kyc-sandbox-url", served_sandbox.base_url)
    result.assert_outcomes(passed=5)
    assert pytest_plugin.SandboxProcess.started == before
