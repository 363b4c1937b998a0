"""The `kyc-sandbox` command line."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from simulator import __version__
from simulator.settings import Settings

console = Console()


@click.group()
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
    from simulator.app import Sandbox
    from simulator.control.service import credentials
    from simulator.core.runtime import Runtime
    from simulator.server import serve as run_server

    rt = Runtime.build(settings)
    sb = Sandbox.build(rt)
    sb.prepare()
    with rt.store.read() as session:
        creds = credentials(session, rt)
    rt.store.dispose()
    print_banner(settings, creds)
    run_server(settings, quiet=quiet)


def print_banner(settings: Settings, creds: dict[str, Any]) -> None:
    base = settings.resolved_base_url
    console.print(f"[bold green]kyc-sandbox {__version__}[/] serving on [bold]{base}[/]")
    console.print(f"store: {settings.database_url}   workers: {settings.workers}   seed: {settings.seed}")
    table = Table(title="Sumsub clients (sign requests with app_token + secret_key)", show_lines=False)
    for col in ("client_id", "role", "app_token", "secret_key"):
        table.add_column(col, overflow="fold")
    for c in creds["sumsub"]["clients"]:
        table.add_row(c["client_id"], c["role"], c["app_token"], c["secret_key"])
    console.print(table)
    keys = Table(title="Dakota API keys (x-api-key)")
    for col in ("role", "key", "permissions", "organization_id"):
        keys.add_column(col, overflow="fold")
    for k in creds["dakota"]["api_keys"]:
        keys.add_row(k["role"], k["key"], ",".join(k["permissions"]) or "-", k["organization_id"])
    console.print(keys)
    console.print(f"Credentials as JSON: curl -s {base}/_sandbox/credentials")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
