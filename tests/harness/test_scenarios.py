"""Scenario replays: the shipped scenarios pass in-process and served; failures read well; targets degrade cleanly."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from simulator.app import EXTENSION, create_app
from simulator.cli import main
from simulator.harness import scenarios as sc
from simulator.settings import Settings
from tests.support import ROOT, ServedSandbox

SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def run(target: sc.Target, *scenarios: sc.Scenario, **options: Any) -> tuple[list[sc.Event], sc.RunFinished]:
    events = list(sc.Runner(target, sc.RunOptions(**options)).run(list(scenarios)))
    finished = events[-1]
    assert isinstance(finished, sc.RunFinished)
    return events, finished


def scenario(text: str, name: str = "tmp") -> sc.Scenario:
    import yaml

    doc = yaml.safe_load(textwrap.dedent(text))
    problems = sc.validate(doc)
    assert not problems, problems
    return sc.Scenario(name=doc["name"], steps=doc["steps"], path=Path(f"{name}.yaml"))


@pytest.fixture(scope="module")
def local() -> Iterator[sc.Target]:
    target = sc.Target.local()
    yield target
    target.close()


def hiding(prefixes: tuple[str, ...]) -> Callable[[], sc.Target]:
    """A target whose sandbox answers 404 under `prefixes` (no clock, or no control plane at all)."""

    def make() -> sc.Target:
        app = create_app(Settings(database_url="sqlite://", background_dispatch=0))

        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            if str(environ.get("PATH_INFO", "")).startswith(prefixes):
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error": {"status": 404, "message": "Not found"}}']
            return app(environ, start_response)

        target = sc.Target.for_wsgi(wsgi)
        target.on_close = app.extensions[EXTENSION].close
        return target

    return make


# ------------------------------------------------------------------------------------------------ shipped scenarios
def test_scenario_schema_is_valid_json_schema_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(sc.schema())
    assert sc.schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_action_of_the_schema_has_a_registered_step_and_no_other() -> None:
    from simulator.harness.scenarios import steps

    assert sorted(sc.actions()) == sorted(steps.names())


def test_every_shipped_scenario_is_valid_and_covers_the_brief() -> None:
    loaded = sc.load_paths([SCENARIOS])
    assert len(loaded) == len(SHIPPED) >= 18
    names = {s.ident for s in loaded}
    assert {
        "happy-path",
        "expired-token",
        "already-redeemed",
        "wrong-for-client-id",
        "malformed-token",
        "incompatible-data-10513",
        "donor-not-approved",
        "weaker-level-documents-requested",
        "stricter-level-extras-ignored",
        "no-address-placeholder",
        "us-person-with-ssn",
        "us-person-without-ssn",
        "mixed-batch-partial-success",
        "idempotent-retry",
        "idempotency-key-reused-other-body",
        "viewer-key-401",
        "empty-batch",
        "batch-of-101-tokens",
        "full-step3-flow-with-webhooks",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_passes_in_process(local: sc.Target, path: Path) -> None:
    _, finished = run(local, sc.load(path))
    result = finished.results[0]
    assert result.outcome == "passed", result.failed_step.report() if result.failed_step else result.reason
    assert all(s.outcome == "passed" for s in result.steps)


@pytest.mark.served
def test_shipped_scenarios_pass_against_a_served_sandbox(served_sandbox: ServedSandbox) -> None:
    target = sc.Target.for_url(served_sandbox.base_url)
    assert target.has_control and target.has_clock and not target.in_process
    _, finished = run(target, *sc.load_paths([SCENARIOS]))
    failed = [r.failed_step.report() if r.failed_step else r.reason for r in finished.results if r.outcome != "passed"]
    assert not failed, "\n\n".join(failed)


def test_events_stream_in_order_for_a_run(local: sc.Target) -> None:
    events, finished = run(local, sc.load(SCENARIOS / "happy-path.yaml"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[1] == "ScenarioStarted"
    assert kinds[-2:] == ["ScenarioFinished", "RunFinished"]
    steps = [e for e in events if isinstance(e, sc.StepFinished)]
    assert [s.index for s in steps] == list(range(5))
    assert steps[1].request == "POST /customers/bulk-import-sumsub-tokens → 200"
    assert finished.ok and finished.count("passed") == 1


# ------------------------------------------------------------------------------------------------ the CLI
def test_cli_runs_scenarios_in_process_and_writes_junit(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "scenarios.xml"
    paths = [str(SCENARIOS / "happy-path.yaml"), str(SCENARIOS / "viewer-key-401.yaml")]
    result = CliRunner().invoke(main, ["scenario", "run", *paths, "--junit-xml", str(report)])
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed, 0 skipped" in result.output
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "0", "0")


def test_a_scenario_expecting_the_wrong_outcome_fails_with_a_readable_diff(tmp_path: Path) -> None:
    text = (SCENARIOS / "expired-token.yaml").read_text(encoding="utf-8")
    wrong = text.replace(
        'error: "Failed to redeem share token: Share token expired"', 'error: "Tokens are single-use"'
    ).replace("expect: {json: {state: expired, ttl_seconds: 600}}", "expect: {json: {state: active}}")
    assert wrong != text
    edited = tmp_path / "expired-token-wrong.yaml"
    edited.write_text(wrong, encoding="utf-8")
    report = tmp_path / "junit.xml"
    result = CliRunner().invoke(main, ["scenario", "run", str(edited), "--junit-xml", str(report)])
    assert result.exit_code == 1
    out = result.output
    assert "0 passed, 1 failed" in out
    assert "step 9 'token_status" in out and "GET /_sandbox/share-tokens → 200" in out
    assert "json state: values differ" in out
    assert "expected: 'active'" in out and "actual:   'expired'" in out
    failure = ET.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None
    assert "expected: 'active'" in failure.text and "actual:   'expired'" in failure.text


def test_structural_mismatches_show_a_unified_diff(local: sc.Target) -> None:
    wrong = scenario(
        """
        name: wrong address
        steps:
          - donor: {profile: gb-passport, share_with: dakota.xyz_158913, as: olivia}
          - import: {tokens: [{token: olivia}], as: batch}
          - application: {from: batch, as: app}
            expect:
              json:
                entities.primary_individual.address: {street1: Baker Street 221B, city: Londres, country: GB}
        """
    )
    _, finished = run(local, wrong)
    step = finished.results[0].failed_step
    assert step is not None and step.index == 2
    report = step.report()
    assert "--- expected" in report and "+++ actual" in report
    assert '-  "city": "Londres"' in report and '+  "city": "London"' in report
    assert '+  "postal_code": "NW1 6XE"' in report


def test_cli_rejects_invalid_scenarios_with_readable_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: broken\nsteps:\n  - donor: {profile: gb-passport}\n    import: {tokens: []}\n"
        "  - clock: {advance: soon}\n  - frobnicate: {}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["scenario", "run", str(bad)])
    assert result.exit_code == 2
    assert "steps[0]: a step has exactly one action" in result.output
    assert "found donor, import" in result.output
    assert "steps[2]: unknown key(s) frobnicate" in result.output
    fixed = bad.read_text().replace("    import: {tokens: []}\n", "").replace("  - frobnicate: {}\n", "")
    bad.write_text(fixed, encoding="utf-8")
    result = CliRunner().invoke(main, ["scenario", "validate", str(bad)])
    assert result.exit_code == 2
    assert "steps[1].clock.advance" in result.output
    assert CliRunner().invoke(main, ["scenario", "validate", str(SCENARIOS)]).exit_code == 0


# ------------------------------------------------------------------------------------------------ degraded targets
WAITING = """
name: waits for the clock
steps:
  - donor: {profile: gb-passport, as: olivia}
  - mint: {donor: olivia, ttl: 1, as: tok}
  - clock: {advance: 1.2}
  - import: {tokens: [{token: tok}]}
    expect: {json: {"results[0].error": "Failed to redeem share token: Share token expired"}}
