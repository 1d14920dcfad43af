"""The machine a run happened on, and the table: on stdout and in BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from bench.figures import Figure

PACKAGES = (
    *("edfs-mcp", "mcp", "mcp-types", "httpx2", "pydantic", "pydantic-core"),
    *("anyio", "uvicorn", "starlette", "pyarrow", "duckdb", "bpe-openai", "fastmcp"),
)
ROOT = Path(__file__).resolve().parent.parent
Load = tuple[float, float, float]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> str:
    def run(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    commit = run("rev-parse", "--short", "HEAD") or "unknown"
    dirty = run("status", "--porcelain", "--untracked-files=no", "--", "edfs_mcp")
    return commit + (" + uncommitted changes in edfs_mcp/" if dirty else "")


def machine(load: tuple[Load, Load]) -> list[tuple[str, str]]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        ("CPU", f"{_cpu_model()}, {cores} logical cores ({usable} usable)"),
        ("OS", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(versions)),
        ("edfs-mcp commit", _git()),
        ("load average (1, 5, 15 min)", " → ".join(" ".join(f"{x:.2f}" for x in one) for one in load)),
    ]


def _mark(figure: Figure) -> str:
    return "—" if figure.met is None else ("met" if figure.met else "**missed**")


def table(figures: Sequence[Figure]) -> str:
    lines = ["| figure | measured | target | result |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.measured} | {f.target} | {_mark(f)} |" for f in figures]
    return "\n".join(lines)


def details(figures: Sequence[Figure]) -> str:
    return "\n".join(f"- **{f.name}**: {f.detail}" for f in figures if f.detail)


METHOD = """\
## Method

Everything runs on one machine in one run, so each ratio compares figures taken under the same
load. The sandbox (`edfs_mcp.sandbox.SandboxServer`) serves on 127.0.0.1 in a thread of the
benchmark process. Servers are spawned with the same Python and driven by `mcp.Client` over stdio
(`mode="legacy"`: the initialize handshake), their stderr discarded.

- **SDK floor**: `bench/floor_server.py`, a bare `MCPServer` with one `echo` tool, logging at
  WARNING like edfs-mcp. **Raw HTTP**: `bench/raw_client.py`, the same sandbox request made with
  `httpx2.AsyncClient` in a process of its own, as the server makes it (token from
  `POST /connect/token`, client credentials; then `POST /edfs/itwins/{itwin}/packages/{name}`).
- **Spawn**: from just before the process starts to the `initialize` result, for edfs-mcp (Org
  Admin service client against the loopback sandbox), the SDK floor and `serve --sandbox`,
  interleaved A B C A B C after a warm-up spawn of each; medians compared. The same sessions then
  time the first `tools/list` result, where edfs-mcp registers its tools (shown for context).
  `python -m bench --only startup` runs just these. `edfs_mcp` is byte-compiled first, as an
  installed package is.
- **Per call**: one open session per server; `execute_integration_package` (`SQL_CUSTOMERS_TABLE`
  on Northgate Bridge, 12 rows), the floor's `echo`, the raw POST, 20 warm-up calls each, then
  blocks of 25 calls per side whose order rotates every round. Ratio = median edfs-mcp call ÷
  (median floor call + median raw POST); the same ratio per round shows the spread. Diagnostic
  baseline: `bench/floor_http_server.py`, the floor whose one tool makes the raw POST, so
  edfs-mcp ÷ it is the part of the time that is edfs-mcp's own code and result.
- **Concurrency**: 64 calls fired at once from an `anyio` task group through the same session,
  sandbox latency +200 ms on `/edfs/`; median wall time of several bursts, against
  200 ms + 1.5 * 64 * the median floor call above. Interleaved with bursts of 64 concurrent raw
  POSTs from the raw client's process: the same burst with no MCP at all; the wall time over that
  burst is compared with the MCP budget alone (1.5 * 64 * the floor call).
- **Over streamable HTTP** (`--only http`, needs `pip install -e ".[bench]"`): `edfs-mcp serve
  --transport streamable-http` (service client), the generic conversion (`bench/conversion_server.py`:
  FastMCP `from_openapi` over `bench/openapi.json`, the iTwins and EDFS operations edfs-mcp calls,
  with the sandbox's bearer token) and the SDK floor over HTTP, all on loopback against the same
  sandbox, one `mcp.Client` each; every read tool and the conversion's operation for it, 10 warm-up
  calls each, then rounds of blocks whose order alternates; ratio of medians, and the same over the
  floor call (each less the floor's median).
- **Sandbox alone**: the raw POST from the benchmark process, sequential: requests per second.
- **Memory**: a fresh `edfs-mcp serve` process. Baseline = its `VmHWM` (peak RSS, from
  `/proc/<pid>/status`) after initialize, one `list_timers` and one small execute; then one execute
  of `SENSOR_READINGS_BULK` (100 000 rows) and `VmHWM` again. Figure = growth of the peak ÷ the
  bytes of the sandbox's JSON body (`fixtures.sensor_payload(False)`). It counts everything the
  process holds at its peak: the response bytes, the parse, the columnar table kept for
  `result_id`. The small execute is the first tabular result, so the baseline includes pyarrow;
  that one-time cost is its own figure (VmRSS after `list_timers` → after the small execute).
- **SQL**: one session; the sensor question asked as a model would (execute, then two
  `query_execution_result` calls), its result tokens (cl100k of the text, of structuredContent, and
  of both on the wire) and its answer checked against a scan of every page
  (`read_execution_result`, limit 5000), whose calls and tokens are shown. Then an aggregate over
  the 100 000 rows against one default page, 10 warm-up calls each, blocks alternating in order;
  ratio of medians. The SQL process's RSS is read from `/proc` after the queries.
- **Tokens**: cl100k (`bpe_openai`) of the compact wire JSON (`by_alias`, `exclude_none`) of the
  whole bulk execute result (text and structured content) and of `tools/list`.
- **Refresh**: a person signed in with `edfs-mcp login --no-browser` (device flow, auto-approved by
  the sandbox, file token store in a temporary directory); the stored access token is expired;
  20 concurrent `list_timers` calls; refresh-token grants counted by the sandbox.
- **Parse curve** (`bench/large.py`, in the benchmark process): `parse_json_payload` and
  `json.loads` of the same bytes, alternating which goes first, medians: the 10 000- and
  1 000 000-row archive bodies (`fixtures.archive_chunks`) and the 100 000-row sensor body. A
  flat array is read by Arrow's JSON reader in ~1 MB pieces on 2 worker threads (see
  `edfs_mcp/tabular.py`); `json.loads` uses one core and makes Python objects, not a table.
- **1 000 000 rows**: `SENSOR_READINGS_ARCHIVE`, generated by the sandbox as it is sent. Memory as
  for the 100 000 rows, against the bytes of its body; then the sensor question (execute, two
  queries) in a fresh session, timed, its answer checked against the generator's own count.
- Nothing here is asserted by the tests. Figures move with machine load (see the load average):
  compare ratios from one run, not milliseconds across runs.
"""


def markdown(figures: Sequence[Figure], command: str, seconds: float, load: tuple[Load, Load]) -> str:
    info = "\n".join(f"| {key} | {value} |" for key, value in machine(load))
    return f"""# Benchmarks

Ratios against baselines measured in the same run. Reproduce from the repository root, with the
dev extras installed (`pip install -e ".[dev]"`):

```bash
{command}
```

The run took {seconds:.0f} s.

| machine | |
|---|---|
{info}

## Results

{table(figures)}

## Details (median, with p10 and p90)

{details(figures)}

{METHOD}"""
