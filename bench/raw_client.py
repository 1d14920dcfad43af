"""The raw HTTP baseline in a process of its own, like the server's requests: no MCP, no edfs-mcp.

``python bench/raw_client.py BASE_URL PATH`` with the bearer token in ``BENCH_TOKEN``. Each stdin line is
``N`` (POST the execute body to ``PATH`` N times, one after the other) or ``cN`` (N at once); the answer is
one line, a JSON list of seconds: each POST's duration, or the wall time of the N concurrent ones. One
pooled ``httpx2.AsyncClient`` throughout; ends at end of input.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import httpx2

ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
BODY = {"variables": [], "returnAsXml": False}


async def _posts(client: httpx2.AsyncClient, path: str, count: int) -> list[float]:
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.post(path, json=BODY)
        durations.append(time.perf_counter() - start)
        response.raise_for_status()
    return durations


async def _burst(client: httpx2.AsyncClient, path: str, count: int) -> list[float]:
    start = time.perf_counter()
    responses = await asyncio.gather(*(client.post(path, json=BODY) for _ in range(count)))
    wall = time.perf_counter() - start
    for response in responses:
        response.raise_for_status()
    return [wall]


def main() -> None:
    base_url, path = sys.argv[1:3]
    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
    with asyncio.Runner() as runner:
        client = httpx2.AsyncClient(base_url=base_url, headers=headers)
        try:
            for line in sys.stdin:
                command = line.strip()
                run = _burst if command.startswith("c") else _posts
                print(json.dumps(runner.run(run(client, path, int(command.lstrip("c"))))), flush=True)
        finally:
            runner.run(client.aclose())


if __name__ == "__main__":
    main()
