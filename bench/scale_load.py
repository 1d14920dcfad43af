"""``python -m bench.scale_load URL CALLS CONCURRENCY``: one load-generator process of ``bench.scale``.

With the access token in ``BENCH_TOKEN`` (not on the command line), it opens ``CONCURRENCY`` MCP
clients (2026-07-28, the official SDK), warms each with one ``list_timers`` call, prints ``ready``
and waits for a line on stdin; then it makes ``CALLS`` calls in all and prints one JSON line: when
it started and ended (wall clock), each call's seconds, the calls that failed, and the CPU seconds
this process spent on them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import AsyncExitStack

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.sandbox import seed

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


async def run(url: str, token: str, calls: int, concurrency: int) -> dict[str, object]:
    durations: list[float] = []
    errors = 0
    per_client = [calls // concurrency + (1 if i < calls % concurrency else 0) for i in range(concurrency)]
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(concurrency):
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=120,
                    event_hooks={"response": [_say]},
                )
            )
            client = await stack.enter_async_context(
                Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120)
            )
            clients.append(client)
        async with anyio.create_task_group() as group:  # warm: connections, first-call work
            for client in clients:
                group.start_soon(client.call_tool, "list_timers", {"itwin_id": NORTHGATE})
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)

        async def worker(client: Client, count: int) -> None:
            nonlocal errors
            for _ in range(count):
                start = time.perf_counter()
                result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
                durations.append(time.perf_counter() - start)
                errors += bool(result.is_error)

        cpu, started = time.process_time(), time.time()
        async with anyio.create_task_group() as group:
            for client, count in zip(clients, per_client, strict=True):
                group.start_soon(worker, client, count)
        ended = time.time()
        cpu = time.process_time() - cpu
    return {"start": started, "end": ended, "durations": durations, "errors": errors, "cpu": cpu}


async def _say(response: httpx2.Response) -> None:
    """An HTTP error status is written to stderr (the MCP client says only "an error response")."""
    if response.status_code >= 400:
        await response.aread()
        print(f"HTTP {response.status_code}: {response.text[:200]}", file=sys.stderr)


def main() -> None:
    url, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    token = os.environ["BENCH_TOKEN"]
    try:
        report = anyio.run(run, url, token, calls, concurrency)
    except BaseExceptionGroup as group:  # nested clients nest their groups: say what the leaves were
        sys.exit("bench.scale_load failed: " + "; ".join(f"{type(e).__name__}: {e}" for e in _leaves(group)))
    print(json.dumps(report), flush=True)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


if __name__ == "__main__":
    main()
