"""The `kyc-sandbox` command line."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

import click

from simulator import __version__
from simulator.control.access import host_name, is_loopback
from simulator.settings import Settings


class _LazyGroup(click.Group):
    """The harness's command groups are imported when one is used: `serve` starts without them (cold start)."""

    LAZY = {
        "contract": ("simulator.harness.contract_cli", "contract"),
        "fixtures": ("simulator.harness.commands", "fixtures_command"),
        "scenario": ("simulator.harness.commands", "scenario_group"),
        "webhooks": ("simulator.harness.listen", "webhooks_group"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            import importlib

            module, attr = self.LAZY[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="kyc-sandbox")
def main() -> None:
    """kyc-sandbox: a local Sumsub Reusable KYC → Dakota sandbox, and the harness around it."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1, env SANDBOX_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8080, env SANDBOX_PORT).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default sqlite:///.sandbox/sandbox.db).")
@click.option("--seed", type=int, default=None, help="Seed ids and generated data for reproducible runs.")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1).")
@click.option("--base-url", default=None, help="Public base URL to print and embed in links.")
@click.option("--quiet", is_flag=True, help="No access log.")
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    seed: int | None,
    workers: int | None,
    base_url: str | None,
    quiet: bool,
) -> None:
    """Serve both fakes, the control plane and the dashboard on a production WSGI server."""
    try:
        settings = Settings.from_env(
            host=host, port=port, database_url=database_url, seed=seed, workers=workers, base_url=base_url
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if settings.workers < 1:
        raise click.BadParameter("--workers must be at least 1")
    generated = not settings.control_token and not is_loopback(host_name(settings.host))
    if generated:
        # Reachable from other machines: the control plane (reset, clock, faults, credentials) needs a token.
        settings = settings.with_overrides(control_token=secrets.token_urlsafe(24))
        os.environ["SANDBOX_CONTROL_TOKEN"] = settings.control_token  # every worker process reads the same one
    from simulator.control.service import credentials
    from simulator.core.runtime import Runtime
    from simulator.sandbox import Sandbox
    from simulator.server import serve as run_server

    rt = Runtime.build(settings)
    sb = Sandbox.build(rt)
    sb.prepare()
    with rt.store.read() as tx:
        creds = credentials(tx, rt, sb.sumsub)
    rt.store.dispose()
    print_banner(settings, creds, token_generated=generated)
    # Compiled once here, inherited by every forked worker: each would otherwise import jsonschema and compile the
    # three contracts itself, all at the same moment on the same cores.
    from simulator.apispec.enforce import compile_contracts

    compile_contracts()
    run_server(settings, quiet=quiet)


def print_banner(settings: Settings, creds: dict[str, Any], *, token_generated: bool = False) -> None:
    """Base URL and seeded credentials, one value per line so they copy cleanly from any terminal; beyond loopback,
    the control-plane token instead of the secrets."""
    # click, not rich: importing rich is a tenth of a second of every cold start, for a few bold words.
    base = settings.resolved_base_url
    out = click.echo
    out(f"{click.style(f'kyc-sandbox {__version__}', fg='green', bold=True)} serving on {click.style(base, bold=True)}")
    out(f"store: {settings.database_url}   workers: {settings.workers}   seed: {settings.seed}")
    if not is_loopback(host_name(settings.host)):
        warn = click.style("warning:", fg="yellow", bold=True)
        out(f"\n{warn} bound to {settings.host}: anything that can reach this port can use the sandbox.")
        out("The control plane (/_sandbox/*: reset, clock, faults, credentials) needs the header")
        shown = settings.control_token if token_generated else "<SANDBOX_CONTROL_TOKEN>"
        out(f"  X-Sandbox-Token: {shown}")
        if token_generated:
            out("(generated for this run; set SANDBOX_CONTROL_TOKEN to choose it)")
        hosts = settings.allowed_hosts or "none"
        out(f"Host names accepted besides loopback and the base URL's: {hosts} (SANDBOX_ALLOWED_HOSTS)")
        out(f"Credentials: curl -s -H 'X-Sandbox-Token: ...' {base}/_sandbox/credentials\n")
        sys.stdout.flush()
        return
    out(f"\n{click.style('Sumsub clients', bold=True)} (sign /resources/* requests with app_token + secret_key)")
    for c in creds["sumsub"]["clients"]:
        shares = f", shares with {', '.join(c['shares_with'])}" if c.get("shares_with") else ""
        out(f"  {c['client_id']}  ({c['role']}{shares})")
        out(f"    app_token:  {c['app_token']}")
        out(f"    secret_key: {c['secret_key']}")
    out(f"\n{click.style('Dakota API keys', bold=True)} (x-api-key)")
    for k in creds["dakota"]["api_keys"]:
        perms = ",".join(k["permissions"]) or "no permissions"
        out(f"  {k['role']:<7} {k['key']}  ({perms}; org {k['organization_id']})")
    out(f"\nAll of it as JSON: curl -s {base}/_sandbox/credentials\n")
    sys.stdout.flush()


@main.command("sumsub")
@click.argument("method", type=click.Choice(["GET", "POST", "PATCH", "PUT", "DELETE"], case_sensitive=False))
@click.argument("path")
@click.option("--client", "client_id", default="acme-wallet_20419", show_default=True, help="Sumsub client to sign as.")
@click.option("--json", "json_body", default=None, help="JSON request body.")
@click.option("--metadata", default=None, help="Document upload: the metadata JSON part.")
@click.option(
    "--content", type=click.Path(exists=True, dir_okay=False), default=None, help="Document upload: the file."
)
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True, envvar="SANDBOX_URL")
def sumsub_request(
    method: str,
    path: str,
    client_id: str,
    json_body: str | None,
    metadata: str | None,
    content: str | None,
    base_url: str,
) -> None:
    """Send one signed request to the Sumsub API (credentials looked up on the sandbox's control plane).

    Example: kyc-sandbox sumsub POST '/resources/applicants?levelName=basic-kyc-level' --json '{"externalUserId":"u1"}'
    """
    import json
    import time

    import requests

    from simulator.harness.clients import ControlApi, SumsubApi

    try:
        creds = ControlApi(base_url).credentials()
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach the sandbox at {base_url}: {exc}") from exc
    client = next((c for c in creds["sumsub"]["clients"] if c["client_id"] == client_id), None)
    if client is None:
        known = ", ".join(c["client_id"] for c in creds["sumsub"]["clients"])
        raise click.ClickException(f"unknown client {client_id!r}; known: {known}")
    api = SumsubApi(base_url, client["app_token"], client["secret_key"])
    if content is not None or metadata is not None:
        if content is None or metadata is None or "?" in path:
            raise click.ClickException("a document upload needs both --metadata and --content")
        applicant_id = path.strip("/").split("/")[2] if path.count("/") >= 3 else path
        with open(content, "rb") as fh:
            resp = api.add_id_doc(applicant_id, json.loads(metadata), fh.read(), filename=os.path.basename(content))
    else:
        body = json.loads(json_body) if json_body else None
        path_only, _, query = path.partition("?")
        resp = api.request(method.upper(), path_only, params=dict(_split_query(query)), json=body, ts=int(time.time()))
    image_id = resp.headers.get("X-Image-Id")
    click.echo(f"HTTP {resp.status_code}" + (f"  X-Image-Id: {image_id}" if image_id else ""), err=True)
    try:
        click.echo(json.dumps(resp.json(), indent=2, ensure_ascii=False))
    except ValueError:
        click.echo(resp.text)
    if resp.status_code >= 400:
        sys.exit(1)


def _split_query(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


# The harness's commands (contract, fixtures, scenario, webhooks) live in their own modules: see _LazyGroup.


if __name__ == "__main__":  # pragma: no cover
    main()
