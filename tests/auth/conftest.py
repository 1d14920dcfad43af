"""One sandbox on loopback for these tests; its state and grants restored around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edfs_mcp.sandbox import SandboxServer


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    if "sandbox" not in request.fixturenames:
        yield
        return
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    sandbox.state.reset()
    sandbox.state.oauth.clear()
    yield
    sandbox.state.oauth.clear()  # also restores the device interval answer
    sandbox.state.reset()
