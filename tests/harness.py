"""The one test harness: the tool-calling facade (``Session``: ``ok``, ``error``), ``text_of``,
``wait_for``, and a server's environment (``clean_env``, on config's ``environment_without_settings``).

It drives `edfs-mcp serve` as a subprocess over stdio with a real mcp.Client (``serve``), or the same
server built in this process (``serve_in_process``, ``serve_settings``) when the process itself is not
what a test looks at. The server talks to the sandbox served over loopback HTTP.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

import anyio
import anyio.lowlevel
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from edfs_mcp.config import Settings, environment_without_settings, settings_in
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from tests.text_checks import missing_from_text

IDENTITIES = {
    "admin": (seed.CLIENT_ADMIN_ID, seed.CLIENT_ADMIN_SECRET),
    "operator": (seed.CLIENT_OPERATOR_ID, seed.CLIENT_OPERATOR_SECRET),
    "viewer": (seed.CLIENT_VIEWER_ID, seed.CLIENT_VIEWER_SECRET),
    "harbor": (seed.CLIENT_HARBOR_ADMIN_ID, seed.CLIENT_HARBOR_ADMIN_SECRET),
}

# The servers' stderr, kept for the test to read after the session ends; removed when the run ends.
_STDERR_LOGS = Path(tempfile.mkdtemp(prefix="edfs-mcp-test-stderr-"))
atexit.register(shutil.rmtree, _STDERR_LOGS, ignore_errors=True)


@functools.cache
def _encoding() -> Any:
    # Imported here, not at the top of a test module: bpe_openai loads its ranks on import (1-2 s),
    # and every xdist worker imports every test module, while only a few tests count tokens.
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


def token_count(text: str) -> int:
    """How many cl100k_base tokens ``text`` is (the tokenizer the token budgets are measured with)."""
    return len(_encoding().encode(text))


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without EDFS_MCP_* settings (config's own rule), plus ``extra``."""
    return {**environment_without_settings(), **(extra or {})}


def drop_settings(patch: pytest.MonkeyPatch) -> None:
    """Take every EDFS_MCP_* setting out of this process's environment (config's own rule), undone
    with ``patch``."""
    kept = environment_without_settings()
    for name in [name for name in os.environ if name not in kept]:
        patch.delenv(name)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds:g} s waiting for {what}"
        time.sleep(0.02)


class Waits:
    """A retry loop's ``sleep`` that records each wait and returns at once: nothing really waits."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await anyio.lowlevel.checkpoint()


def server_env(
    sandbox: SandboxServer, identity: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a server process: nothing inherited from EDFS_MCP_*, then ours."""
    env = clean_env()
    env["EDFS_MCP_API_BASE"] = sandbox.base_url
    env["EDFS_MCP_AUTHORITY"] = sandbox.base_url
    env["EDFS_MCP_LOG_LEVEL"] = "DEBUG"
    if identity is not None:
        client_id, secret = IDENTITIES[identity]
        env["EDFS_MCP_CLIENT_ID"] = client_id
        env["EDFS_MCP_CLIENT_SECRET"] = secret
    env.update(extra or {})
    return env


@dataclass
class Session:
    """A connected mcp.Client, called the way every tool test calls one."""

    client: Client
    stderr_path: Path | None = None  # None: the server runs in this process, with no stderr of its own

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return await self.client.call_tool(name, arguments or {})

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        """Call a tool that must succeed: (structured content, text); the text carries it all."""
        result = await self.call(name, arguments)
        text = text_of(result)
        assert not result.is_error, text
        assert result.structured_content is not None
        # Clients forward one field or the other: the text must carry the payload too, not as JSON.
        assert not text.lstrip().startswith(("{", "[")), text[:200]
        assert missing_from_text(result.structured_content, text) == [], text[:2000]
        structured: dict[str, Any] = result.structured_content
        return structured, text

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool that must fail; return the error text the model sees."""
        result = await self.call(name, arguments)
        assert result.is_error, f"expected an error, got {result.structured_content}"
        return text_of(result)

    def stderr(self) -> str:
        assert self.stderr_path is not None, "a server in this process has no stderr: use serve()"
        return self.stderr_path.read_text(errors="replace")


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@asynccontextmanager
async def serve(
    sandbox: SandboxServer,
    identity: str | None = "admin",
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    elicitation_callback: ElicitationFnT | None = None,
    mode: str = "auto",
) -> AsyncIterator[Session]:
    """``mode``: "auto" negotiates the newest protocol (2026-07-28); "legacy" forces 2025-11-25."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "edfs_mcp", "serve", *args],
        env=server_env(sandbox, identity, env),
    )
    with tempfile.NamedTemporaryFile("w+", dir=_STDERR_LOGS, suffix=".log", delete=False) as errlog:
        path = Path(errlog.name)
        try:
            async with Client(
                stdio_client(params, errlog=cast(TextIO, errlog)),
                read_timeout_seconds=60,
                elicitation_callback=elicitation_callback,
                mode=mode,
            ) as client:
                yield Session(client, path)
        finally:
            errlog.flush()


@asynccontextmanager
async def serve_in_process(
    sandbox: SandboxServer,
    identity: str | None = "admin",
    *,
    env: Mapping[str, str] | None = None,
    elicitation_callback: ElicitationFnT | None = None,
    mode: str = "auto",
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Session]:
    """``serve``'s server built in this process (build_server with the settings of the same environment,
    as `edfs-mcp serve` builds it), with a real mcp.Client over the SDK's in-memory transport.

    For what a tool says and does. What only a real process shows (stdout as the MCP wire, stderr,
    signals, exit codes, processes sharing a token store) stays with ``serve``."""
    settings = settings_in(server_env(sandbox, identity, env))
    async with serve_settings(
        settings,
        read_only=settings.read_only,
        elicitation_callback=elicitation_callback,
        mode=mode,
        sleep=sleep,
    ) as session:
        yield session


@asynccontextmanager
async def serve_settings(
    settings: Settings,
    *,
    read_only: bool = False,
    elicitation_callback: ElicitationFnT | None = None,
    mode: str = "auto",
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Session]:
    """``build_server(settings)`` in this process, with a real mcp.Client over the in-memory transport.
    ``sleep``: what the API client's retry loop waits with (``Waits`` records the waits instead)."""
    async with Client(
        build_server(settings, read_only=read_only, sleep=sleep),
        read_timeout_seconds=60,
        elicitation_callback=elicitation_callback,
        mode=mode,
    ) as client:
        yield Session(client)
