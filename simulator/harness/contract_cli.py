"""`kyc-sandbox contract verify | states`: verify your Pact files against the sandbox, list the provider states."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click


def _states_text() -> str:
    from simulator.control.pact_states import CATALOGUE

    lines = []
    for s in CATALOGUE.values():
        lines.append(f"{s.name!r}  ({', '.join(s.providers)}{'' if s.resets else '; keeps the current data'})")
        lines.append(f"    {s.description}")
        if s.params:
            lines.append("    params:  " + "; ".join(f"{k}: {v}" for k, v in s.params.items()))
        if s.returns:
            lines.append("    returns: " + ", ".join(s.returns))
        lines.append(f"    example: .given({s.name!r}{', ' + json.dumps(s.example) if s.example else ''})")
    return "\n".join(lines)


@click.group("contract")
def contract() -> None:
    """Pact contract testing: verify consumer pacts against the sandbox; list its provider states."""


@contract.command("verify")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PACT_FILE_OR_DIR...")
@click.option(
    "--provider-base-url",
    default=None,
    metavar="URL",
    help="A running sandbox (e.g. http://127.0.0.1:8080). Default: start one in this process on a free port.",
)
@click.option("--provider", default=None, metavar="NAME", help="Only the pacts whose provider is NAME.")
@click.option(
    "--no-signing",
    is_flag=True,
    help="Send Sumsub requests as the pact holds them, without re-signing them (they will fail the signature check).",
)
@click.option("-v", "--verbose", is_flag=True, help="Also print the Pact verifier's own output.")
def verify_command(
    sources: tuple[Path, ...], provider_base_url: str | None, provider: str | None, no_signing: bool, verbose: bool
) -> None:
    """Verify PACT_FILE_OR_DIR... (pact files, or directories of *.json) against the sandbox.

    \b
    Each interaction's provider states are set up by the sandbox's control plane
    (POST /_sandbox/pact/provider-states), which answers values such as token, applicantId,
    customerId, applicationId, applicationToken and apiKey for `generate.provider_state("${token}")`.
    Sumsub requests are re-signed with the sandbox's published credentials on the way in.
    Webhook (message) interactions are produced by driving the sandbox and capturing what it delivers.
    `kyc-sandbox contract states` lists the states.

    Exit status: 0 when every interaction passed; 1 when one failed or there was nothing to verify
    (missing file, empty pact, no interactions).
    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    try:
        import pact  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pact-python is a dependency
        raise click.ClickException(
            f"`kyc-sandbox contract verify` needs pact-python ({exc}); install it: pip install 'pact-python>=4.2,<5'"
        ) from exc
    from simulator.harness.pact_verify import PactSourceError, SandboxUnavailable, verify

    try:
        report = verify(list(sources), provider_base_url, provider=provider, sign_sumsub=not no_signing)
    except PactSourceError as exc:
        raise click.ClickException(f"nothing to verify: {exc}") from exc
    except SandboxUnavailable as exc:
        raise click.ClickException(f"cannot verify: {exc}") from exc
    click.echo(report.render(verbose=verbose))
    sys.stdout.flush()
    if not report.passed:
        sys.exit(1)


@contract.command("states")
@click.option("--json", "as_json", is_flag=True, help="The catalogue as JSON.")
def states_command(as_json: bool) -> None:
    """List the provider states the sandbox implements (the names to use in `.given(...)`)."""
    from simulator.control.pact_states import CATALOGUE

    if as_json:
        click.echo(json.dumps({"states": [s.describe() for s in CATALOGUE.values()]}, indent=2))
        return
    click.echo("Provider states (POST /_sandbox/pact/provider-states). Scenario states reset the sandbox first.\n")
    click.echo(_states_text())
