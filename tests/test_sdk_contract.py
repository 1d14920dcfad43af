"""What edfs-mcp relies on in the MCP SDK beyond its documented API, checked so an upgrade fails here,
loudly and by name, instead of silently changing what a model reads.

``tools.ArgumentCheck`` turns the SDK's pydantic report on bad arguments into one sentence per
argument. It relies on three things the SDK does not promise (the ``mcp<2.4`` pin guards them):

1. the SDK reports bad arguments as a tool result with ``isError`` (not a JSON-RPC error), which
   passes back through server middleware;
2. ``func_metadata(fn, skip_names=["ctx", *find_resolved_parameters(fn)])`` builds the same argument
   model the SDK validates with (so the check agrees with the SDK on what is wrong);
3. the SDK's own text is pydantic's report, which is what the middleware replaces.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.server.mcpserver.resolve import find_resolved_parameters
from mcp.server.mcpserver.utilities.func_metadata import func_metadata

from edfs_mcp.config import Settings
from edfs_mcp.server import build_server
from edfs_mcp.tools import all_tools
from tests.harness import text_of

pytestmark = pytest.mark.anyio


async def test_the_sdk_reports_bad_arguments_as_an_error_result_with_pydantics_report() -> None:
    bare: MCPServer[Any] = MCPServer("bare")

    @bare.tool()
    async def add(count: int) -> int:
        return count + 1

    async with Client(bare) as client:
        result = await client.call_tool("add", {"count": "many"})
    assert result.is_error, "the SDK no longer answers bad arguments with an isError result"
    text = text_of(result)
    assert "validation error" in text, f"the SDK's report changed shape: {text!r}"
    assert "count" in text


@pytest.fixture(scope="module")
async def sdk_schemas() -> dict[str, dict[str, Any]]:
    """Each tool's input schema as the SDK built it, from one server (registering the tools is most of
    a server's cost, and each case only reads its own tool's schema)."""
    server = build_server(Settings(sandbox=True))
    server.register_tools()
    return {tool.name: tool.input_schema for tool in await MCPServer.list_tools(server)}


@pytest.mark.parametrize("spec", all_tools(), ids=lambda spec: spec.name)
async def test_the_argument_model_rebuilt_for_the_check_is_the_one_the_sdk_validates_with(
    spec: Any, sdk_schemas: dict[str, dict[str, Any]]
) -> None:
    rebuilt = func_metadata(spec.fn, skip_names=["ctx", *find_resolved_parameters(spec.fn)])
    assert rebuilt.arg_model.model_json_schema(by_alias=True) == sdk_schemas[spec.name]


async def test_a_bad_argument_reaches_the_model_as_our_sentence_not_pydantics_report() -> None:
    async with Client(build_server(Settings(sandbox=True))) as client:
        result = await client.call_tool("list_timers", {"itwin_id": 42, "package": ["x"]})
    text = text_of(result)
    assert result.is_error
    assert "validation error" not in text and "pydantic" not in text, text
    assert "itwin_id" in text, text
