"""Argument checking ahead of the SDK, so a rejection reads as one plain sentence per argument.

The SDK would reject the same arguments, but with pydantic's report (model names, input echoes,
documentation links). Validating with the SDK's own argument model first keeps the rules identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.resolve import find_resolved_parameters
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata, func_metadata
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from edfs_mcp.messages import invalid_arguments
from edfs_mcp.tools._base import ToolSpec

__all__ = ["ArgumentCheck"]


class ArgumentCheck:
    """Server middleware: a tools/call with invalid arguments gets a clear error and reaches nothing."""

    def __init__(self, specs: Iterable[ToolSpec]) -> None:
        self._metadata: dict[str, FuncMetadata] = {
            # Context and resolver-filled parameters are not the caller's to send.
            spec.name: func_metadata(spec.fn, skip_names=["ctx", *find_resolved_parameters(spec.fn)])
            for spec in specs
        }

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params is not None:
            name = ctx.params.get("name")
            arguments = ctx.params.get("arguments") or {}
            metadata = self._metadata.get(name) if isinstance(name, str) else None
            if metadata is not None and isinstance(arguments, dict):
                try:
                    metadata.validate_arguments(arguments)
                except ValidationError as exc:
                    problems = [(".".join(map(str, err["loc"])), err["msg"]) for err in exc.errors()]
                    text = invalid_arguments(str(name), problems)
                    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        return await call_next(ctx)
