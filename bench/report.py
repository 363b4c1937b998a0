"""The table: rows of old / new / new÷old / WireMock / target / result, and its three renderings (rich, Markdown,
JSON). `core_rows` turns bench/measures.py's results into rows; other row providers return `Row`s too."""

from __future__ import annotations

import json
import math
import statistics
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


def paired_ratio(new: dict[str, Any] | None, base: dict[str, Any] | None) -> float | None:
    """new / base: the median of the round-by-round ratios when both were measured in the same rounds (each pair
    minutes apart at most, seconds mostly: what drift and other load on the machine do between pairs cancels),
    else the ratio of the two figures."""
    if not new or not base:
        return None
    a, b = new.get("rounds") or [], base.get("rounds") or []
    if len(a) == len(b) >= 3 and all(b):
        return float(statistics.median(x / y for x, y in zip(a, b, strict=True)))
    return ratio_of(new["value"], base["value"])


def ratio_cell(r: float | None, lower_is_better: bool) -> str:
    return "" if r is None else f"{r:.2f} ({'lower' if lower_is_better else 'higher'} better)"


def at_most(r: float | None, limit: float) -> Check:
    return Check(f"<= {limit:.2f}x old", None if r is None else r <= limit, r)


def at_least(r: float | None, limit: float, of: str) -> Check:
    return Check(f">= {limit:.1f}x {of}", None if r is None else r >= limit, r)


def core_rows(b: Bench) -> list[Row]:
    """The rows of bench/measures.py's figures (those measured: --only may have left some out). Every figure is a
    dict with `value` and `rounds` (see measures.timings)."""
    old, new, wm = b.results.get("old", {}), b.results["new"], b.results.get("wiremock", {})
    no_wm = f"n/a ({b.wiremock_note})" if b.wiremock_note else "n/a"
    rows: dict[str, Row] = {}

    def row(key: str, measure: str, cell: Any, lower_is_better: bool, slowdown_target: bool = False) -> None:
        if key not in new:
            return
        o, n = old.get(key), new[key]
        r = paired_ratio(n, o)
        rows[key] = Row(
            measure.format(**n),
            cell(o) if o else "n/a",
            cell(n),
            ratio_cell(r, lower_is_better),
            checks=[at_most(r, MAX_SLOWDOWN)] if slowdown_target else [],
            data={"old": o, "new": n, "ratio": r},
        )

    def p50_p99(x: dict[str, Any]) -> str:
        return f"{ms(x['value'])} / {ms(x['p99_ms'])}"

    def tput(x: dict[str, Any]) -> str:
        return f"{rps(x['value'])} ({ms(x['latency_median_ms'])} / {ms(x['latency_p99_ms'])})"

    row("flow_http", "flow over HTTP, median / p99 (n={n})", p50_p99, True, True)
    row("flow_inproc", "flow in-process, median / p99 (n={n})", p50_p99, True, True)
    row("flow_signed", "flow with signed Sumsub calls, median / p99 (n={n})", p50_p99, True)
    row("bulk_import_100_ms", "bulk import of 100 tokens (median of {n})", lambda x: ms(x["value"]), True, True)
    row(
        "sustained",
        "sustained import, {clients} clients, {tokens} tokens (median of {n})",
        lambda x: f"{x['value']:.0f} tokens/s",
        False,
    )
    row("get_latency", "GET /customers/{{id}} latency, 1 connection, p50 / p99", p50_p99, True)
    row(
        "get_throughput",
        f"GET /customers/{{{{id}}}} throughput, {{connections}} connections, {b.tool.name}, {{n}} rounds: "
        "req/s (p50 / p99)",
        tput,
        False,
    )
    row("cold_start_s", "cold start to first 200 (median of {n})", lambda x: secs(x["value"]), True, True)
    row("reset", "reset, median (server's took_ms)", lambda x: f"{ms(x['value'])} ({ms(x['server_ms'])})", True, True)

    if "get_latency" in rows:
        rows["get_latency"].wiremock = p50_p99(wm["get_latency"]) if "get_latency" in wm else no_wm
    if "get_throughput" in rows:
        got, w_t = rows["get_throughput"], wm.get("get_throughput")
        r_wm = paired_ratio(new["get_throughput"], w_t)
        got.wiremock = tput(w_t) + (f"; new/WM {r_wm:.2f}" if r_wm is not None else "") if w_t else no_wm
        got.checks = [at_least(got.data["ratio"], GET_VS_OLD, "old"), at_least(r_wm, GET_VS_WIREMOCK, "WireMock")]
        got.data.update(wiremock=w_t, ratio_wiremock=r_wm)
    if "cold_start_s" in rows:
        value = new["cold_start_s"]["value"]
        rows["cold_start_s"].checks.append(Check(f"< {COLD_START_MAX_S:.1f} s", value < COLD_START_MAX_S, value))
        if "cold_start_s" in wm:
            rows["cold_start_s"].wiremock = f"({secs(wm['cold_start_s']['value'])}, a JVM)"
    return list(rows.values())


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
        "Every measure alternates between the builds in rounds (machine drift hits both); new/old is the median "
        "of the round-by-round ratios, so it can differ a little from the ratio of the two medians shown. "
        f"The run took {b.meta.get('bench_seconds', '?')} s.",
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
