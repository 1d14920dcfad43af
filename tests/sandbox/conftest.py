"""One sandbox on loopback for the whole session; seed data restored before every test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer
from tests.sandbox.helpers import CREDENTIALS, Api, fetch_token
from tests.sandbox.oauth_helpers import FakeClock


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_state(server: SandboxServer) -> Iterator[None]:
    server.state.reset()
    server.state.oauth.clear()  # reset() keeps issued grants; tests start with none
    yield
    server.state.faults.clear()
    server.state.oauth.clock = time.time


@pytest.fixture
def clock(server: SandboxServer) -> FakeClock:
    """Device codes, authorization codes and refresh tokens expire by this clock; move it by hand."""
    fake = FakeClock()
    server.state.oauth.clock = fake
    return fake


@pytest.fixture(scope="session")
def http(server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def tokens(http: httpx2.Client) -> dict[str, str]:
    # Tokens outlive state.reset(): the signing key belongs to the state object, not to the seed.
    return {who: fetch_token(http, who) for who in CREDENTIALS}


@pytest.fixture
def admin(http: httpx2.Client, tokens: dict[str, str]) -> Api:
    return Api(http, tokens["admin"])


@pytest.fixture
def operator(http: httpx2.Client, tokens: dict[str, str]) -> Api:
    return Api(http, tokens["operator"])


@pytest.fixture
def viewer(http: httpx2.Client, tokens: dict[str, str]) -> Api:
    return Api(http, tokens["viewer"])


@pytest.fixture
def harbor(http: httpx2.Client, tokens: dict[str, str]) -> Api:
    return Api(http, tokens["harbor"])


@pytest.fixture
def anonymous(http: httpx2.Client) -> Api:
    return Api(http, None)
