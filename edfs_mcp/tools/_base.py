"""What every tool module shares: the app context, the tool spec, result helpers."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from edfs_mcp.api import EdfsClient, WaitCallback
from edfs_mcp.render import render_payload
from edfs_mcp.results import ResultStore
from edfs_mcp.tools._outcome import first_cause
from edfs_mcp.untrusted import without_hidden

if TYPE_CHECKING:
    from edfs_mcp.system_page import SetupDesk

__all__ = [
    "AppContext",
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "app",
    "both",
    "heartbeat",
    "principal",
    "reply",
    "waiter",
]


@dataclass
class AppContext:
    """What the server's lifespan hands every tool call."""

    open_client: Callable[[], EdfsClient]
    results: ResultStore
    budget_tokens: int
    sandbox: bool
    # Next run times are shown in this zone; EDFS itself evaluates cron in UTC.
    zone: tzinfo = UTC
    _client: EdfsClient | None = None
    # EDFS_MCP_HTTP_AUTH=oauth: the API client of the person whose MCP token the call carries.
    client_for: Callable[[str], EdfsClient] | None = None
    # Between progress notifications while a tool call runs (EDFS_MCP_PROGRESS_SECONDS).
    progress_seconds: float = 5.0
    # EDFS_MCP_HTTP_AUTH=oauth: set_up_system's pages under the public URL (else on 127.0.0.1).
    setup_desk: SetupDesk | None = None

    @property
    def rows_budget(self) -> int:
        """Tokens the rows of a result may use: the budget less the other fields and the summary."""
        return max(self.budget_tokens - RESULT_OVERHEAD_TOKENS, 100)

    @property
    def client(self) -> EdfsClient:
        """The API client for this call: the signed-in person's (oauth), else the server's own."""
        if self.client_for is not None:
            subject = _person()
            if subject is None:
                from edfs_mcp.errors import AuthError
                from edfs_mcp.messages import remote_sign_in_missing

                raise AuthError(remote_sign_in_missing())
            return self.client_for(subject)
        # Made on first use, not at start: `initialize` is answered sooner (TLS contexts,
        # authlib and the HTTP pool cost ~80 ms) and a server that is only listed costs nothing.
        if self._client is None:
            self._client = self.open_client()
        return self._client

    async def aclose(self) -> None:
        await self.results.aclose()  # the SQL engine's process, a shared store's connections
        if self._client is not None:
            await self._client.aclose()


ToolContext = Context[AppContext, Any]
# What a result spends besides its rows (ids, columns, counts, the text summary); bench: ~200.
RESULT_OVERHEAD_TOKENS = 400


@dataclass(frozen=True)
class ToolSpec:
    """A tool: a plain async function (its docstring is the description) plus how to present it."""

    fn: Callable[..., Awaitable[Any]]
    title: str
    annotations: ToolAnnotations

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.fn.__doc__ or "")

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.read_only_hint)


def _person() -> str | None:
    """The person (Bentley's subject) the call's MCP access token was issued to, if any."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    return token.subject if token is not None and token.subject else None


def principal(ctx: ToolContext) -> str:
    """Who a cached result belongs to: the person signed in over MCP authorization (whatever MCP
    client they use), else the authenticated MCP client, else the MCP session (streamable HTTP,
    2025-11-25), else the one local client (stdio)."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    if token is not None and token.subject:
        return f"person:{token.subject}"
    if token is not None:
        return f"client:{token.client_id}"
    session = (ctx.headers or {}).get("mcp-session-id")
    return f"session:{session}" if session else "local"


def app(ctx: ToolContext) -> AppContext:
    return ctx.request_context.lifespan_context


def waiter(ctx: ToolContext) -> WaitCallback:
    """Progress notifications while the API client waits (429 back-off, retries)."""

    async def on_wait(seconds: float, why: str) -> None:
        await ctx.report_progress(0, None, f"{why}: waiting {seconds:.0f} s")

    return on_wait


@asynccontextmanager
async def heartbeat(ctx: ToolContext, what: str) -> AsyncIterator[None]:
    """Progress notifications every ``progress_seconds`` while the body (a whole tool call) runs.

    Only when the caller asked for progress: a task per call is not free (bench: ~55 µs).
    """
    meta = ctx.request_context.meta or {}
    if "progress_token" not in meta and "progressToken" not in meta:
        yield
        return

    every = app(ctx).progress_seconds

    async def beat() -> None:
        started = time.monotonic()
        while True:
            await anyio.sleep(every)
            elapsed = time.monotonic() - started
            await ctx.report_progress(elapsed, None, f"{what}: {elapsed:.0f} s so far")

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(beat)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
    except BaseExceptionGroup as group_error:
        # Only the body can fail (beat() just sleeps and reports): re-raise its own exception.
        raise first_cause(group_error) from None


class ToolResult(BaseModel):
    """What every tool returns: its payload plus ``summary``, the counts, hints and next steps in words."""

    # No description: the name says it, and every output schema would pay for one.
    summary: str = ""


def reply(result: ToolResult, summary: str) -> CallToolResult:
    """The result twice, complete both times: as text for clients that forward only the text, and as
    ``structuredContent`` (validated against the outputSchema) for those that forward that."""
    result.summary = summary
    # The last line of defence: whatever upstream string reached the model, no hidden characters.
    payload: dict[str, Any] = without_hidden(result.model_dump(mode="json"))
    return CallToolResult(
        content=[TextContent(type="text", text=render_payload(payload))],
        structured_content=payload,
    )


A = TypeVar("A")
B = TypeVar("B")


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Two awaitables at once, e.g. a request and the iTwin name its result shows. A failure is
    raised as itself, not inside an ExceptionGroup, so the callers' ``except`` clauses still match."""
    done: dict[int, Any] = {}

    async def run(index: int, awaitable: Awaitable[Any]) -> None:
        done[index] = await awaitable

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(run, 1, second)
            await run(0, first)
    except BaseExceptionGroup as group_error:
        raise first_cause(group_error) from None
    return done[0], done[1]
