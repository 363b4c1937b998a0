"""kyc-sandbox benchmarks (`make bench`): two builds side by side in one run, real served processes on 127.0.0.1.

    python bench/run.py [--quick] [--json] [--markdown] [--workers N] [--old REF] [--load auto|wrk|python]

- **old**: today's main before this round's work (`--old`, default 28462ce), exported into a cached directory
  with its own virtualenv (bench/builds.py); **new**: this checkout, on the interpreter running the bench.
- Per build: the end-to-end flow over HTTP (median / p99) and in-process, the signed-Sumsub flow, a 100-token bulk
  import, sustained import throughput, GET /customers/{id} latency and throughput with N workers (wrk when
  installed, else bench/loads.py's generator; the same tool for every server), cold start and reset
  (bench/measures.py; every measure alternates between the builds, in rounds).
- A WireMock column: a static stub of the same GET with the same body (bench/wiremock_stub.py), where Java is.

Targets are printed next to the figures and marked pass/miss (bench/report.py); nothing here is a test and
nothing asserts timing. About 3 minutes (--quick about 1), plus about a minute the first time old is built.

Modules: builds.py (checkouts, venvs, serving), flows.py (the client side), inproc.py (the in-process flow, run
under each build's interpreter), loads.py (wrk / Python load), measures.py, wiremock_stub.py, report.py (rows,
targets, rich / Markdown / JSON).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Iterable

import image
from builds import OLD_REF, Build, Servers, new_build, old_build
from loads import load_tool
from measures import PHASES, Bench, Plan, run_all
from report import Row, as_json, core_rows, markdown, print_rich
from wiremock_stub import wiremock_jar

RowProvider = Callable[[Bench], Iterable[Row]]

# Where rows come from, in table order. Each provider gets the run (builds with their source trees and
# interpreters, plan, results so far, servers, `say`) and returns rows; it may measure more on its own (bench/image.py
# adds container image size and time-to-healthy: `ROW_PROVIDERS.append(image.rows)`). A provider that fails gives
# one row saying so; the rest of the table still prints.
ROW_PROVIDERS: list[RowProvider] = [core_rows, image.rows]


def collect_rows(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    for provider in ROW_PROVIDERS:
        try:
            rows.extend(provider(bench))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            name = getattr(provider, "__module__", "?") + "." + getattr(provider, "__name__", "?")
            rows.append(Row(f"{name} failed: {type(exc).__name__}: {exc}"[:200]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kyc-sandbox benchmarks: old and new builds side by side")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (about a minute)")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (default 2)")
    parser.add_argument("--old", default=OLD_REF, help=f"the commit to compare with (default {OLD_REF}; 'none': skip)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto", help="GET load generator")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated measures to run, of {','.join(PHASES)} (default: all; the table shows those)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="install nothing (wrk by apt-get, wiremock by npm): use what is there"
    )
    args = parser.parse_args(argv)
    only = frozenset(x.strip() for x in args.only.split(",") if x.strip())
    if only - set(PHASES):
        parser.error(f"--only: unknown {', '.join(sorted(only - set(PHASES)))} (known: {', '.join(PHASES)})")
    plan = Plan.quick() if args.quick else Plan()

    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"· {time.perf_counter() - started:5.0f} s  {msg}", file=sys.stderr, flush=True)

    builds: list[Build] = []
    if args.old != "none":
        try:
            builds.append(old_build(args.old, say))
        except Exception as exc:
            say(f"old build ({args.old}) unavailable, new only: {exc}")
    builds.append(new_build())
    tool = load_tool(args.load, not args.no_install, say)
    jar, wm_note = wiremock_jar(not args.no_install, say)
    servers = Servers()
    bench = Bench(plan, args.workers, builds, servers, tool, jar, wm_note, say, only)
    try:
        run_all(bench)
        rows = collect_rows(bench)
    finally:
        servers.close()
    bench.meta["bench_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(as_json(bench, rows))
    elif args.markdown:
        print(markdown(bench, rows))
    else:
        print_rich(bench, rows)
    say(f"bench took {bench.meta['bench_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
