"""Per call over streamable HTTP: edfs-mcp against the generic OpenAPI → MCP conversion (FastMCP
``from_openapi`` over ``bench/openapi.json``, ``bench/conversion_server.py``), both served on loopback
against the same sandbox, each read tool and the conversion's operation for it interleaved in one run.

The conversion needs the ``bench`` extra (``pip install -e ".[bench]"``); without it the step says so
and gives no figures.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.figures import Figure, Plan, X, _ok, _token
from bench.measure import ACCEPT, FLOOR_SCRIPT, ITWIN, PACKAGE, Stats, edfs_env, timed
from edfs_mcp.config import environment_without_settings
from edfs_mcp.sandbox import SandboxServer, seed

CONVERSION_SCRIPT = Path(__file__).with_name("conversion_server.py")
TARGET = 0.5
ODATA_PACKAGE = "ODT_APIM_TEST"
ENTITY_SET = seed.ODATA_ENTITY_SETS[0]
# Each read tool of edfs-mcp and the conversion's call that asks the sandbox the same.
PAIRS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "find_itwins": ({"query": "North"}, "get_my_itwins", {"$search": "North", "$top": 25}),
    "list_integration_packages": ({}, "get_subscribed_packages", {}),
    "get_integration_package": ({"unique_name": PACKAGE}, "get_package_details", {"uniqueName": PACKAGE}),
    "list_timers": ({"itwin_id": ITWIN}, "get_timers", {"iTwinId": ITWIN}),
    "query_odata": (
        {"itwin_id": ITWIN, "unique_name": ODATA_PACKAGE, "entity_set": ENTITY_SET, "top": 50},
        "query_entity_set",
        {"iTwinId": ITWIN, "uniqueName": ODATA_PACKAGE, "entitySet": ENTITY_SET, "$top": 50},
    ),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {seconds:.0f} s")


@contextmanager
def _process(command: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        _wait_until_listening(port, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@asynccontextmanager
async def _client(url: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=120) as http,
        Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120) as client,
    ):
        yield client


def available() -> bool:
    return importlib.util.find_spec("fastmcp") is not None


async def http_figures(sandbox: SandboxServer, plan: Plan) -> list[Figure]:
    if not available():
        print("[bench] http: fastmcp is not installed (pip install -e '.[bench]'): skipped", file=sys.stderr)
        return []
    async with httpx2.AsyncClient(base_url=sandbox.base_url) as http:
        token = await _token(http)
    ours_port, theirs_port, floor_port = _free_port(), _free_port(), _free_port()
    ours_env = edfs_env(sandbox, {"EDFS_MCP_HTTP_AUTH": "none", "EDFS_MCP_LOG_LEVEL": "WARNING"})
    ours_command = [sys.executable, "-m", "edfs_mcp", "serve", "--transport", "streamable-http"]
    theirs_command = [sys.executable, str(CONVERSION_SCRIPT), str(theirs_port), sandbox.base_url]
    with (
        _process([*ours_command, "--port", str(ours_port)], ours_env, ours_port),
        _process(theirs_command, environment_without_settings() | {"BENCH_TOKEN": token}, theirs_port),
        _process(
            [sys.executable, str(FLOOR_SCRIPT), str(floor_port)], environment_without_settings(), floor_port
        ),
    ):
        async with AsyncExitStack() as stack:
            ours = await stack.enter_async_context(_client(f"http://127.0.0.1:{ours_port}/mcp"))
            theirs = await stack.enter_async_context(_client(f"http://127.0.0.1:{theirs_port}/mcp"))
            floor = await stack.enter_async_context(_client(f"http://127.0.0.1:{floor_port}/mcp"))
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    base_url=sandbox.base_url, headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT}
                )
            )
            return await _measure(ours, theirs, floor, http, plan)


async def _measure(
    ours: Client, theirs: Client, floor: Client, http: httpx2.AsyncClient, plan: Plan
) -> list[Figure]:
    calls: dict[tuple[str, str], Callable[[], Any]] = {}

    async def floor_call() -> None:
        _ok(await floor.call_tool("echo", {"text": "ping"}))

    async def raw_get() -> None:
        (await http.get("/edfs/packages")).raise_for_status()

    calls["floor", "echo"], calls["raw", "get"] = floor_call, raw_get
    for tool, (our_args, operation, their_args) in PAIRS.items():

        async def our_call(tool: str = tool, args: dict[str, Any] = our_args) -> None:
            _ok(await ours.call_tool(tool, args))

        async def their_call(operation: str = operation, args: dict[str, Any] = their_args) -> None:
            _ok(await theirs.call_tool(operation, args))

        calls[tool, "ours"], calls[tool, "theirs"] = our_call, their_call
    for call in calls.values():  # warm-up: sessions, tokens, caches, first-call imports
        for _ in range(10):
            await call()
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    rounds, block = max(4, plan.rounds // 2), max(5, plan.block // 3)
    for round_ in range(rounds):
        for tool in (*PAIRS, "floor", "raw"):
            sides = [side for name, side in calls if name == tool]
            for side in sides if round_ % 2 == 0 else reversed(sides):
                samples[tool, side] += [await timed(calls[tool, side]) for _ in range(block)]
    floor_s, raw_s = Stats.of(samples["floor", "echo"]), Stats.of(samples["raw", "get"])
    figures = [
        Figure(
            "over streamable HTTP: SDK floor call (`echo`), and the sandbox's GET /edfs/packages alone",
            f"{floor_s.median * 1e3:.2f} ms, {raw_s.median * 1e3:.2f} ms",
            "—",
            None,
            f"floor {floor_s.ms()} (bench/floor_server.py over streamable HTTP, the same client); raw GET "
            f"{raw_s.ms()} (httpx2 from the benchmark process): the part of every call below that no server "
            "can make smaller",
        )
    ]
    for tool, (_, operation, _) in PAIRS.items():
        mine, conversion = Stats.of(samples[tool, "ours"]), Stats.of(samples[tool, "theirs"])
        ratio = mine.median / conversion.median
        above = (mine.median - floor_s.median) / (conversion.median - floor_s.median)
        figures.append(
            Figure(
                f"`{tool}` over streamable HTTP ÷ the generic conversion's `{operation}`",
                f"{ratio:.2f}{X}",
                f"≤ {TARGET}{X}",
                ratio <= TARGET,
                f"edfs-mcp {mine.ms()}; FastMCP from_openapi {conversion.ms()}; above the SDK floor call: "
                f"{above:.2f}{X}; {rounds} rounds of {block} calls a side, order alternating",
            )
        )
    return figures
