"""Verify Pact files (yours or ours) against the sandbox: `kyc-sandbox contract verify`.

- Provider states go to the control plane, `POST /_sandbox/pact/provider-states` (a URL state handler: fast, and
  the values it answers are injected into requests marked with `generate.provider_state("${token}")`).
- Sumsub requests are re-signed on the way in by a small local proxy: the signature covers a fresh timestamp and
  the exact request, so a pact can only hold an example; the proxy plays the consumer's signing client with the
  sandbox's published credentials, and the sandbox checks every signature as it always does.
- Message (webhook) interactions are produced by driving the sandbox through its public endpoints and capturing
  the webhook it really delivers to a local receiver.

Empty sources fail: a missing file, a file that is not a pact, a pact with no interactions, a directory without
pacts, and a verifier run that checked fewer interactions than the file holds.

Modules: `sources` (pact files), `servers` (the in-process sandbox and the signing proxy), `producer` (webhook
payloads for message interactions), `report` (verdicts and their rendering), `verification` (the verifier run).
"""

from __future__ import annotations

from simulator.harness.pact_verify.producer import (
    ATTESTATIONS,
    DAKOTA_CHAIN,
    SUMSUB_TYPES,
    ProducerError,
    WebhookProducer,
)
from simulator.harness.pact_verify.report import InteractionOutcome, PactOutcome, Report
from simulator.harness.pact_verify.servers import HOP_BY_HOP, LocalSandbox, SigningProxy, WsgiApp
from simulator.harness.pact_verify.sources import PactFile, PactInteraction, PactSourceError, load_pact, load_pacts
from simulator.harness.pact_verify.verification import STATE_PATH, SandboxUnavailable, verify, verify_pacts

__all__ = [
    "ATTESTATIONS",
    "DAKOTA_CHAIN",
    "HOP_BY_HOP",
    "STATE_PATH",
    "SUMSUB_TYPES",
    "InteractionOutcome",
    "LocalSandbox",
    "PactFile",
    "PactInteraction",
    "PactOutcome",
    "PactSourceError",
    "ProducerError",
    "Report",
    "SandboxUnavailable",
    "SigningProxy",
    "WebhookProducer",
    "WsgiApp",
    "load_pact",
    "load_pacts",
    "verify",
    "verify_pacts",
]
