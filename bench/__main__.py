"""``python -m bench [--quick] [--only startup] [--output BENCHMARKS.md]``: run the figures, print the table.

Without --only, every figure runs and BENCHMARKS.md is rewritten. ``--only startup`` runs just the
spawn → ``initialize`` figures (about 30 s; with --quick about 10 s) and writes nothing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import anyio

from bench import conversion, figures, large
from bench.figures import Figure, Plan
from bench.report import ROOT, details, markdown, table
from edfs_mcp.sandbox import SandboxServer

STEPS = {"startup", "calls", "http", "sizes", "sql", "refresh", "parse", "archive"}
ALIASES = {"spawn": "startup"}


async def run(plan: Plan, only: set[str]) -> list[Figure]:
    results: list[Figure] = []
    with SandboxServer() as sandbox:
        steps: dict[str, Callable[[], Awaitable[list[Figure]]]] = {
            "startup": partial(figures.spawn_figures, sandbox, plan),
            "calls": partial(figures.call_figures, sandbox, plan),
            "http": partial(conversion.http_figures, sandbox, plan),
            "sizes": partial(figures.size_figures, sandbox),
            "sql": partial(figures.sql_figures, sandbox, plan),
            "refresh": partial(figures.refresh_figures, sandbox),
            "parse": partial(anyio.to_thread.run_sync, large.parse_figures),
            "archive": partial(large.archive_figures, sandbox),
        }
        for name, step in steps.items():
            if not only or name in only:
                print(f"[bench] {name}…", file=sys.stderr, flush=True)
                results += await step()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, noisier)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the Markdown report")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated, of: " + ", ".join(sorted(STEPS)) + " (implies --no-write)",
    )
    args = parser.parse_args()
    only = {ALIASES.get(name.strip(), name.strip()) for name in args.only.split(",") if name.strip()}
    if only - STEPS:
        parser.error(f"unknown --only name(s): {', '.join(sorted(only - STEPS))}")
    # Spawned servers import edfs_mcp from this tree: compile it first, as pip does when it installs
    # a package, so no spawn pays for compiling a changed module (PYTHONDONTWRITEBYTECODE may be set).
    compileall.compile_dir(ROOT / "edfs_mcp", quiet=1)
    load = os.getloadavg()
    start = time.perf_counter()
    results = anyio.run(run, figures.QUICK if args.quick else figures.FULL, only)
    seconds = time.perf_counter() - start
    print(table(results))
    print()
    print(details(results))
    print(f"\n{seconds:.0f} s", file=sys.stderr)
    if not (args.no_write or only):
        command = "python -m bench" + (" --quick" if args.quick else "")
        args.output.write_text(markdown(results, command, seconds, (load, os.getloadavg())))
        print(f"wrote {args.output}", file=sys.stderr)
    return 0  # a report, not a gate: misses are in the table


if __name__ == "__main__":
    raise SystemExit(main())
