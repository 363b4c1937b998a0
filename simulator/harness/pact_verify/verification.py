"""Run pact-python's verifier over each pact against a sandbox, and explain every failing interaction."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from simulator.harness.clients import control_headers
from simulator.harness.pact_verify.producer import ProducerError, WebhookProducer
from simulator.harness.pact_verify.report import InteractionOutcome, PactOutcome, Report
from simulator.harness.pact_verify.servers import LocalSandbox, SigningProxy
from simulator.harness.pact_verify.sources import PactFile, PactInteraction, PactSourceError, load_pacts
from simulator.settings import control_token_from_env

STATE_PATH = "/_sandbox/pact/provider-states"


class SandboxUnavailable(Exception):
    """The provider base URL does not answer as a kyc-sandbox."""


def _mismatch_lines(raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return [str(raw)] if raw else []
    if isinstance(raw.get("mismatches"), list):
        out = []
        for m in raw["mismatches"]:
            if not isinstance(m, dict):
                out.append(str(m))
                continue
            text = str(m.get("mismatch") or m.get("message") or json.dumps(m))
            path = m.get("path")
            kind = m.get("type", "")
            if path and path != "/":
                out.append(f"{path} -> {text}")
            elif kind and kind not in ("BodyMismatch",):
                out.append(f"{kind}: {text}")
            else:
                out.append(text)
        return out
    for key in ("message", "error", "description"):
        if raw.get(key):
            return [str(raw[key])]
    return [json.dumps(raw)]


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 to `path` for the block: the Rust verifier prints its own report on stdout
    and pact's message relay logs each request on stderr; the report here says it more briefly."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(path, "wb") as fh:
            os.dup2(fh.fileno(), 1)
            os.dup2(fh.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


def _verify_one(
    pact: PactFile, target_url: str, state_url: str, producer: WebhookProducer, known_states: set[str] | None
) -> PactOutcome:
    from pact import Verifier
    from pact.types import Message

    outcome = PactOutcome(pact)
    host = urlsplit(target_url).hostname or "127.0.0.1"
    verifier = (
        Verifier(pact.provider, host=host)
        .add_source(str(pact.path))
        .add_transport(url=target_url)
        .state_handler(state_url, teardown=True, body=True)
        .set_coloured_output(enabled=False)
        .set_request_timeout(30_000)
    )
    messages = pact.messages
    failures: dict[str, str] = {}
    if messages:

        def producer_for(expected: Any, description: str) -> Callable[[], Message]:
            def produce() -> Message:
                try:
                    made = producer.message(expected)
                    return Message(
                        contents=made["contents"], metadata=made["metadata"], content_type=made["content_type"]
                    )
                except (ProducerError, requests.RequestException) as exc:
                    failures[description] = str(exc)
                    raise

            return produce

        verifier.message_handler({m.description: producer_for(m.expected, m.description) for m in messages})
    ran = True
    with tempfile.TemporaryDirectory(prefix="kyc-pact-") as tmp:
        try:
            with _output_to(Path(tmp) / "verifier.out"):
                verifier.verify()
        except RuntimeError:
            pass  # the verifier's only failure signal; the per-interaction results say what failed
        except Exception as exc:
            outcome.errors.append(f"the verifier could not run: {type(exc).__name__}: {exc}")
            ran = False
    results = verifier.results if ran else {}
    outcome.output = verifier.output(strip_ansi=True) if ran else ""
    # pact-python 4.2 stops its message relay and state callback servers with `shutdown()` but never closes their
    # listening sockets: collected here, quietly, rather than warned about later.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del verifier
        gc.collect()
    if not ran:
        return outcome
    outcome.interactions.extend(_interaction_outcomes(pact, results, failures, known_states, state_url))
    checked = len(results.get("interactionResults") or [])
    if checked != len(pact.interactions):
        outcome.errors.append(f"the verifier checked {checked} of the {len(pact.interactions)} interactions")
    return outcome


def _interaction_outcomes(
    pact: PactFile,
    results: dict[str, Any],
    failures: dict[str, str],
    known_states: set[str] | None,
    state_url: str,
) -> list[InteractionOutcome]:
    """Each interaction's verdict, with what explains a failure."""
    out: list[InteractionOutcome] = []
    by_description: dict[str, list[dict[str, Any]]] = {}
    for r in results.get("interactionResults") or []:
        by_description.setdefault(str(r.get("description")), []).append(r)
    for inter in pact.interactions:
        rows = by_description.get(inter.description) or []
        if not rows:
            out.append(
                InteractionOutcome(inter.description, inter.kind, list(inter.states), False, ["was not verified"])
            )
            continue
        row = rows.pop(0)
        passed = str(row.get("result")) == "OK"
        problems = [] if passed else _mismatch_lines(row.get("mismatch"))
        if not passed and inter.description in failures:
            problems.append(f"producing the message failed: {failures[inter.description]}")
        if not passed and known_states is not None:
            problems.extend(
                f"provider state {s!r} is not in the sandbox's catalogue (see `kyc-sandbox contract states`)"
                for s in inter.states
                if s and s not in known_states
            )
        if not passed and any("state change handler" in p for p in problems):
            problems.extend(_state_errors(state_url, inter, known_states))
        out.append(InteractionOutcome(inter.description, inter.kind, list(inter.states), passed, problems))
    return out


