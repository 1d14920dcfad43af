"""Every failure of a tool call becomes words for the model, and after a write, the write's outcome.

A failure is returned as an error result carrying only our text (no SDK prefix).

This is the one place that decides it. A call runs inside a write journal (api.sent_writes):
when it fails after a write request left this machine, whatever the failure (an unreadable
answer, a nesting too deep, a malformed re-read, a bug of ours), the model is told what
became of the write and not to repeat it blindly. Never a bare "Error executing tool".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

from edfs_mcp import messages
from edfs_mcp.api import sent_writes
from edfs_mcp.errors import ApiError, EdfsMcpError, OutcomeUnknown

__all__ = ["failed", "first_cause", "reporting_outcomes"]

logger = logging.getLogger("edfs_mcp.tools")


def first_cause(error: BaseException) -> BaseException:
    """The exception that matters in ``error``: inside task-group wrappers, the first of ours
    (an EdfsMcpError or a ToolError), else the first one."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    leaves = [first_cause(inner) for inner in error.exceptions]
    ours = [leaf for leaf in leaves if isinstance(leaf, EdfsMcpError | ToolError)]
    return (ours or leaves)[0]


def failed(text: str) -> CallToolResult:
    """A failed call in our words alone. A raised ToolError would reach the model as "Error executing
    tool <name>: …" (both protocol eras); the tool's name is known to the model already."""
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


async def reporting_outcomes(call: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``call``; any failure becomes an error result whose text a model can act on."""
    with sent_writes() as journal:
        try:
            return await call()
        except Exception as raised:
            error = first_cause(raised)
            if isinstance(error, MCPError):
                raise error from None  # a protocol-level answer (e.g. URL elicitation required)
            if isinstance(error, ToolError):
                return failed(str(error))  # our own words already
            last = journal.writes[-1] if journal.writes else None
            if isinstance(error, EdfsMcpError):
                about_the_write = isinstance(error, ApiError | OutcomeUnknown) and (
                    last is None or error.operation == last.operation
                )
                if last is None or about_the_write:
                    return failed(messages.describe(error))
                return failed(messages.after_write(last.operation, last.status, messages.describe(error)))
            if not isinstance(error, Exception):
                raise
            logger.warning("tool call failed unexpectedly: %s", type(error).__name__, exc_info=error)
            reason = messages.reason_of(error)
            if last is not None:
                return failed(messages.after_write(last.operation, last.status, reason))
            return failed(messages.unexpected_failure(reason))
