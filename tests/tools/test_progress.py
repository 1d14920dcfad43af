"""Progress while any tool call waits on EDFS (tools/__init__.py), when the client asks for it."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from tests.harness import IDENTITIES

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE


def settings_for(sandbox: SandboxServer, **extra: Any) -> Settings:
    client_id, secret = IDENTITIES["admin"]
    base = sandbox.base_url
    return Settings(api_base=base, authority=base, client_id=client_id, client_secret=secret, **extra)


@pytest.mark.parametrize(
    ("tool", "arguments", "slow_path"),
    [
        (
            "execute_integration_package",
            {"itwin_id": BRIDGE, "unique_name": seed.SQL_CUSTOMERS_TABLE},
            f"/edfs/itwins/{BRIDGE}/packages/",
        ),
        ("list_timers", {"itwin_id": BRIDGE}, f"/edfs/itwins/{BRIDGE}/timers"),
    ],
)
async def test_a_slow_call_reports_progress_every_progress_seconds(
    sandbox: SandboxServer, tool: str, arguments: dict[str, Any], slow_path: str
) -> None:
    """EDFS_MCP_PROGRESS_SECONDS sets the heartbeat (5 s by default); here 1 s against a 2.5 s answer."""
    messages: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    sandbox.state.faults.latency(2.5, path_prefix=slow_path)
    try:
        # JSON-RPC framing (legacy mode): the in-process direct dispatcher sends no progressToken.
        async with Client(build_server(settings_for(sandbox, progress_seconds=1)), mode="legacy") as client:
            result = await client.call_tool(tool, arguments, progress_callback=progress)
    finally:
        sandbox.state.faults.clear()
    assert not result.is_error
    assert messages[:2] == [f"{tool}: {seconds} s so far" for seconds in (1, 2)]


async def test_a_quick_call_sends_no_progress(sandbox: SandboxServer) -> None:
    messages: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(build_server(settings_for(sandbox, progress_seconds=1)), mode="legacy") as client:
        result = await client.call_tool("list_timers", {"itwin_id": BRIDGE}, progress_callback=progress)
    assert not result.is_error and messages == []
