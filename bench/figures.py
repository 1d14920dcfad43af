"""Each figure of the benchmark, with the baselines it is compared to, all measured in this run."""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from bench.measure import (
    ACCEPT,
    BULK,
    ITWIN,
    PACKAGE,
    Stats,
    connect,
    count_tokens,
    edfs_env,
    edfs_params,
    floor_http_params,
    floor_params,
    memory_kib,
    process_children,
    raw_client_process,
    server_pid,
    timed,
)
from edfs_mcp.auth.store import FileTokenStore, token_key
from edfs_mcp.sandbox import SandboxServer, fixtures, seed
from edfs_mcp.tabular import parse_json_payload
from tests.harness import text_of

Call = Callable[[], Coroutine[Any, Any, Any]]
X = "\N{MULTIPLICATION SIGN}"
CONCURRENT_CALLS = 64
ADDED_LATENCY = 0.2
REFRESH_CALLS = 20
EXECUTE = "execute_integration_package"


@dataclass(frozen=True)
class Plan:
    spawns: int  # per server, interleaved
    rounds: int  # interleaved blocks of the per-call figure
    block: int  # calls per side in a block
    concurrency_runs: int


FULL = Plan(spawns=20, rounds=16, block=25, concurrency_runs=5)
QUICK = Plan(spawns=4, rounds=4, block=15, concurrency_runs=2)


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    target: str
    met: bool | None  # None: shown for context, no target
    detail: str = ""


def _ok(result: CallToolResult) -> CallToolResult:
    if result.is_error:
        raise RuntimeError(f"tool call failed: {text_of(result)}")
    return result


async def _fire(count: int, call: Call) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(call)


# --- spawn → initialize -----------------------------------------------------------------------------


async def _spawn_seconds(params: StdioServerParameters) -> tuple[float, float]:
    """Seconds from spawn to the ``initialize`` result, and to the first ``tools/list`` result."""
    start = time.perf_counter()
    async with connect(params) as client:
        initialized = time.perf_counter() - start
        await client.list_tools()
        return initialized, time.perf_counter() - start


STARTUP_TARGET = 1.10


async def spawn_figures(sandbox: SandboxServer, plan: Plan) -> list[Figure]:
    servers = {
        "edfs": edfs_params(edfs_env(sandbox)),
        "floor": floor_params(),
        "sandbox": edfs_params(edfs_env(sandbox), "--sandbox"),
    }
    samples: dict[str, list[float]] = {name: [] for name in servers}
    listed: dict[str, list[float]] = {name: [] for name in servers}
    for params in servers.values():  # warm the OS page cache once, for each
        await _spawn_seconds(params)
    for _ in range(plan.spawns):
        for name, params in servers.items():  # A B C A B C ...
            initialized, tools = await _spawn_seconds(params)
            samples[name].append(initialized)
            listed[name].append(tools)
    edfs, floor, inproc = (Stats.of(samples[name]) for name in servers)
    edfs_list, floor_list, inproc_list = (Stats.of(listed[name]) for name in servers)
    ratio, inproc_ratio = edfs.median / floor.median, inproc.median / floor.median
    return [
        Figure(
            "spawn → `initialize` result, edfs-mcp (service client) ÷ SDK floor",
            f"{ratio:.2f}{X}",
            f"≤ {STARTUP_TARGET:.2f}{X}",
            ratio <= STARTUP_TARGET,
            f"edfs-mcp serve (service client, loopback sandbox) {edfs.ms()}; SDK floor {floor.ms()}",
        ),
        Figure(
            "spawn → `initialize` result, `serve --sandbox` (in-process sandbox) ÷ SDK floor",
            f"{inproc_ratio:.2f}{X}",
            f"≤ {STARTUP_TARGET:.2f}{X}",
            inproc_ratio <= STARTUP_TARGET,
            f"serve --sandbox {inproc.ms()}; SDK floor {floor.ms()}",
        ),
        Figure(
            "spawn → first `tools/list` result, edfs-mcp (service client) ÷ SDK floor (11 tools vs 1)",
            f"{edfs_list.median / floor_list.median:.2f}{X}",
            "—",
            None,
            f"edfs-mcp {edfs_list.ms()}; serve --sandbox {inproc_list.ms()}; SDK floor {floor_list.ms()} "
            "(the tools are registered on the first tools/* request, not before `initialize`)",
        ),
    ]


