"""SandboxServer: a real port, start/stop, context manager, several at once."""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, SandboxState


def test_port_zero_gets_a_real_port_and_stop_closes_it() -> None:
    server = SandboxServer().start()
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert (
            httpx2.get(f"{server.base_url}/.well-known/openid-configuration").json()["issuer"]
            == server.base_url
        )
    finally:
        server.stop()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{server.base_url}/.well-known/openid-configuration")


def test_two_servers_share_a_state_when_given_one() -> None:
    state = SandboxState()
    with SandboxServer(state=state) as one, SandboxServer(state=state) as two:
        assert one.port != two.port
        assert one.state is two.state is state
        httpx2.get(f"{one.base_url}/itwins/")
        httpx2.get(f"{two.base_url}/itwins/")
    assert [path for _, path in state.requests] == ["/itwins/", "/itwins/"]


def test_starting_twice_is_an_error() -> None:
    with SandboxServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()
