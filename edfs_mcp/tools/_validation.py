"""Argument rejections in plain words: one sentence per argument.

The SDK rejects bad arguments with pydantic's report (model names, input echoes, documentation
links). When a call fails, its arguments are checked again with the same rules (the SDK's own
argument model) and, if they are the cause, the report is replaced by a clear sentence each.
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
    """Server middleware: a tools/call rejected for its arguments gets a clear error instead."""

    def __init__(self, specs: Iterable[ToolSpec]) -> None:
        self._specs = {spec.name: spec for spec in specs}
        # Built on a tool's first call, not at start (the SDK already built its own copy).
        self._metadata: dict[str, FuncMetadata] = {}

    def _metadata_of(self, name: str) -> FuncMetadata | None:
        if name not in self._metadata and name in self._specs:
            fn = self._specs[name].fn
            # Context and resolver-filled parameters are not the caller's to send.
            self._metadata[name] = func_metadata(fn, skip_names=["ctx", *find_resolved_parameters(fn)])
        return self._metadata.get(name)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        # Only failed calls are checked again, so a successful call pays nothing: when the
        # SDK rejected the arguments, nothing ran, and the same rules now give the words.
        if ctx.method != "tools/call" or ctx.params is None or not _is_error(result):
            return result
        name = ctx.params.get("name")
        arguments = ctx.params.get("arguments") or {}
        metadata = self._metadata_of(name) if isinstance(name, str) else None
        if metadata is None or not isinstance(arguments, dict):
            return result
        try:
            metadata.validate_arguments(arguments)
        except ValidationError as exc:
            problems = [(".".join(map(str, err["loc"])), err["msg"]) for err in exc.errors()]
            text = invalid_arguments(str(name), problems)
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        return result


def _is_error(result: HandlerResult) -> bool:
    if isinstance(result, CallToolResult):
        return bool(result.is_error)
    return isinstance(result, dict) and bool(result.get("isError") or result.get("is_error"))
