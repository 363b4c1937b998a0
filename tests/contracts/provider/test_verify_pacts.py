"""The sandbox honours the consumer pacts: a real `kyc-sandbox serve` verified with pact-python's Verifier.

States go to the control plane's URL handler; Sumsub requests pass through the signing proxy; webhook messages
are produced by driving the served sandbox and capturing what it delivers. Every test asserts how many
interactions were verified, because an empty or filtered-out pact passes silently.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from pact import Verifier

from simulator.control.pact_states import CATALOGUE
from simulator.harness.pact_verify import STATE_PATH, LocalSandbox, load_pact, verify_pacts
from tests.support import ServedSandbox
from tests.support.pact import DAKOTA_CONSUMER, OWNED_PACT_FILES, PACT_DIR, SUMSUB_CONSUMER, WEBHOOKS

pytestmark = pytest.mark.served

# The interactions the consumer tests record; a missing pact file or a lost interaction fails here.
EXPECTED = {
    f"{SUMSUB_CONSUMER}-sumsub.json": 9,
    f"{DAKOTA_CONSUMER}-dakota.json": 10,
    f"{WEBHOOKS}-dakota.json": 2,
    f"{WEBHOOKS}-sumsub.json": 2,
}


def pact_file(name: str) -> Path:
    path = PACT_DIR / name
    assert path.exists(), f"{path} is missing: run tests/contracts/consumer first"
    return path


def test_committed_pacts_are_the_consumer_tests_pacts() -> None:
    assert set(EXPECTED) == set(OWNED_PACT_FILES)
    for name, count in EXPECTED.items():
        pact = load_pact(pact_file(name))
        assert len(pact.interactions) == count, name
        unknown = {s for i in pact.interactions for s in i.states} - set(CATALOGUE)
        assert not unknown, f"{name} uses states the sandbox does not implement: {unknown}"


def test_dakota_pact_with_the_plain_verifier(served_sandbox: ServedSandbox) -> None:
    """pact-python's Verifier as documented, nothing of ours in between: URL state handler, results counted."""
    base = served_sandbox.base_url
    verifier = (
        Verifier("dakota", host="127.0.0.1")
        .add_source(str(pact_file(f"{DAKOTA_CONSUMER}-dakota.json")))
        .add_transport(url=base)
        .state_handler(base + STATE_PATH, teardown=True, body=True)
    )
    verifier.verify()  # raises RuntimeError on any failure; the report is in the captured stdout
    results = verifier.results
    assert results["result"] is True
    assert len(results["interactionResults"]) == EXPECTED[f"{DAKOTA_CONSUMER}-dakota.json"]
    assert all(r["result"] == "OK" for r in results["interactionResults"])


@pytest.mark.parametrize(
    "name",
    [f"{SUMSUB_CONSUMER}-sumsub.json", f"{WEBHOOKS}-dakota.json", f"{WEBHOOKS}-sumsub.json"],
)
def test_served_sandbox_honours_pact(served_sandbox: ServedSandbox, name: str) -> None:
    report = verify_pacts([load_pact(pact_file(name))], served_sandbox.base_url)
    assert report.passed, report.render(verbose=True)
    assert report.counts == (EXPECTED[name], 0)


# ------------------------------------------------------------------------------------ verification can fail
def rename_in_json(old: str, new: str, path: str) -> Callable[[Any], Any]:
    """WSGI middleware renaming every key `old` to `new` in JSON responses of `path`: a deliberately broken provider."""

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {(new if k == old else k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    def middleware(app: Any) -> Any:
        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                captured.update(status=status, headers=headers)
                return lambda _data: None

            chunks = b"".join(app(environ, capture))
            headers = captured["headers"]
            if environ.get("PATH_INFO") == path and any(v.startswith("application/json") for _k, v in headers):
                chunks = json.dumps(rename(json.loads(chunks))).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(chunks))))
            start_response(captured["status"], headers)
            return [chunks]

        return wrapped

    return middleware


def test_broken_response_fails_verification_with_a_readable_report() -> None:
    broken = rename_in_json("customer_id", "customerId", "/customers/bulk-import-sumsub-tokens")
    with LocalSandbox(middleware=broken) as sandbox:
        report = verify_pacts([load_pact(pact_file(f"{DAKOTA_CONSUMER}-dakota.json"))], sandbox.base_url)
    assert not report.passed
    assert report.counts == (9, 1)
    text = report.render()
    assert "FAIL  a bulk import of a valid share token  [given: a share token exists for Dakota]" in text
    assert "$.results[0] -> Actual map is missing the following keys: customer_id" in text
    assert "FAILED: 10 interactions checked, 9 ok, 1 failing" in text


def test_unsigned_sumsub_requests_fail_verification() -> None:
    """Without the signing proxy the pact's example signature reaches the sandbox, which rejects it (401)."""
    with LocalSandbox() as sandbox:
        report = verify_pacts(
            [load_pact(pact_file(f"{SUMSUB_CONSUMER}-sumsub.json"))], sandbox.base_url, sign_sumsub=False
        )
    assert report.counts == (0, EXPECTED[f"{SUMSUB_CONSUMER}-sumsub.json"])
    assert "StatusMismatch: expected 200 but was 401" in report.render()


def test_empty_pact_is_refused_not_passed() -> None:
    from simulator.harness.pact_verify import PactSourceError

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.json"
        empty.write_text(json.dumps({"consumer": {"name": "c"}, "provider": {"name": "dakota"}, "interactions": []}))
        with pytest.raises(PactSourceError, match="no interactions"):
            load_pact(empty)
