"""Time to the error when EDFS never answers, with the default settings, and the progress heard.

    python -m bench.hung_upstream

A real ``edfs-mcp serve`` (stdio) against the sandbox over loopback HTTP, whose timers endpoint
answers after an hour; the MCP client waits 60 s (the TypeScript SDK's default request timeout) and
asks for progress. Prints the seconds to the tool's error, the progress notifications and the error.
"""

from __future__ import annotations

import asyncio
import time

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import serve, text_of

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE


async def measure() -> None:
    sandbox = SandboxServer().start()
    heard: list[tuple[float, str]] = []
    try:
        async with serve(sandbox) as session:
            await session.ok("list_integration_packages")  # signed in, warm
            sandbox.state.faults.latency(3600, path_prefix=f"/edfs/itwins/{BRIDGE}/timers")
            started = time.monotonic()

            async def progress(progress: float, total: float | None, message: str | None) -> None:
                heard.append((time.monotonic() - started, message or ""))

            result = await session.client.call_tool(
                "list_timers", {"itwin_id": BRIDGE}, progress_callback=progress
            )
            elapsed = time.monotonic() - started
    finally:
        sandbox.stop()
    print(f"time to the tool's answer: {elapsed:.1f} s (is_error={result.is_error})")
    print(f"progress notifications: {len(heard)}, first at {heard[0][0]:.1f} s" if heard else "no progress")
    for at, message in heard[:3]:
        print(f"  {at:5.1f} s  {message}")
    print(f"answer: {text_of(result)}")


if __name__ == "__main__":
    asyncio.run(measure())
