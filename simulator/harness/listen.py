"""`kyc-sandbox webhooks listen`: a local receiver that prints each webhook and checks its signature."""

from __future__ import annotations

import json
import time

import click
import requests
from rich.console import Console

from simulator.harness.clients import ControlApi
from simulator.harness.receiver import Received, WebhookReceiver

console = Console()


@click.group("webhooks")
def webhooks_group() -> None:
    """Receive the sandbox's webhooks locally."""


@webhooks_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9999, show_default=True)
@click.option("--fail-first", type=int, default=0, help="Answer the first N deliveries with HTTP 500 (to see retries).")
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True, envvar="SANDBOX_URL",
              help="The sandbox, for its webhook public key.")  # fmt: skip
@click.option("--sumsub-secret", default=None, help="Verify Sumsub x-payload-digest with this webhook secret.")
@click.option("--count", type=int, default=0, help="Stop after N webhooks (0: run until Ctrl-C).")
def listen(host: str, port: int, fail_first: int, base_url: str, sumsub_secret: str | None, count: int) -> None:
    """Print every webhook that arrives, with its signature check (Dakota: Ed25519; Sumsub: HMAC digest)."""
    try:
        public_key = ControlApi(base_url, timeout=10).webhook_public_key().json()["public_key_hex"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read the webhook public key from {base_url}: {exc}") from exc
    rx = WebhookReceiver(host, port)
    if fail_first:
        rx.script(*([500] * fail_first))
    rx.start()
    console.print(
        f"listening on [bold]{rx.url}[/] (any path); Dakota key {public_key[:16]}...", highlight=False, soft_wrap=True
    )
    seen = 0
    try:
        while not count or seen < count:
            try:
                rx.wait_for(seen + 1, timeout=1.0)
            except TimeoutError:
                continue
            for hook in rx.received[seen:]:
                _show(hook, public_key, sumsub_secret)
            seen = len(rx.received)
    except KeyboardInterrupt:
        pass
    finally:
        time.sleep(0.1)
        rx.stop()


def _show(hook: Received, public_key: str, sumsub_secret: str | None) -> None:
    try:
        body = hook.json()
    except ValueError:
        body = {}
    ok: bool | None
    if hook.header("X-Webhook-Signature"):
        kind = "dakota"
        ok = hook.verify_dakota(public_key)
        title = f"{body.get('type')} {body.get('id')}"
    else:
        kind = "sumsub"
        ok = hook.verify_sumsub(sumsub_secret) if sumsub_secret else None
        title = f"{body.get('type')} applicant {body.get('applicantId')}"
    sig = {True: "[green]signature ok[/]", False: "[red]SIGNATURE INVALID[/]", None: "signature not checked"}[ok]
    replay = " (replay)" if hook.header("X-Webhook-Replay") else ""
    console.print(
        f"[bold]{kind}[/] {title}{replay} -> answered {hook.answered}; {sig}", highlight=False, soft_wrap=True
    )
    console.print(json.dumps(body, indent=2, ensure_ascii=False), highlight=False, soft_wrap=True)
