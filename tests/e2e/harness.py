"""Drive `edfs-mcp serve` as a subprocess over stdio with a real mcp.Client.

The server talks to the sandbox served over loopback HTTP.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from mcp import Client, StdioServerParameters
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from edfs_mcp.sandbox import SandboxServer, seed
from tests.text_checks import missing_from_text

IDENTITIES = {
    "admin": (seed.CLIENT_ADMIN_ID, seed.CLIENT_ADMIN_SECRET),
    "operator": (seed.CLIENT_OPERATOR_ID, seed.CLIENT_OPERATOR_SECRET),
    "viewer": (seed.CLIENT_VIEWER_ID, seed.CLIENT_VIEWER_SECRET),
    "harbor": (seed.CLIENT_HARBOR_ADMIN_ID, seed.CLIENT_HARBOR_ADMIN_SECRET),
}

# The servers' stderr, kept for the test to read after the session ends; removed when the run ends.
_STDERR_LOGS = Path(tempfile.mkdtemp(prefix="edfs-mcp-test-stderr-"))
atexit.register(shutil.rmtree, _STDERR_LOGS, ignore_errors=True)


def server_env(
    sandbox: SandboxServer, identity: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a server process: nothing inherited from EDFS_MCP_*, then ours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EDFS_MCP_")}
    env["EDFS_MCP_API_BASE"] = sandbox.base_url
    env["EDFS_MCP_AUTHORITY"] = sandbox.base_url
    env["EDFS_MCP_LOG_LEVEL"] = "DEBUG"
    if identity is not None:
        client_id, secret = IDENTITIES[identity]
        env["EDFS_MCP_CLIENT_ID"] = client_id
        env["EDFS_MCP_CLIENT_SECRET"] = secret
    env.update(extra or {})
    return env


@dataclass
class Session:
    client: Client
    stderr_path: Path

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return await self.client.call_tool(name, arguments or {})

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed; return its structured content."""
        result = await self.call(name, arguments)
        text = text_of(result)
        assert not result.is_error, text
        assert result.structured_content is not None
        # Clients forward one field or the other: the text must carry the payload too, not as JSON.
        assert not text.lstrip().startswith(("{", "[")), text[:200]
        assert missing_from_text(result.structured_content, text) == [], text[:2000]
        structured: dict[str, Any] = result.structured_content
        return structured

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool that must fail; return the error text the model sees."""
        result = await self.call(name, arguments)
        assert result.is_error, f"expected an error, got {result.structured_content}"
        return text_of(result)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@asynccontextmanager
async def serve(
    sandbox: SandboxServer,
    identity: str | None = "admin",
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    elicitation_callback: ElicitationFnT | None = None,
    mode: str = "auto",
) -> AsyncIterator[Session]:
    """``mode``: "auto" negotiates the newest protocol (2026-07-28); "legacy" forces 2025-11-25."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "edfs_mcp", "serve", *args],
        env=server_env(sandbox, identity, env),
    )
    with tempfile.NamedTemporaryFile("w+", dir=_STDERR_LOGS, suffix=".log", delete=False) as errlog:
        path = Path(errlog.name)
        try:
            async with Client(
                stdio_client(params, errlog=cast(TextIO, errlog)),
                read_timeout_seconds=60,
                elicitation_callback=elicitation_callback,
                mode=mode,
            ) as client:
                yield Session(client, path)
        finally:
            errlog.flush()
