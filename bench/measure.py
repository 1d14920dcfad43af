"""Shared pieces: timing statistics, spawning the two servers over stdio, reading a process's memory."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import bpe_openai
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from edfs_mcp.config import environment_without_settings
from edfs_mcp.sandbox import SandboxServer, seed

FLOOR_SCRIPT = Path(__file__).with_name("floor_server.py")
FLOOR_HTTP_SCRIPT = Path(__file__).with_name("floor_http_server.py")
RAW_SCRIPT = Path(__file__).with_name("raw_client.py")
ITWIN = seed.ITWIN_NORTHGATE_BRIDGE
PACKAGE = seed.SQL_CUSTOMERS_TABLE
BULK = seed.SENSOR_READINGS_BULK
ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
RawRunner = Callable[[str], Awaitable[list[float]]]


@dataclass(frozen=True)
class Stats:
    """Seconds: median and 10th/90th percentiles of ``n`` samples."""

    n: int
    median: float
    p10: float
    p90: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        deciles = statistics.quantiles(samples, n=10, method="inclusive")
        return cls(len(samples), statistics.median(samples), deciles[0], deciles[8])

    def ms(self) -> str:
        return f"{self.median * 1e3:.2f} ms (p10 {self.p10 * 1e3:.2f}, p90 {self.p90 * 1e3:.2f}, n={self.n})"


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


def count_tokens(text: str) -> int:
    return len(bpe_openai.get_encoding("cl100k_base").encode(text))


def edfs_env(sandbox: SandboxServer, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """edfs-mcp pointed at the loopback sandbox as its Org Admin service client."""
    env = environment_without_settings()
    env.update(
        EDFS_MCP_API_BASE=sandbox.base_url,
        EDFS_MCP_AUTHORITY=sandbox.base_url,
        EDFS_MCP_CLIENT_ID=seed.CLIENT_ADMIN_ID,
        EDFS_MCP_CLIENT_SECRET=seed.CLIENT_ADMIN_SECRET,
    )
    env.update(extra or {})
    return env


def edfs_params(env: Mapping[str, str], *args: str) -> StdioServerParameters:
    command = ["-m", "edfs_mcp", "serve", *args]
    return StdioServerParameters(command=sys.executable, args=command, env=dict(env))


def floor_params() -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=[str(FLOOR_SCRIPT)], env=environment_without_settings()
    )


def floor_http_params(base_url: str, token: str, path: str) -> StdioServerParameters:
    env = environment_without_settings() | {
        "BENCH_BASE_URL": base_url,
        "BENCH_TOKEN": token,
        "BENCH_PATH": path,
    }
    return StdioServerParameters(command=sys.executable, args=[str(FLOOR_HTTP_SCRIPT)], env=env)


@asynccontextmanager
async def connect(params: StdioServerParameters) -> AsyncIterator[Client]:
    """A legacy-mode (initialize handshake) client session; the server's stderr is discarded."""
    with open(os.devnull, "w") as errlog:  # noqa: ASYNC230 - /dev/null does not block
        transport = stdio_client(params, errlog=errlog)
        async with Client(transport, mode="legacy", read_timeout_seconds=300) as client:
            yield client


@asynccontextmanager
async def raw_client_process(base_url: str, token: str, path: str) -> AsyncIterator[RawRunner]:
    """``bench/raw_client.py`` in its own process; yields ``run(command)`` → its answer (see there)."""
    env = environment_without_settings() | {"BENCH_TOKEN": token}
    command = [sys.executable, str(RAW_SCRIPT), base_url, path]
    async with await anyio.open_process(command, env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, BufferedByteReceiveStream(process.stdout)

        async def run(command: str) -> list[float]:
            await stdin.send(f"{command}\n".encode())
            return [float(x) for x in json.loads(await stdout.receive_until(b"\n", 1 << 20))]

        try:
            yield run
        finally:
            await stdin.aclose()
            await process.wait()


def child_pids(parent: int | None = None) -> list[int]:
    """Processes whose parent is ``parent`` (this one by default)."""
    me, found = parent or os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.append(int(entry.name))
    return found


def server_pid(marker: str) -> int:
    """The child process whose command line contains ``marker``."""
    for pid in child_pids():
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                return pid
        except OSError:
            continue
    raise RuntimeError(f"no child process running {marker!r}")


def process_children(parent: int, marker: str) -> list[int]:
    """The children of ``parent`` whose command line contains ``marker``."""
    found = []
    for pid in child_pids(parent):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(pid)
        except OSError:
            continue
    return found


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of ``pid``, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values
