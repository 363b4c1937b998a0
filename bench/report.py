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
    old, new = b.results.get("old", {}), b.results["new"]
    wm = b.results.get("wiremock", {})
    no_wm = f"n/a ({b.wiremock_note})" if b.wiremock_note else "n/a"
    rows: list[Row] = []

    def slower_row(measure: str, key: str, fmt: Any, sub: str | None = None, extra: Any = None) -> Row:
        """A lower-is-better measure with the `MAX_SLOWDOWN` target (sub: the median key inside a summary)."""
        o = old.get(key, {}).get(sub) if sub else old.get(key)
        n = new[key][sub] if sub else new[key]
        r = ratio_of(n, o)
        row = Row(
            measure,
            "n/a" if o is None else fmt(o, old),
            fmt(n, new),
            ratio_cell(r, True),
            checks=[at_most(r, MAX_SLOWDOWN)],
            data={"old": old.get(key), "new": new[key], "ratio": r},
        )
        rows.append(row)
        return row

    def with_p99(key: str) -> Any:
        return lambda v, res: f"{ms(v)} / {ms(res[key]['p99_ms'])}"

    n_http = new["flow_http"]["n"]
    slower_row(
        f"flow over HTTP, median / p99 (n={n_http})",
        "flow_http",
        with_p99("flow_http"),
        "median_ms",
    )
    slower_row(
        f"flow in-process, median / p99 (n={new['flow_inproc']['n']})",
        "flow_inproc",
        with_p99("flow_inproc"),
        "median_ms",
    )
    o_s, n_s = old.get("flow_signed"), new["flow_signed"]
    r = ratio_of(n_s["median_ms"], o_s["median_ms"] if o_s else None)
    rows.append(
        Row(
            f"flow with signed Sumsub calls, median / p99 (n={n_s['n']})",
            f"{ms(o_s['median_ms'])} / {ms(o_s['p99_ms'])}" if o_s else "n/a",
            f"{ms(n_s['median_ms'])} / {ms(n_s['p99_ms'])}",
            ratio_cell(r, True),
            data={"old": o_s, "new": n_s, "ratio": r},
        )
    )
    slower_row(
        f"bulk import of 100 tokens (median of {len(new['bulk_import_100_runs_ms'])})",
        "bulk_import_100_ms",
        lambda v, _res: ms(v),
    )
    o_s, n_s = old.get("sustained"), new["sustained"]
    r = ratio_of(n_s["tokens_per_s"], o_s["tokens_per_s"] if o_s else None)
    rows.append(
        Row(
            f"sustained import, {n_s['clients']} clients, {n_s['tokens']} tokens (median of {len(n_s['rounds'])})",
            f"{o_s['tokens_per_s']:.0f} tokens/s" if o_s else "n/a",
            f"{n_s['tokens_per_s']:.0f} tokens/s",
            ratio_cell(r, False),
            data={"old": o_s, "new": n_s, "ratio": r},
        )
    )
    o_l, n_l, w_l = old.get("get_latency"), new["get_latency"], wm.get("get_latency")
    r = ratio_of(n_l["median_ms"], o_l["median_ms"] if o_l else None)
    rows.append(
        Row(
            "GET /customers/{id} latency, 1 connection, p50 / p99",
            f"{ms(o_l['median_ms'])} / {ms(o_l['p99_ms'])}" if o_l else "n/a",
            f"{ms(n_l['median_ms'])} / {ms(n_l['p99_ms'])}",
            ratio_cell(r, True),
            f"{ms(w_l['median_ms'])} / {ms(w_l['p99_ms'])}" if w_l else no_wm,
            data={"old": o_l, "new": n_l, "wiremock": w_l, "ratio": r},
        )
    )
    o_t, n_t, w_t = old.get("get_throughput"), new["get_throughput"], wm.get("get_throughput")

    def tput(t: dict[str, Any]) -> str:
        return f"{rps(t['rps'])} ({ms(t['latency_median_ms'])} / {ms(t['latency_p99_ms'])})"

    r = ratio_of(n_t["rps"], o_t["rps"] if o_t else None)
    r_wm = ratio_of(n_t["rps"], w_t["rps"] if w_t else None)
    rows.append(
        Row(
            f"GET /customers/{{id}} throughput, {n_t['connections']} connections, {b.tool.name}: "
            "median round (p50 / p99)",
            tput(o_t) if o_t else "n/a",
            tput(n_t),
            ratio_cell(r, False),
            tput(w_t) + (f"; new/WM {r_wm:.2f}" if r_wm is not None else "") if w_t else no_wm,
            checks=[at_least(r, GET_VS_OLD, "old"), at_least(r_wm, GET_VS_WIREMOCK, "WireMock")],
            data={"old": o_t, "new": n_t, "wiremock": w_t, "ratio": r, "ratio_wiremock": r_wm},
        )
    )
    row = slower_row(
        f"cold start to first 200 (median of {len(new['cold_start_runs_s'])})",
        "cold_start_s",
        lambda v, _res: secs(v),
    )
    row.checks.append(Check(f"< {COLD_START_MAX_S:.1f} s", new["cold_start_s"] < COLD_START_MAX_S, new["cold_start_s"]))
    if wm.get("cold_start_s"):
        row.wiremock = f"({secs(wm['cold_start_s'])}, a JVM)"
    slower_row(
        "reset, median (server's took_ms)",
        "reset_ms",
        lambda v, res: f"{ms(v)} ({ms(res['reset_server_ms'])})",
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
