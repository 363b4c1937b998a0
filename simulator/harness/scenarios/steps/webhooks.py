"""Webhook steps: a local receiver, Dakota and Sumsub webhook targets pointed at it, and the deliveries it expects."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from simulator.harness.scenarios.errors import StepError
from simulator.harness.scenarios.events import Failure
from simulator.harness.scenarios.matchers import structural_diff
from simulator.harness.scenarios.steps.context import Context, Result, parse_duration
from simulator.harness.scenarios.steps.registry import step

if TYPE_CHECKING:
    from simulator.harness.receiver import Received, WebhookReceiver


def _receiver(ctx: Context, name: str) -> WebhookReceiver:
    if name not in ctx.receivers:
        raise StepError(f"no receiver named {name!r} (start one with a receiver step)")
    return ctx.receivers[name]


@step("receiver")
def receiver(ctx: Context, spec: dict[str, Any]) -> Result:
    """Start a webhook receiver (answering from `script`), saved under `as` as {url}; stopped with the scenario."""
    from simulator.harness.receiver import WebhookReceiver

    rx = WebhookReceiver().start()
    if spec.get("script"):
        rx.script(*spec["script"])
    ctx.receivers[spec["as"]] = rx
    ctx.vars[spec["as"]] = {"url": rx.url}
    return Result(None, {"url": rx.url})


@step("webhook_target")
def webhook_target(ctx: Context, spec: dict[str, Any]) -> Result:
    """Register the receiver as a Dakota webhook target."""
    rx = _receiver(ctx, spec["receiver"])
    body: dict[str, Any] = {"url": rx.url, "global": spec.get("global", True)}
    if "event_types" in spec:
        body["event_types"] = spec["event_types"]
    headers = ctx.dakota_headers(spec.get("api_key"), str(uuid4()), True)
    return ctx.send("POST", "/webhooks/targets", json_body=body, headers=headers)


@step("sumsub_webhook")
def sumsub_webhook(ctx: Context, spec: dict[str, Any]) -> Result:
    """Point a Sumsub client's webhooks at the receiver (control plane)."""
    rx = _receiver(ctx, spec["receiver"])
    body = {"client_id": spec["client_id"], "url": rx.url}
    if "secret" in spec:
        body["secret"] = spec["secret"]
    return ctx.control_post("/sumsub/webhooks", body)


@step("expect_webhooks")
def expect_webhooks(ctx: Context, spec: dict[str, Any]) -> Result:
    """Wait until the receiver has the webhook types (in order if asked); optionally check Dakota's signatures."""
    rx = _receiver(ctx, spec["receiver"])
    wanted = list(spec["types"])
    in_order = bool(spec.get("in_order"))
    timeout = parse_duration(spec.get("timeout", ctx.options.webhook_timeout))
    received, got = _poll(ctx, rx, wanted, in_order, timeout)
    result = Result(None, {"types": got, "received": received}, f"webhooks at {rx.url}: {len(got)} received")
    if not _arrived(wanted, got, in_order):
        missing = list((Counter(wanted) - Counter(got)).elements())
        order = " in this order" if in_order else ""
        failure = Failure(
            "webhooks",
            f"expected {', '.join(wanted)}{order} within {timeout:.0f}s; "
            + (f"missing {', '.join(missing)}" if missing else "wrong order"),
            wanted,
            got,
            structural_diff(sorted(wanted) if not in_order else wanted, got),
        )
        result.failures.append(failure)
    if spec.get("verify_signatures"):
        result.failures.extend(_signature_failures(ctx, list(rx.received), received))
    return result


def _poll(
    ctx: Context, rx: WebhookReceiver, wanted: list[str], in_order: bool, timeout: float
) -> tuple[list[Any], list[str]]:
    """The bodies received and their types, once `wanted` arrived or at the deadline; dispatching meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if ctx.target.has_control:
            # Deliveries wait in the outbox for a dispatcher: run one now (in-process there is no background one).
            ctx.target.http.post(ctx.target.base_url + "/_sandbox/webhooks/dispatch", json={}, timeout=60)
        received = [_hook_body(r) for r in list(rx.received)]
        got = [str(b.get("type")) if isinstance(b, dict) else "?" for b in received]
        if _arrived(wanted, got, in_order) or time.monotonic() >= deadline:
            return received, got
        time.sleep(0.05)


def _signature_failures(ctx: Context, hooks: list[Received], bodies: list[Any]) -> list[Failure]:
    """A failure naming the webhooks whose Ed25519 signature does not verify with the sandbox's public key."""
    key = ctx.send("GET", "/_sandbox/webhooks/public-key") if ctx.target.has_control else None
    if key is None or key.response is None or not key.response.ok:
        return []
    public = key.body.get("public_key_hex", "")
    bad = [
        b.get("type")
        for r, b in zip(hooks, bodies, strict=False)
        if r.header("X-Webhook-Signature") and not r.verify_dakota(public)
    ]
    return [Failure("webhook signatures", f"bad Ed25519 signature on {bad}", [], bad)] if bad else []


def _arrived(wanted: list[str], got: list[str], in_order: bool) -> bool:
    if not in_order:
        return not (Counter(wanted) - Counter(got))
    it = iter(got)
    return all(any(g == w for g in it) for w in wanted)


def _hook_body(received: Received) -> Any:
    try:
        return received.json()
    except ValueError:
        return None
