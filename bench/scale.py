"""``python -m bench.scale [--calls 240] [--concurrency 48]``: scale-out through a real load balancer.

One run starts a real ``redis-server``, ``edfs-mcp serve`` replicas sharing it, and HAProxy in front
(the parts of ``tests/scale``), with the sandbox as Bentley and 200 ms added to every EDFS answer.
A person signs in through the load balancer; then ``concurrency`` MCP clients (2026-07-28, the
official SDK) make ``calls`` ``list_timers`` calls in all, first with 1 replica behind HAProxy, then
with 2. Printed: calls/s for each and their ratio, p50 / p99 latency, and Redis commands per tool
call (Redis's own ``total_commands_processed``, so nothing is left out).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.sandbox import SandboxServer, seed
from tests.remote.harness import Browser, MemoryTokens, oauth_env, signed_in
from tests.scale.parts import haproxy, redis_server, replica
from tests.serving import free_port

LATENCY = 0.2
NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


def _commands(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


async def _burst(url: str, token: str, calls: int, concurrency: int) -> tuple[float, list[float]]:
    """(seconds for all, each call's seconds)."""
    durations: list[float] = []
    per_client = [calls // concurrency + (1 if i < calls % concurrency else 0) for i in range(concurrency)]

    async def worker(count: int) -> None:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http,
            Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120) as client,
        ):
            for _ in range(count):
                start = time.perf_counter()
                result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
                durations.append(time.perf_counter() - start)
                assert not result.is_error

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for count in per_client:
            group.start_soon(worker, count)
    return time.perf_counter() - start, durations


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(calls: int, concurrency: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with SandboxServer() as sandbox, redis_server() as store, tempfile.TemporaryDirectory() as tmp:
        lb_port = free_port()
        public = f"http://127.0.0.1:{lb_port}"
        sandbox.accept_web_redirect(f"{public}/auth/callback")
        env = oauth_env(sandbox, public, EDFS_MCP_REDIS_URL=store.url, EDFS_MCP_LOG_LEVEL="WARNING")
        rates: dict[int, float] = {}
        with contextlib.ExitStack() as stack:
            replicas = [stack.enter_context(replica(f"r{i}", env, Path(tmp))) for i in range(2)]
            token = ""
            for size in (1, 2):
                with haproxy([r.port for r in replicas[:size]], Path(tmp), lb_port) as lb:
                    url = f"{lb.base}/mcp"
                    if not token:
                        storage, browser = MemoryTokens(), Browser(seed.USER_ADMIN)
                        async with signed_in(url, browser, storage=storage) as client:
                            await client.call_tool("list_integration_packages", {})
                        await browser.aclose()
                        assert storage.tokens is not None
                        token = storage.tokens.access_token
                    await _burst(url, token, concurrency, concurrency)  # warm: connections, imports
                    sandbox.state.faults.latency(LATENCY)
                    before = _commands(store.url)
                    elapsed, durations = await _burst(url, token, calls, concurrency)
                    commands = _commands(store.url) - before - 1  # less INFO itself
                    sandbox.state.faults.clear()
                rates[size] = calls / elapsed
                rows += [
                    (f"{size} replica{'s' if size > 1 else ''}: calls/s", f"{rates[size]:.1f}"),
                    (
                        f"{size} replica{'s' if size > 1 else ''}: p50 / p99 latency (s)",
                        f"{statistics.median(durations):.3f} / {_percentile(durations, 0.99):.3f}",
                    ),
                    (
                        f"{size} replica{'s' if size > 1 else ''}: Redis commands per tool call",
                        f"{commands / calls:.2f}",
                    ),
                ]
        rows.append(("calls/s with 2 replicas / with 1", f"{rates[2] / rates[1]:.2f}"))
    rows.append(("CPU cores on this machine", str(os.cpu_count())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--calls", type=int, default=240)
    parser.add_argument("--concurrency", type=int, default=48)
    args = parser.parse_args()
    rows = anyio.run(measure, args.calls, args.concurrency)
    print(
        f"Through HAProxy, {LATENCY * 1000:.0f} ms added upstream, {args.calls} calls by "
        f"{args.concurrency} clients:\n"
    )
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