"""


def test_without_a_controllable_clock_clock_steps_wait_in_real_time() -> None:
    target = hiding(("/_sandbox/clock",))()
    try:
        assert target.has_control and not target.has_clock
        events, finished = run(target, scenario(WAITING))
    finally:
        target.close()
    result = finished.results[0]
    assert result.outcome == "passed", result.failed_step.report() if result.failed_step else result.reason
    waits = [e for e in events if isinstance(e, sc.Waiting)]
    assert waits and waits[0].total == pytest.approx(1.2) and waits[-1].remaining == 0
    assert result.steps[2].duration >= 1.2


def test_no_wait_skips_the_clock_step_and_the_rest_of_the_scenario() -> None:
    target = hiding(("/_sandbox/clock",))()
    try:
        _, finished = run(target, scenario(WAITING), wait=False)
    finally:
        target.close()
    result = finished.results[0]
    assert result.outcome == "skipped" and finished.ok
    assert [s.outcome for s in result.steps] == ["passed", "passed", "skipped"]
    assert "--no-wait" in result.reason
    case = ET.fromstring(sc.junit_xml(finished)).find("testsuite/testcase/skipped")
    assert case is not None and "--no-wait" in (case.get("message") or "")


def test_without_a_control_plane_sumsub_donors_work_and_control_steps_skip() -> None:
    target = hiding(("/_sandbox",))()
    try:
        assert not target.has_control and not target.has_clock
        over_api = scenario(
            """
            name: donor over the signed API
            steps:
              - donor: {profile: us-ssn, via: sumsub, share_with: dakota.xyz_158913, as: james}
              - import: {tokens: [{token: james}]}
                expect: {json: {succeeded: 1, "results[0].name": James Carter (from Sumsub)}}
            """
        )
        needs_control = scenario(
            """
            name: needs the control plane
            steps:
              - donor: {profile: gb-passport, as: olivia}
              - import: {tokens: [{token: olivia}]}
            """
        )
        _, finished = run(target, over_api, needs_control)
    finally:
        target.close()
    assert [r.outcome for r in finished.results] == ["passed", "skipped"]
    assert "control plane" in finished.results[1].reason


# ------------------------------------------------------------------------------------------------ the building blocks
def test_json_paths_resolve_indexes_wildcards_and_the_root() -> None:
    body = {"results": [{"success": True, "e": {"x": 1}}, {"success": False}], "total": 2}
    assert sc.resolve(body, "results[0].e.x") == 1
    assert sc.resolve(body, "results[-1].success") is False
    assert sc.resolve(body, "results[*].success") == [True, False]
    assert sc.resolve(body, "$") == body
    assert sc.resolve(body, "results[5]") is sc.MISSING
    with pytest.raises(ValueError):
        sc.parse_path("results[x")


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90.0), ("90s", 90.0), ("21m", 1260.0), ("1h30m", 5400.0), ("2d", 172800.0)]
)
def test_durations(value: Any, seconds: float) -> None:
    assert sc.parse_duration(value) == seconds


def test_durations_reject_nonsense() -> None:
    for bad in ("soon", "10 parsecs", True, None, "m"):
        with pytest.raises(sc.StepError):
            sc.parse_duration(bad)


@pytest.mark.parametrize(
    ("actual", "matcher", "ok"),
    [
        ("Tokens are single-use: x", {"contains": "single-use"}, True),
        ("abc", {"contains": "z"}, False),
        ([1, 2], {"contains": 2}, True),
        ([{"a": 1, "b": 2}], {"contains": {"a": 1}}, True),
        ({"a": 1, "b": 2}, {"contains": {"b": 2}}, True),
        ("3Mc4yOcbPvG68cN0UmktZApSiOI", {"matches": "^[0-9A-Za-z]{27}$"}, True),
        ([1, 2, 3], {"length": 3}, True),
        (5, {"gte": 5, "lt": 6}, True),
        (5, {"gt": 5}, False),
        ("a", {"one_of": ["a", "b"]}, True),
        (1, True, False),
        ({"street1": "x"}, {"street1": "x"}, True),
        (sc.MISSING, {"exists": False}, True),
        (sc.MISSING, "anything", False),
        ("x", {"not_equals": "y", "not_contains": "z"}, True),
    ],
)
def test_matchers(actual: Any, matcher: Any, ok: bool) -> None:
    assert (not sc.check_value("json x", actual, matcher)) is ok


def test_an_unknown_variable_fails_the_step_naming_what_is_defined(local: sc.Target) -> None:
    _, finished = run(
        local,
        scenario(
            """
            name: typo
            steps:
              - donor: {profile: gb-passport, share_with: dakota.xyz_158913, as: olivia}
              - import: {tokens: ["${olvia.share_token.token}"]}
            """
        ),
    )
    step = finished.results[0].steps[1]
    assert step.outcome == "failed"
    assert "unknown variable ${olvia.share_token.token} (defined: olivia)" in step.reason


def test_junk_tokens_are_reproducible_per_scenario() -> None:
    import random

    a = [sc.junk_token(random.Random(1), s) for s in ("malformed", "valid-looking", "unicode", "huge", "empty")]
    b = [sc.junk_token(random.Random(1), s) for s in ("malformed", "valid-looking", "unicode", "huge", "empty")]
    assert a == b
    assert a[1].startswith("_act-sbx-jwt-") and len(a[3]) > 1024 and a[4] == ""
    assert json.dumps(a)  # all JSON-encodable


def test_cli_says_when_the_base_url_cannot_be_reached() -> None:
    result = CliRunner().invoke(main, ["scenario", "run", "--base-url", "http://127.0.0.1:9", str(SHIPPED[0])])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.output


def test_console_reporter_renders_waits_skips_and_failures() -> None:
    from rich.console import Console

    from simulator.harness.commands import ConsoleReporter

    target = hiding(("/_sandbox/clock",))()
    try:
        events = sc.Runner(target).run([scenario(WAITING)])
        console = Console(record=True, width=120, force_terminal=False)
        finished = ConsoleReporter(console).consume(events)
    finally:
        target.close()
    text = console.export_text()
    assert finished.ok
    assert "against in-process sandbox (control plane, real clock (clock steps wait))" in text
    assert "✓ waits for the clock" in text
    assert "1 passed, 0 failed, 0 skipped" in text
