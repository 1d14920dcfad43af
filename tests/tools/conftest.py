"""In-process tool tests: a real mcp.Client over the SDK's in-memory transport, against a server on
the embedded sandbox (served over HTTP inside the process), signed in as its Org Admin."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import SandboxServer
from edfs_mcp.server import build_server
from tests.e2e.harness import IDENTITIES
from tests.text_checks import missing_from_text


class Tools:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        """Call a tool that must succeed: (structured content, text); the text carries it all."""
        result = await self.client.call_tool(name, arguments or {})
        text = text_of(result)
        assert not result.is_error, text
        assert result.structured_content is not None
        assert missing_from_text(result.structured_content, text) == [], text[:2000]
        return result.structured_content, text

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        result = await self.client.call_tool(name, arguments or {})
        assert result.is_error, f"expected an error, got {result.structured_content}"
        return text_of(result)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
async def tools() -> AsyncIterator[Tools]:
    async with Client(build_server(Settings(sandbox=True))) as client:
        yield Tools(client)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@asynccontextmanager
async def tools_as(sandbox: SandboxServer, identity: str) -> AsyncIterator[Tools]:
    """The server in this process, signed in to the loopback sandbox as a service client of ``identity``."""
    client_id, secret = IDENTITIES[identity]
    settings = Settings(
        api_base=sandbox.base_url, authority=sandbox.base_url, client_id=client_id, client_secret=secret
    )
    async with Client(build_server(settings)) as client:
        yield Tools(client)
