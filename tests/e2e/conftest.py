from collections.abc import AsyncIterator, Iterator

import pytest

from edfs_mcp.sandbox import SandboxServer
from tests.e2e.cli_in_process import Cli
from tests.harness import Session, serve, serve_in_process


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.state.reset()
    yield
    sandbox.state.faults.clear()


@pytest.fixture(scope="module")
async def admin(sandbox: SandboxServer) -> AsyncIterator[Session]:
    async with serve(sandbox, "admin") as session:
        yield session


@pytest.fixture(scope="module")
async def admin_in_process(sandbox: SandboxServer) -> AsyncIterator[Session]:
    """``admin``'s server built in this process: for modules about what tools say and do."""
    async with serve_in_process(sandbox, "admin") as session:
        yield session


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`edfs-mcp <command>` in this process (see cli_in_process)."""
    return Cli(monkeypatch)
