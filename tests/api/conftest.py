"""The API client against real servers in this process: the sandbox on loopback, or a hostile one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from edfs_mcp.api import EdfsClient, Timeouts
from edfs_mcp.api._http import DEFAULT_MAX_RESPONSE_BYTES, HttpSession
from edfs_mcp.auth import ClientCredentialsSource, StaticTokenSource
from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Waits


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture
def fresh(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    sandbox.state.reset()
    yield sandbox
    sandbox.state.faults.clear()


TIMEOUTS = Timeouts(connect=5, read=10, long_read=10)


@asynccontextmanager
async def sandbox_client(
    sandbox: SandboxServer, waits: Waits, *, max_rate_limit_wait: float = 60, timeouts: Timeouts = TIMEOUTS
) -> AsyncIterator[EdfsClient]:
    tokens = ClientCredentialsSource(
        token_endpoint=f"{sandbox.base_url}/connect/token",
        client_id=seed.CLIENT_ADMIN_ID,
        client_secret=seed.CLIENT_ADMIN_SECRET,
        scope="itwin-platform",
    )
    client = EdfsClient(
        api_base=sandbox.base_url,
        tokens=tokens,
        timeouts=timeouts,
        max_rate_limit_wait=max_rate_limit_wait,
        sleep=waits,
    )
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def session_at(
    url: str,
    waits: Waits,
    *,
    timeouts: Timeouts = TIMEOUTS,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    max_rate_limit_wait: float = 60,
) -> AsyncIterator[HttpSession]:
    session = HttpSession(
        base_url=url,
        tokens=StaticTokenSource("token"),
        timeouts=timeouts,
        max_rate_limit_wait=max_rate_limit_wait,
        max_response_bytes=max_response_bytes,
        sleep=waits,
    )
    try:
        yield session
    finally:
        await session.aclose()