# --- per call, concurrency, the sandbox's own figures --------------------------------------------------


async def _token(http: httpx2.AsyncClient) -> str:
    response = await http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seed.CLIENT_ADMIN_ID,
            "client_secret": seed.CLIENT_ADMIN_SECRET,
            "scope": "itwin-platform",
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def call_figures(sandbox: SandboxServer, plan: Plan) -> list[Figure]:
    path = f"/edfs/itwins/{ITWIN}/packages/{PACKAGE}"
    async with httpx2.AsyncClient(base_url=sandbox.base_url, headers={"Accept": ACCEPT}) as http:
        token = await _token(http)
        http.headers["Authorization"] = f"Bearer {token}"
        async with (
            connect(edfs_params(edfs_env(sandbox))) as edfs,
            connect(floor_params()) as floor,
            connect(floor_http_params(sandbox.base_url, token, path)) as floor_http,
            raw_client_process(sandbox.base_url, token, path) as raw_process,
        ):

            async def edfs_call() -> None:
                _ok(await edfs.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": PACKAGE}))

            async def floor_call() -> None:
                _ok(await floor.call_tool("echo", {"text": "ping"}))

            async def floor_http_call() -> None:
                _ok(await floor_http.call_tool("post", {}))

            async def raw_call() -> None:
                (await http.post(path, json={"variables": [], "returnAsXml": False})).raise_for_status()

            calls = {"edfs": edfs_call, "floor": floor_call, "floor_http": floor_http_call, "raw": raw_call}

            async def block(name: str, count: int) -> list[float]:
                if name == "raw_process":
                    return await raw_process(str(count))
                return [await timed(calls[name]) for _ in range(count)]

            names = ["edfs", "floor", "raw_process", "floor_http", "raw"]
            samples: dict[str, list[float]] = {name: [] for name in names}
            for name in names:  # warm-up: connections, token, caches
                await block(name, 20)
            paired: list[float] = []  # per round: edfs-mcp ÷ (floor + raw), medians of that round
            for round_ in range(plan.rounds):
                shift = round_ % len(names)  # rotate the order so drift and position cancel out
                got = {name: await block(name, plan.block) for name in names[shift:] + names[:shift]}
                for name, values in got.items():
                    samples[name] += values
                med = {name: statistics.median(values) for name, values in got.items()}
                paired.append(med["edfs"] / (med["floor"] + med["raw_process"]))

            floor_burst = [await timed(lambda: _fire(CONCURRENT_CALLS, floor_call)) for _ in range(3)]
            sandbox.state.faults.latency(ADDED_LATENCY)
            walls: list[float] = []
            raw_walls: list[float] = []
            try:
                for _ in range(plan.concurrency_runs):  # interleaved: edfs-mcp, raw, edfs-mcp, raw...
                    walls.append(await timed(lambda: _fire(CONCURRENT_CALLS, edfs_call)))
                    raw_walls += await raw_process(f"c{CONCURRENT_CALLS}")
            finally:
                sandbox.state.faults.latency(0)

    edfs_s, floor_s, raw_p, floor_http_s, raw_s = (Stats.of(samples[name]) for name in names)
    baseline = floor_s.median + raw_p.median
    per_call = edfs_s.median / baseline
    wall, raw_wall = statistics.median(walls), statistics.median(raw_walls)
    mcp_budget = 1.5 * CONCURRENT_CALLS * floor_s.median
    limit = ADDED_LATENCY + mcp_budget
    return [
        Figure(
            "one `execute_integration_package` over stdio ÷ (SDK floor call + raw httpx2 POST)",
            f"{per_call:.2f}{X}",
            f"≤ 1.25{X}",
            per_call <= 1.25,
            f"edfs-mcp {edfs_s.ms()}; SDK floor echo {floor_s.ms()}; "
            f"raw httpx2 POST (own process, like the server's) {raw_p.ms()}; the ratio round by round: "
            f"median {statistics.median(paired):.2f}, range {min(paired):.2f} to {max(paired):.2f}",
        ),
        Figure(
            "diagnostic: SDK floor whose tool makes the same POST ÷ (floor call + raw POST)",
            f"{floor_http_s.median / baseline:.2f}{X}",
            "—",
            None,
            f"{floor_http_s.ms()}: the cost of an HTTP call inside any SDK tool, no edfs-mcp code; "
            f"edfs-mcp ÷ this = {edfs_s.median / floor_http_s.median:.2f}{X} is edfs-mcp's own share",
        ),
        Figure(
            f"{CONCURRENT_CALLS} concurrent calls, +{ADDED_LATENCY * 1e3:.0f} ms sandbox latency: wall time",
            f"{wall * 1e3:.0f} ms",
            f"≤ {limit * 1e3:.0f} ms (200 ms + 1.5 {X} 64 {X} {floor_s.median * 1e3:.2f} ms)",
            wall <= limit,
            f"median of {len(walls)} bursts: {', '.join(f'{w * 1e3:.0f}' for w in walls)} ms; over the same "
            f"burst of raw POSTs: +{(wall - raw_wall) * 1e3:.0f} ms (MCP budget 1.5 {X} 64 {X} floor call = "
            f"{mcp_budget * 1e3:.0f} ms); 64 concurrent SDK-floor echoes, no latency: "
            f"{min(floor_burst) * 1e3:.0f} ms (best of 3)",
        ),
        Figure(
            f"{CONCURRENT_CALLS} concurrent calls: wall time over the same burst of raw POSTs (no MCP)",
            f"+{(wall - raw_wall) * 1e3:.0f} ms",
            f"≤ {mcp_budget * 1e3:.0f} ms (1.5 {X} 64 {X} {floor_s.median * 1e3:.2f} ms)",
            wall - raw_wall <= mcp_budget,
            f"the figure above less what the sandbox and httpx2 take for the same 64 requests in this run "
            f"({raw_wall * 1e3:.0f} ms, the median of bursts interleaved with edfs-mcp's): the bound above "
            f"assumes the sandbox answers 64 at once in {ADDED_LATENCY * 1e3:.0f} ms, which this machine "
            "does not",
        ),
        Figure(
            "sandbox alone: raw httpx2 POST from the benchmark process, sequential",
            f"{1 / raw_s.median:.0f} req/s",
            "—",
            None,
            f"{raw_s.ms()} per request",
        ),
        Figure(
            f"sandbox alone: {CONCURRENT_CALLS} concurrent raw POSTs, +{ADDED_LATENCY * 1e3:.0f} ms latency",
            f"{raw_wall * 1e3:.0f} ms",
            "—",
            None,
            f"median of {len(raw_walls)}: {', '.join(f'{w * 1e3:.0f}' for w in raw_walls)} ms, httpx2 in its "
            f"own process like the server's; anything over {ADDED_LATENCY * 1e3:.0f} ms is the sandbox and "
            "httpx2, with no MCP in the path",
        ),
    ]


# --- memory and result sizes ------------------------------------------------------------------------


MEMORY_RUNS = 3
MEMORY_TARGET = 1.5


@dataclass(frozen=True)
class Growth:
    """One fresh server: VmHWM growth (bytes) over one 100 000-row execute, and the readings (KiB)."""

    peak: float
    first_call: dict[str, int]  # after a first call that parses no table (list_timers)
    base: dict[str, int]  # after one small execute: the baseline
    after: dict[str, int]


async def _peak_growth(params: StdioServerParameters, marker: str = "edfs_mcp") -> Growth:
    async with connect(params) as client:
        pid = server_pid(marker)
        _ok(await client.call_tool("list_timers", {"itwin_id": ITWIN}))
        first_call = memory_kib(pid)
        _ok(await client.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": PACKAGE}))
        base = memory_kib(pid)
        _ok(await client.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": BULK}))
        after = memory_kib(pid)
    return Growth((after["VmHWM"] - base["VmHWM"]) * 1024, first_call, base, after)


def _median(runs: list[Growth]) -> Growth:
    return sorted(runs, key=lambda run: run.peak)[len(runs) // 2]


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


async def size_figures(sandbox: SandboxServer) -> list[Figure]:
    payload_bytes = len(fixtures.sensor_payload(False))  # built here, not on the sandbox's first request
    env = edfs_env(sandbox)
    # Peak RSS moves with allocator timing: the median of fresh processes, the two servers interleaved.
    growths = [await _peak_growth(edfs_params(env)) for _ in range(MEMORY_RUNS)]
    median = _median(growths)
    ratio = median.peak / payload_bytes
    pyarrow_kib = statistics.median(run.base["VmRSS"] - run.first_call["VmRSS"] for run in growths)
    table_mib = parse_json_payload(fixtures.sensor_payload(False)).nbytes / 2**20
    async with connect(edfs_params(edfs_env(sandbox))) as client:
        pid = server_pid("edfs_mcp")
        _ok(await client.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": PACKAGE}))
        base = memory_kib(pid)
        start = time.perf_counter()
        bulk = _ok(await client.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": BULK}))
        bulk_seconds = time.perf_counter() - start
        after = memory_kib(pid)
        assert bulk.structured_content is not None
        result_id = bulk.structured_content["result_id"]
        page = _ok(await client.call_tool("read_execution_result", {"result_id": result_id}))
        listing = await client.list_tools()
    wire = bulk.model_dump_json(by_alias=True, exclude_none=True)
    tokens = count_tokens(wire)
    structured = count_tokens(json.dumps(bulk.structured_content, separators=(",", ":"), ensure_ascii=False))
    page_tokens = count_tokens(page.model_dump_json(by_alias=True, exclude_none=True))
    list_wire = listing.model_dump_json(by_alias=True, exclude_none=True)
    list_tokens = count_tokens(list_wire)
    rows = len(bulk.structured_content["rows"])
    text_tokens = count_tokens(text_of(bulk))
    return [
        Figure(
            "100 000-row result: peak RSS over baseline ÷ raw payload bytes",
            f"{ratio:.2f}{X}",
            f"≤ {MEMORY_TARGET}{X}",
            ratio <= MEMORY_TARGET,
            f"median of {MEMORY_RUNS} fresh servers: peak growth "
            f"{', '.join(f'{g.peak / 2**20:.1f}' for g in growths)} MiB; in this one VmHWM "
            f"{_mib(base['VmHWM'])} → {_mib(after['VmHWM'])} MiB, VmRSS after {_mib(after['VmRSS'])} MiB "
            f"(the table kept for result_id: {table_mib:.1f} MiB); payload {payload_bytes / 2**20:.2f} MiB; "
            f"call took {bulk_seconds * 1e3:.0f} ms",
        ),
        Figure(
            "one-time: pyarrow, loaded by the first tabular result (RSS)",
            f"+{_mib(pyarrow_kib)} MiB",
            "—",
            None,
            f"VmRSS after a first call that parses no table (list_timers) → after the first small execute, "
            f"median of {MEMORY_RUNS}; part of the baseline above. Start-up does not pay for it: "
            f"{_mib(median.first_call['VmRSS'])} MiB after list_timers",
        ),
        Figure(
            "largest tool output (SENSOR_READINGS_BULK preview): text, cl100k tokens",
            f"{text_tokens:,}",
            "≤ 8,000",
            text_tokens <= 8000,
            f"{rows} rows; what a client that forwards the text shows the model",
        ),
        Figure(
            "largest tool output (SENSOR_READINGS_BULK preview): structuredContent, cl100k tokens",
            f"{structured:,}",
            "≤ 8,000",
            structured <= 8000,
            f"the same {rows} rows as JSON, what a client that forwards structuredContent shows; the whole "
            f"result on the wire (both) {tokens:,} tokens, {len(wire):,} bytes; read_execution_result "
            f"default page {page_tokens:,} tokens",
        ),
        Figure(
            "`tools/list`, compact wire JSON, cl100k tokens",
            f"{list_tokens:,}",
            "≤ 4,000",
            list_tokens <= 4000,
            f"{len(listing.tools)} tools, {len(list_wire):,} bytes",
        ),
    ]


# --- refresh of an expired sign-in -------------------------------------------------------------------


async def refresh_figures(sandbox: SandboxServer) -> list[Figure]:
    state = sandbox.state
    saved_approve, saved_interval = state.auto_approve, state.device_poll_interval_seconds
    state.auto_approve, state.device_poll_interval_seconds = True, 1
    try:
        with tempfile.TemporaryDirectory(prefix="edfs-bench-") as config:
            env = edfs_env(
                sandbox,
                {
                    "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
                    "EDFS_MCP_CONFIG_DIR": config,
                    "EDFS_MCP_TOKEN_STORE": "file",
                },
            )
            del env["EDFS_MCP_CLIENT_SECRET"]  # a public client: a person signs in
            with anyio.fail_after(120):
                login = await anyio.run_process(
                    [sys.executable, "-m", "edfs_mcp", "login", "--no-browser"], env=env, check=False
                )
            if login.returncode != 0:
                raise RuntimeError(f"login failed: {login.stderr.decode(errors='replace')}")
            store, key = FileTokenStore(Path(config)), token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)
            saved = store.load(key)
            assert saved is not None and saved.refresh_token
            store.save(key, dataclasses.replace(saved, expires_at=0.0))
            before = state.token_requests["refresh_token"]
            async with connect(edfs_params(env)) as client:
                await _refresh_burst(client)
            refreshes = state.token_requests["refresh_token"] - before
    finally:
        state.auto_approve, state.device_poll_interval_seconds = saved_approve, saved_interval
    return [
        Figure(
            f"{REFRESH_CALLS} concurrent calls on an expired sign-in → refresh requests",
            str(refreshes),
            "exactly 1",
            refreshes == 1,
            "person signed in with `edfs-mcp login` (device flow), stored access token expired, "
            f"{REFRESH_CALLS} concurrent `list_timers`",
        )
    ]


async def _refresh_burst(client: Client) -> None:
    async def one() -> None:
        _ok(await client.call_tool("list_timers", {"itwin_id": ITWIN}))

    await _fire(REFRESH_CALLS, one)


# --- SQL over a cached result -------------------------------------------------------------------------

QUERY = "query_execution_result"
SENSOR_QUESTION = (
    "SELECT count(*) AS not_ok FROM result WHERE status <> 'OK'",
    "SELECT sensorId, count(*) AS n FROM result WHERE status <> 'OK' "
    "GROUP BY sensorId ORDER BY n DESC, sensorId LIMIT 1",
)
AGGREGATE = "SELECT status, count(*) AS n, avg(value) AS mean FROM result GROUP BY status"
LATENCY_TARGET = 2.0
ANSWER_TOKENS = 3000


def _tokens(results: list[CallToolResult]) -> tuple[int, int, int]:
    """cl100k tokens of the results: text, structuredContent, and both as on the wire."""
    text = sum(count_tokens(text_of(result)) for result in results)
    structured = sum(
        count_tokens(json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False))
        for result in results
    )
    wire = sum(count_tokens(result.model_dump_json(by_alias=True, exclude_none=True)) for result in results)
    return text, structured, wire


async def sql_figures(sandbox: SandboxServer, plan: Plan) -> list[Figure]:
    async with connect(edfs_params(edfs_env(sandbox))) as client:
        server = server_pid("edfs_mcp")
        # The sensor question, as a model asks it: run the package, then two questions in SQL.
        bulk = _ok(await client.call_tool(EXECUTE, {"itwin_id": ITWIN, "unique_name": BULK}))
        assert bulk.structured_content is not None
        result_id = bulk.structured_content["result_id"]
        start = time.perf_counter()
        total = _ok(await client.call_tool(QUERY, {"result_id": result_id, "sql": SENSOR_QUESTION[0]}))
        first_query = time.perf_counter() - start
        worst = _ok(await client.call_tool(QUERY, {"result_id": result_id, "sql": SENSOR_QUESTION[1]}))
        answer = [bulk, total, worst]
        text, structured, wire = _tokens(answer)
        assert total.structured_content is not None and worst.structured_content is not None
        not_ok = total.structured_content["rows"][0]["not_ok"]
        top = worst.structured_content["rows"][0]

        # The same question without SQL: every page, as large as a page gets.
        pages: list[CallToolResult] = []
        offset: int | None = 0
        counts: Counter[str] = Counter()
        while offset is not None:
            page = _ok(
                await client.call_tool(
                    "read_execution_result", {"result_id": result_id, "offset": offset, "limit": 5000}
                )
            )
            assert page.structured_content is not None
            pages.append(page)
            counts.update(row["sensorId"] for row in page.structured_content["rows"] if row["status"] != "OK")
            offset = page.structured_content["next_offset"]
        scan_text, _, scan_wire = _tokens(pages)
        best = min(counts.items(), key=lambda item: (-item[1], item[0]))
        exact = not_ok == sum(counts.values()) and (top["sensorId"], top["n"]) == best
        child = process_children(server, "edfs_mcp.sql._child")
        child_memory = memory_kib(child[0]) if child else {"VmRSS": 0, "VmHWM": 0}

        # Latency: an aggregate over the 100 000 rows against one default page, interleaved blocks.
        async def aggregate() -> None:
            _ok(await client.call_tool(QUERY, {"result_id": result_id, "sql": AGGREGATE}))

        async def read_page() -> None:
            _ok(await client.call_tool("read_execution_result", {"result_id": result_id}))

        calls = {"aggregate": aggregate, "page": read_page}
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():
            for _ in range(10):
                await call()
        for round_ in range(plan.rounds):
            order = list(calls) if round_ % 2 == 0 else list(reversed(calls))
            for name in order:
                samples[name] += [await timed(calls[name]) for _ in range(plan.block)]
    agg, page_stats = Stats.of(samples["aggregate"]), Stats.of(samples["page"])
    latency = agg.median / page_stats.median
    worst_tokens = max(text, structured)
    return [
        Figure(
            "aggregate over the 100 000 rows (`query_execution_result`) ÷ one `read_execution_result` page",
            f"{latency:.2f}{X}",
            f"≤ {LATENCY_TARGET:.0f}{X}",
            latency <= LATENCY_TARGET,
            f"`{AGGREGATE}`: {agg.ms()}; default page (200 rows, cut at the budget): {page_stats.ms()}; "
            f"the first query of the session (starts the SQL process, sends it the table): "
            f"{first_query * 1e3:.0f} ms",
        ),
        Figure(
            "the sensor question (non-OK readings, and the sensor with most): calls, result tokens",
            f"{len(answer)} calls, {worst_tokens:,} tokens",
            f"≤ 3 calls, ≤ {ANSWER_TOKENS:,} tokens, exact",
            len(answer) <= 3 and worst_tokens <= ANSWER_TOKENS and exact,
            f"execute (preview) + 2 queries; text {text:,} tokens, structuredContent {structured:,} "
            f"(both on the wire {wire:,}); answer {not_ok} non-OK, most on {top['sensorId']} ({top['n']}): "
            f"{'equal to' if exact else 'DIFFERENT from'} a full scan of the pages",
        ),
        Figure(
            "the same question by paging (`read_execution_result`, limit 5000): calls, tokens",
            f"{1 + len(pages)} calls, {scan_text:,} tokens",
            "—",
            None,
            f"{len(pages)} pages of about {seed.SENSOR_ROW_COUNT // len(pages)} rows after the execute; text "
            f"{scan_text:,} tokens (on the wire, text and structuredContent: {scan_wire:,})",
        ),
        Figure(
            "the SQL process (DuckDB, started by the first query): RSS",
            f"{_mib(child_memory['VmRSS'])} MiB",
            "—",
            None,
            f"peak {_mib(child_memory['VmHWM'])} MiB after the queries above; a process of its own, so the "
            "server's figures do not include it",
        ),
    ]