def _state_errors(state_url: str, inter: PactInteraction, known: set[str] | None) -> list[str]:
    """Why a state setup failed: set the (catalogued) states up again and report the sandbox's error messages."""
    out = []
    for state, params in zip(inter.states, inter.params or tuple({} for _ in inter.states), strict=False):
        if known is not None and state not in known:
            continue  # already reported
        try:
            resp = requests.post(
                state_url,
                json={"action": "setup", "state": state, "params": params},
                headers=control_headers(),
                timeout=30,
            )
        except requests.RequestException as exc:
            out.append(f"provider state {state!r}: {type(exc).__name__}")
            continue
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:300]
            out.append(f"provider state {state!r}: the sandbox answered {resp.status_code}: {message}")
    return out


def _known_states(base_url: str) -> set[str] | None:
    try:
        resp = requests.get(base_url.rstrip("/") + STATE_PATH, headers=control_headers(), timeout=10)
        return {s["name"] for s in resp.json()["states"]} if resp.status_code == 200 else None
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def verify_pacts(pacts: list[PactFile], base_url: str, *, sign_sumsub: bool = True) -> Report:
    """Verify every pact against the sandbox at `base_url` (which must serve the control plane)."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    if not pacts:
        raise PactSourceError("no pacts to verify")
    base_url = base_url.rstrip("/")
    try:
        health = requests.get(f"{base_url}/_sandbox/health", timeout=10)
    except requests.RequestException as exc:
        raise SandboxUnavailable(f"cannot reach the sandbox at {base_url} ({type(exc).__name__})") from None
    if health.status_code != 200:
        raise SandboxUnavailable(
            f"{base_url} is not a kyc-sandbox (GET /_sandbox/health answered {health.status_code})"
        )
    known = _known_states(base_url)
    with contextlib.ExitStack() as stack:
        producer = stack.enter_context(WebhookProducer(base_url))
        target = state_base = base_url
        if sign_sumsub or control_token_from_env():
            # The proxy signs Sumsub requests, and adds the control token to the verifier's state calls.
            proxy = stack.enter_context(SigningProxy(base_url)).url
            target = proxy if sign_sumsub else base_url
            state_base = proxy
        state_url = state_base + STATE_PATH
        return Report(base_url, [_verify_one(p, target, state_url, producer, known) for p in pacts])


def verify(
    sources: list[Path],
    base_url: str | None = None,
    *,
    provider: str | None = None,
    sign_sumsub: bool = True,
) -> Report:
    """Load the pacts under `sources` and verify them against `base_url`, or against a sandbox started here."""
    pacts = load_pacts(sources, provider)
    if base_url:
        return verify_pacts(pacts, base_url, sign_sumsub=sign_sumsub)
    with LocalSandbox() as local:
        return verify_pacts(pacts, local.base_url, sign_sumsub=sign_sumsub)
