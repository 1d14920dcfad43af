"""build_server(settings) → a ready MCPServer. The lifespan owns the API client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

from mcp.server.mcpserver import MCPServer
from mcp.types import Tool

from edfs_mcp._version import __version__
from edfs_mcp.backend import open_client
from edfs_mcp.config import CredentialSource, Settings
from edfs_mcp.results import ResultStore
from edfs_mcp.tools import AppContext, register_tools, select_tools
from edfs_mcp.tools._schema import compact_schema
from edfs_mcp.tools._validation import ArgumentCheck

__all__ = ["EdfsServer", "build_server"]

INSTRUCTIONS = """\
Bentley iTwin EDFS: run integration packages (SAP, Maximo, SQL, SharePoint...) for an iTwin and manage \
the timers that run them on a schedule.
Typical flow: find_itwins (name → itwin_id) → list_integration_packages → get_integration_package \
(variables; with itwin_id also the systems it needs) → execute_integration_package. Big results come \
back as a preview plus result_id: page with read_execution_result, never by running again. \
list_timers shows schedules; set_timer_enabled reaches a definite state, toggle_timer flips. \
Running a package may change the connected system: confirm with the user before running or repeating one."""

SANDBOX_NOTE = """
This server is connected to the built-in EDFS SANDBOX: an emulator with made-up demo data, not \
Bentley's service. Say so when you report results; nothing here touches real systems."""


class EdfsServer(MCPServer[AppContext]):
    """MCPServer whose tools/list shows compact schemas."""

    async def list_tools(self) -> list[Tool]:
        return [
            tool.model_copy(
                update={
                    "input_schema": compact_schema(tool.input_schema),
                    "output_schema": compact_schema(tool.output_schema, output=True),
                }
            )
            for tool in await super().list_tools()
        ]


def build_server(
    settings: Settings,
    *,
    read_only: bool = False,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> EdfsServer:
    """The MCP server for ``settings``. Raises ConfigError/ValueError for bad settings, before serving."""
    sandbox = settings.credential_source() is CredentialSource.SANDBOX
    specs = select_tools(read_only=read_only, include=include, exclude=exclude)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[AppContext]:
        context = AppContext(
            open_client=lambda: open_client(settings),
            results=ResultStore(),
            budget_tokens=settings.result_budget_tokens,
            sandbox=sandbox,
            zone=ZoneInfo(settings.timezone),
        )
        try:
            yield context
        finally:
            await context.aclose()

    server = EdfsServer(
        "edfs-mcp",
        title="Bentley iTwin EDFS",
        version=__version__,
        instructions=INSTRUCTIONS + (SANDBOX_NOTE if sandbox else ""),
        lifespan=lifespan,
        log_level=settings.log_level,
        middleware=[ArgumentCheck(specs)],
    )
    register_tools(server, specs)
    return server
