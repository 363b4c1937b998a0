"""The harness's commands: `kyc-sandbox fixtures` and `kyc-sandbox scenario run` (added to the main CLI group)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

import click
import requests
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from simulator.core.resources import data_dir
from simulator.harness import scenarios as sc


@click.command("fixtures")
@click.option("--seed", type=int, default=None, help="Generator seed (default: the one the committed files use).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The fixtures folder to write or check (default: the project's fixtures/).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every file that differs.")
def fixtures_command(seed: int | None, out_dir: Path | None, check: bool) -> None:
    """Regenerate the donor profiles (fixtures/profiles/*.json) and the CSV template, byte for byte."""
    from simulator.harness import fixtures as fx

    if importlib.util.find_spec("faker") is None:
        raise click.ClickException(
            f"kyc-sandbox fixtures needs Faker {fx.FAKER_VERSION}: pip install 'kyc-sandbox[fixtures]' "
            "(serving uses the committed fixtures and does not need it)"
        )

    seed = fx.DEFAULT_SEED if seed is None else seed
    target = out_dir or data_dir("fixtures")
    if check:
        problems = fx.check(target, seed)
        if problems:
            click.echo(f"{len(problems)} fixture file(s) differ from the generator (seed {seed}):", err=True)
            for problem in problems:
                click.echo(f"  {problem}", err=True)
            try:
                import faker

                if faker.VERSION != fx.FAKER_VERSION:
                    click.echo(
                        f"note: generated with Faker {fx.FAKER_VERSION}, this is Faker {faker.VERSION}", err=True
                    )
            except ImportError:  # pragma: no cover - checked above
                pass
            sys.exit(1)
        click.echo(f"fixtures in {target} are up to date (seed {seed})")
        return
    written = fx.write(target, seed)
    click.echo(f"wrote {len(written)} file(s) to {target} (seed {seed})")


@click.group("scenario")
def scenario_group() -> None:
    """Scripted replays (scenarios/*.yaml): run them in-process or against any sandbox."""


def _load_or_exit(paths: tuple[Path, ...]) -> list[sc.Scenario]:
    try:
        return sc.load_paths(list(paths) or [data_dir("scenarios")])
    except sc.ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@scenario_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def scenario_validate(paths: tuple[Path, ...]) -> None:
    """Check scenario files against contracts/schemas/scenario.schema.json (default: the shipped scenarios)."""
    scenarios = _load_or_exit(paths)
    click.echo(f"{len(scenarios)} scenario(s) valid")


@scenario_group.command("run")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    envvar="KYC_SANDBOX_URL",
    help="Run against this sandbox (default: a fresh one in this process).",
)
@click.option(
    "--junit-xml", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a JUnit report."
)
@click.option("--no-wait", is_flag=True, help="Without a controllable clock, skip clock steps instead of waiting.")
@click.option("--max-wait", type=float, default=1800.0, show_default=True, help="Longest real wait for a clock step.")
def scenario_run(
    paths: tuple[Path, ...], base_url: str | None, junit_xml: Path | None, no_wait: bool, max_wait: float
) -> None:
    """Run scenario files or folders (default: the shipped scenarios); exit 1 when any fails."""
    scenarios = _load_or_exit(paths)
    # Piped into a CI log, rich would wrap at 80 columns: give reports room.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    try:
        target = sc.Target.local() if base_url is None else sc.Target.for_url(base_url)
    except (sc.ScenarioError, requests.RequestException, ValueError) as exc:  # unreachable, or not a sandbox
        raise click.ClickException(str(exc) if isinstance(exc, sc.ScenarioError) else f"{base_url}: {exc}") from exc
    try:
        reporter = ConsoleReporter(console)
        finished = reporter.consume(
            sc.Runner(target, sc.RunOptions(wait=not no_wait, max_wait=max_wait)).run(scenarios)
        )
    finally:
        target.close()
    if junit_xml is not None:
        junit_xml.parent.mkdir(parents=True, exist_ok=True)
        junit_xml.write_text(sc.junit_xml(finished), encoding="utf-8")
        console.print(f"JUnit report: {junit_xml}")
    sys.exit(0 if finished.ok else 1)


class ConsoleReporter:
    """Renders run events with rich: a progress bar, one line per scenario, and each failure in full."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def consume(self, events: Iterable[sc.Event]) -> sc.RunFinished:
        finished: sc.RunFinished | None = None
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        out = progress.console
        wait_task: TaskID | None = None
        with progress:
            run_task = progress.add_task("scenarios", total=0)
            for event in events:
                if isinstance(event, sc.RunStarted):
                    progress.update(run_task, total=event.scenarios)
                    where = "in-process sandbox" if event.in_process else event.target
                    caps = [
                        "control plane" if event.has_control else "no control plane",
                        "controllable clock" if event.has_clock else "real clock (clock steps wait)",
                    ]
                    out.print(f"[bold]Running {event.scenarios} scenario(s)[/] against {where} ({', '.join(caps)})")
                elif isinstance(event, sc.ScenarioStarted):
                    progress.update(run_task, description=event.scenario)
                elif isinstance(event, sc.Waiting):
                    if wait_task is None:
                        wait_task = progress.add_task(
                            f"  waiting {event.total:.0f}s of real time", total=round(event.total, 1)
                        )
                    progress.update(wait_task, completed=round(event.total - event.remaining, 1))
                    if event.remaining <= 0:
                        progress.remove_task(wait_task)
                        wait_task = None
                elif isinstance(event, sc.ScenarioFinished):
                    progress.advance(run_task)
                    mark = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]-[/]"}[event.outcome]
                    note = f"  [yellow]skipped: {event.reason}[/]" if event.outcome == "skipped" else ""
                    out.print(
                        f"{mark} {event.scenario} [dim]({event.ident}, {len(event.steps)} step(s), "
                        f"{event.duration:.2f}s)[/]{note}"
                    )
                    step = event.failed_step
                    if event.outcome == "failed":
                        text = step.report() if step else event.reason
                        out.print(Panel(text, title=f"{event.ident} failed", border_style="red", expand=False))
                elif isinstance(event, sc.RunFinished):
                    finished = event
        assert finished is not None
        style = "green" if finished.ok else "red"
        self.console.print(
            f"[bold {style}]{finished.count('passed')} passed, {finished.count('failed')} failed, "
            f"{finished.count('skipped')} skipped[/] in {finished.duration:.2f}s"
        )
        return finished
