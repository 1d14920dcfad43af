"""In-process tool tests: a real mcp.Client over the SDK's in-memory transport, against a server on
the embedded sandbox (served over HTTP inside the process), signed in as its Org Admin."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import SandboxServer
from tests.harness import IDENTITIES, Session, serve_settings


@pytest.fixture
async def tools() -> AsyncIterator[Session]:
    async with serve_settings(Settings(sandbox=True)) as session:
        yield session


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@asynccontextmanager
async def tools_as(sandbox: SandboxServer, identity: str) -> AsyncIterator[Session]:
    """The server in this process, signed in to the loopback sandbox as a service client of ``identity``."""
    client_id, secret = IDENTITIES[identity]
    settings = Settings(
        api_base=sandbox.base_url, authority=sandbox.base_url, client_id=client_id, client_secret=secret
    )
    async with serve_settings(settings) as session:
        yield session
