"""What the views add to the server, and that EDFS_MCP_APPS=false takes it all away again.

Clients without MCP Apps get the same tools (with one ``_meta.ui.resourceUri`` on the tools whose
result opens a view), the same text and the same structuredContent.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND, TextResourceContents

from edfs_mcp.config import Settings, settings_in
from edfs_mcp.server import build_server
from edfs_mcp.views import OPENS_VIEW, VIEW_FILES

pytestmark = pytest.mark.anyio

EXTENSION = "io.modelcontextprotocol/ui"


async def _tools(apps: bool) -> dict[str, dict[str, Any]]:
    async with Client(build_server(Settings(sandbox=True, apps=apps))) as client:
        listing = await client.list_tools()
    return {
        tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listing.tools
    }


async def test_the_views_add_only_a_resource_uri_to_the_tools_that_open_one() -> None:
    with_views, without = await _tools(True), await _tools(False)
    assert set(with_views) == set(without) and set(OPENS_VIEW) <= set(with_views)
    for name, tool in with_views.items():
        meta = tool.pop("_meta", None)
        assert meta == ({"ui": {"resourceUri": OPENS_VIEW[name]}} if name in OPENS_VIEW else None), name
        assert tool == without[name], name  # nothing else differs; no app-only tool either
    assert all("_meta" not in tool for tool in without.values())


async def test_views_are_served_as_mcp_app_resources_with_no_origin_allowed() -> None:
    async with Client(build_server(Settings(sandbox=True))) as client:
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.resources is not None
        assert (capabilities.extensions or {}).get(EXTENSION) == {}
        listed = (await client.list_resources()).resources
        assert {str(r.uri) for r in listed} == set(VIEW_FILES)
        for resource in listed:
            assert resource.mime_type == "text/html;profile=mcp-app"
            csp = (resource.meta or {})["ui"]["csp"]
            assert csp == {
                "connectDomains": [],
                "resourceDomains": [],
                "frameDomains": [],
                "baseUriDomains": [],
            }
            (content,) = (await client.read_resource(str(resource.uri))).contents
            assert isinstance(content, TextResourceContents) and content.text.startswith("<!doctype html>")
            assert content.mime_type == "text/html;profile=mcp-app" and content.meta == resource.meta
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ui://edfs-mcp/nothing.html")
        assert caught.value.error.code == INVALID_PARAMS


async def test_edfs_mcp_apps_false_serves_no_views() -> None:
    settings = settings_in({"EDFS_MCP_APPS": "false"})
    assert settings.apps is False and settings_in({}).apps is True
    async with Client(build_server(settings)) as client:
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.resources is None and not capabilities.extensions
        with pytest.raises(MCPError) as caught:
            await client.list_resources()
        assert caught.value.error.code == METHOD_NOT_FOUND
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ui://edfs-mcp/result.html")
        assert caught.value.error.code == INVALID_PARAMS


async def test_tool_results_are_the_same_with_and_without_views() -> None:
    results = []
    for apps in (True, False):
        async with Client(build_server(Settings(sandbox=True, apps=apps))) as client:
            result = await client.call_tool("list_integration_packages", {})
        assert not result.is_error
        results.append((result.content, result.structured_content))
    assert results[0] == results[1]
