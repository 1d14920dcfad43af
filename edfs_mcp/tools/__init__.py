"""The tools, grouped into toolsets, and their registration on an MCPServer.

One module per API domain; a tool is a plain async function plus its ToolSpec.
Every failure a tool lets escape becomes a ToolError with words from ``messages``, and
after a write, the write's outcome (``_outcome.reporting_outcomes``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer

from edfs_mcp.errors import SignInRequired
from edfs_mcp.tools import execution, itwins, odata, packages, query, roles, systems, timers
from edfs_mcp.tools._base import AppContext, ToolSpec, heartbeat
from edfs_mcp.tools._outcome import reporting_outcomes
from edfs_mcp.tools._schema import compact_schema
from edfs_mcp.tools._sign_in import finish_sign_in_in_chat
from edfs_mcp.tools._validation import ArgumentCheck

__all__ = [
    "TOOLSETS",
    "AppContext",
    "ArgumentCheck",
    "ToolSpec",
    "all_tools",
    "compact_schema",
    "register_tools",
    "select_tools",
]

TOOLSETS: dict[str, list[ToolSpec]] = {
    "itwins": itwins.TOOLS,
    "packages": packages.TOOLS + execution.TOOLS + query.TOOLS,
    "odata": odata.TOOLS,
    "timers": timers.TOOLS,
    "systems": systems.TOOLS,
    "roles": roles.TOOLS,
}


def all_tools() -> list[ToolSpec]:
    return [spec for specs in TOOLSETS.values() for spec in specs]


def select_tools(
    *, read_only: bool = False, include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[ToolSpec]:
    """The tools to serve. Unknown names raise ValueError naming them, so typos fail at start."""
    specs = all_tools()
    known = {spec.name for spec in specs}
    include, exclude = set(include), set(exclude)
    unknown = sorted((include | exclude) - known)
    if unknown:
        raise ValueError(f"unknown tool name(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [
        spec
        for spec in specs
        if (not read_only or spec.read_only)
        and (not include or spec.name in include)
        and spec.name not in exclude
    ]


def _translating(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get("ctx")

        async def call() -> Any:
            try:
                return await fn(*args, **kwargs)
            except SignInRequired as needed:
                if ctx is None:
                    raise
                return await finish_sign_in_in_chat(ctx, needed, lambda: fn(*args, **kwargs))

        if ctx is None:
            return await reporting_outcomes(call)
        # Every call, not only package runs: a client that asked for progress hears from a call
        # that waits on EDFS (retries, 429s, a slow answer) instead of timing out in silence.
        async with heartbeat(ctx, fn.__name__):
            return await reporting_outcomes(call)

    return wrapper


def register_tools(
    server: MCPServer[Any],
    specs: Iterable[ToolSpec],
    meta: Callable[[str], dict[str, Any] | None] = lambda _: None,
) -> None:
    """``meta``: a tool's ``_meta`` by name (the MCP Apps view its result opens, edfs_mcp.views)."""
    for spec in specs:
        server.add_tool(
            _translating(spec.fn),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            meta=meta(spec.name),
        )
