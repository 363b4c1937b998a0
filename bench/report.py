"""The table: rows of old / new / new÷old / WireMock / target / result, and its three renderings (rich, Markdown,
JSON). `core_rows` turns bench/measures.py's results into rows; other row providers return `Row`s too."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from measures import Bench
from wiremock_stub import WIREMOCK_VERSION

MAX_SLOWDOWN = 1.10  # flow (HTTP and in-process), 100-token import, cold start, reset: at most this x old
GET_VS_OLD = 2.0  # GET /customers/{id} throughput with 2 workers: at least this x old ...
GET_VS_WIREMOCK = 1.0  # ... and at least this x the static WireMock stub
COLD_START_MAX_S = 1.0


@dataclass
class Check:
    """One target of a row: `ok` is None when it could not be measured in this run (no old build, no Java)."""

    label: str
    ok: bool | None
    value: float | None = None


@dataclass
class Row:
    measure: str
    old: str = ""
    new: str = ""
    ratio: str = ""  # new/old, and which way is better
    wiremock: str = ""
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # the raw figures, for --json

    @property
    def target(self) -> str:
        return "; ".join(c.label for c in self.checks)

    @property
    def result(self) -> str:
        if not self.checks:
            return ""
        missed = [c.label for c in self.checks if c.ok is False]
        if missed:
            return "MISS" if len(missed) == len(self.checks) else "MISS: " + "; ".join(missed)
        return "pass" if all(c.ok for c in self.checks) else "n/a"


def ms(x: float) -> str:
    return f"{x:.1f} ms" if x < 1000 else f"{x / 1000:.2f} s"


def secs(x: float) -> str:
    return f"{x:.2f} s"


def rps(x: float) -> str:
    return f"{x:.0f} req/s"


def ratio_of(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or not old or math.isnan(new) or math.isnan(old):
        return None
    return new / old


def ratio_cell(r: float | None, lower_is_better: bool) -> str:
    return "" if r is None else f"{r:.2f} ({'lower' if lower_is_better else 'higher'} better)"


def at_most(r: float | None, limit: float) -> Check:
    return Check(f"<= {limit:.2f}x old", None if r is None else r <= limit, r)


def at_least(r: float | None, limit: float, of: str) -> Check:
    return Check(f">= {limit:.1f}x {of}", None if r is None else r >= limit, r)


def core_rows(b: Bench) -> list[Row]:
    """The rows of bench/measures.py's figures (those measured: --only may have left some out)."""
    old, new = b.results.get("old", {}), b.results["new"]
    wm = b.results.get("wiremock", {})
    no_wm = f"n/a ({b.wiremock_note})" if b.wiremock_note else "n/a"
    rows: list[Row] = []

    def row(measure: str, key: str, cell: Any, value: Any, lower_is_better: bool, checks: bool = False) -> Row | None:
        """`cell(result)` prints a build's `result[key]`, `value(result)` is its figure; `checks`: the row has the
        MAX_SLOWDOWN target."""
        if key not in new:
            return None
        o = old.get(key)
        r = ratio_of(value(new[key]), value(o) if o is not None else None)
        out = Row(
            measure,
            cell(o) if o is not None else "n/a",
            cell(new[key]),
            ratio_cell(r, lower_is_better),
            checks=[at_most(r, MAX_SLOWDOWN)] if checks else [],
            data={"old": o, "new": new[key], "ratio": r},
        )
        rows.append(out)
        return out

    def p50_p99(x: dict[str, Any]) -> str:
        return f"{ms(x['median_ms'])} / {ms(x['p99_ms'])}"

    def median(x: dict[str, Any]) -> float:
        return float(x["median_ms"])

    for key, what, target in (
        ("flow_http", "flow over HTTP", True),
        ("flow_inproc", "flow in-process", True),
        ("flow_signed", "flow with signed Sumsub calls", False),
    ):
        if key in new:
            row(f"{what}, median / p99 (n={new[key]['n']})", key, p50_p99, median, True, target)
    if "bulk_import_100_ms" in new:
        row(
            f"bulk import of 100 tokens (median of {len(new['bulk_import_100_runs_ms'])})",
            "bulk_import_100_ms",
            ms,
            float,
            True,
            True,
        )
    if "sustained" in new:
        sus = new["sustained"]
        row(
            f"sustained import, {sus['clients']} clients, {sus['tokens']} tokens (median of {len(sus['rounds'])})",
            "sustained",
            lambda x: f"{x['tokens_per_s']:.0f} tokens/s",
            lambda x: float(x["tokens_per_s"]),
            False,
        )
    if "get_latency" in new:
        got = row("GET /customers/{id} latency, 1 connection, p50 / p99", "get_latency", p50_p99, median, True)
        if got is not None:
            got.wiremock = p50_p99(wm["get_latency"]) if "get_latency" in wm else no_wm
    if "get_throughput" in new:

        def tput(t: dict[str, Any]) -> str:
            return f"{rps(t['rps'])} ({ms(t['latency_median_ms'])} / {ms(t['latency_p99_ms'])})"

        n_t = new["get_throughput"]
        got = row(
            f"GET /customers/{{id}} throughput, {n_t['connections']} connections, {b.tool.name}, "
            f"{len(n_t['rounds_rps'])} rounds: req/s (p50 / p99)",
            "get_throughput",
            tput,
            lambda x: float(x["rps"]),
            False,
        )
        if got is not None:
            w_t = wm.get("get_throughput")
            r_wm = ratio_of(n_t["rps"], w_t["rps"] if w_t else None)
            got.wiremock = tput(w_t) + (f"; new/WM {r_wm:.2f}" if r_wm is not None else "") if w_t else no_wm
            got.checks = [at_least(got.data["ratio"], GET_VS_OLD, "old"), at_least(r_wm, GET_VS_WIREMOCK, "WireMock")]
            got.data.update(wiremock=w_t, ratio_wiremock=r_wm)
    if "cold_start_s" in new:
        got = row(
            f"cold start to first 200 (median of {len(new['cold_start_runs_s'])})",
            "cold_start_s",
            secs,
            float,
            True,
            True,
        )
        if got is not None:
            got.checks.append(
                Check(f"< {COLD_START_MAX_S:.1f} s", new["cold_start_s"] < COLD_START_MAX_S, new["cold_start_s"])
            )
            if wm.get("cold_start_s"):
                got.wiremock = f"({secs(wm['cold_start_s'])}, a JVM)"
    if "reset" in new:
        row(
            "reset, median (server's took_ms)",
            "reset",
            lambda x: f"{ms(x['median_ms'])} ({ms(x['server_ms'])})",
            median,
            True,
            True,
        )
    return rows


