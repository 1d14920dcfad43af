"""MCP over stdio, answering the lines that are not JSON-RPC messages.

The SDK's stdio transport turns such a line into an exception on the server's read stream, which
the server logs at DEBUG and drops: the client waits for an answer that never comes. JSON-RPC 2.0
answers it, with id null: -32700 (Parse error) for a line that is not JSON, -32600 (Invalid
Request) for JSON that is not a message. The SDK has no hook for it, so the read stream is wrapped
here; the server then reads the next line as usual. A blank line is no message and is not answered.
"""

from __future__ import annotations

import contextvars
import logging
from types import TracebackType
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import ReadStream, WriteStream  # the SDK's own stream types
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["answer_to_bad_line", "serve_stdio"]

logger = logging.getLogger(__name__)


def answer_to_bad_line(error: ValidationError) -> JSONRPCError | None:
    """The JSON-RPC error answering the line ``error`` rejected; None for a blank line."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        if isinstance(first["input"], str) and not first["input"].strip():
            return None
        code, message = PARSE_ERROR, "Parse error: the line is not JSON"
    else:
        code, message = INVALID_REQUEST, "Invalid Request: the line is JSON but not a JSON-RPC 2.0 message"
    return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=code, message=message))


class _AnsweringBadLines:
    """The server's read stream: messages pass through; a bad line is answered and skipped."""

    def __init__(
        self, lines: ReadStream[SessionMessage | Exception], answers: WriteStream[SessionMessage]
    ) -> None:
        self._lines, self._answers = lines, answers

    @property
    def last_context(self) -> contextvars.Context | None:  # the SDK runs handlers in the sender's context
        return getattr(self._lines, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._lines.receive()
            if not isinstance(item, ValidationError):
                return item
            answer = answer_to_bad_line(item)
            if answer is not None:
                logger.warning("stdio: a line that is no message, answered: %s", answer.error.message)
                await self._answers.send(SessionMessage(answer))

    async def aclose(self) -> None:
        await self._lines.aclose()

    def __aiter__(self) -> _AnsweringBadLines:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _AnsweringBadLines:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def serve_stdio(server: MCPServer[Any]) -> None:
    """``server.run("stdio")``, with bad lines answered."""
    async with stdio_server() as (lines, answers):
        lowlevel = server._lowlevel_server  # as MCPServer.run_stdio_async does
        await lowlevel.run(
            _AnsweringBadLines(lines, answers), answers, lowlevel.create_initialization_options()
        )
