from collections.abc import Iterator

import pytest

from edfs_mcp.sandbox import SandboxServer
from tests.scale.parts import RedisServer, redis_server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: SandboxServer) -> None:
    sandbox.state.reset()


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running