# ---------------------------------------------------------------------------------------------- rendering
def headers(b: Bench) -> tuple[str, ...]:
    labels = {x.name: x.label for x in b.builds}
    return (
        "measure",
        f"old ({labels.get('old', 'not built')})",
        f"new ({labels['new']})",
        "new/old",
        "WireMock (static stub)",
        "target",
        "result",
    )


def cells(row: Row) -> tuple[str, ...]:
    return (row.measure, row.old, row.new, row.ratio, row.wiremock, row.target, row.result)


def title(b: Bench) -> str:
    m = b.meta
    return (
        f"kyc-sandbox bench · {m['date']} · {m['cores']} cores · Python {m['python']} · {m['store']} · "
        f"serve --workers {m['workers']} · load average at start {m['load_average_at_start']}"
    )


def notes(b: Bench) -> list[str]:
    """What the rows measure, under the table."""
    return [
        "flow: control-plane donor + share token, bulk import of that token, GET /customers/{id}, "
        "GET /applications/{id}; over HTTP on one keep-alive http.client connection, in-process through "
        "simulator.harness.transport.in_process_session on in-memory SQLite (each build's own interpreter).",
        f"GET load: {b.meta['get_load']}.",
        "WireMock: a static stub answering the new build's body and headers for the same path; "
        + (f"WireMock {WIREMOCK_VERSION} (npm), {b.meta.get('java', 'java')}." if b.wiremock_jar else b.wiremock_note),
        "Every measure alternates between the builds in rounds (machine drift hits both); "
        f"the run took {b.meta.get('bench_seconds', '?')} s.",
    ]


def print_rich(b: Bench, rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title(b), title_justify="left", caption="\n".join(notes(b)), caption_justify="left")
    for h in headers(b):
        table.add_column(h, overflow="fold")
    for row in rows:
        c = cells(row)
        style = "red" if row.result.startswith("MISS") else ("green" if row.result == "pass" else None)
        table.add_row(*c[:-1], f"[{style}]{c[-1]}[/]" if style else c[-1])
    Console(width=200).print(table)


def markdown(b: Bench, rows: list[Row]) -> str:
    hs = headers(b)
    lines = [title(b), "", "| " + " | ".join(hs) + " |", "|" + "---|" * len(hs)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(row)) + " |")
    lines += ["", *(f"- {n}" for n in notes(b))]
    return "\n".join(lines)


def as_json(b: Bench, rows: list[Row]) -> str:
    out = {
        "meta": b.meta,
        "results": b.results,
        "rows": [{**asdict(r), "target": r.target, "result": r.result} for r in rows],
        "targets": [
            {"measure": r.measure, "target": c.label, "value": c.value, "ok": c.ok} for r in rows for c in r.checks
        ],
    }
    return json.dumps(out, indent=2, default=str)
