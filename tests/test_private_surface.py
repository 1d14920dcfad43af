"""Every private of the MCP SDK and uvicorn that edfs-mcp uses, pinned by name and signature.

An upgrade that renames, removes or reshapes one fails here, naming it, instead of silently losing
a protection (session and connection caps, the 401's scope, the unserved prompt/resource methods).
pyproject bounds both packages (``mcp<2.4``, ``uvicorn<0.56``) to the versions this was checked on.

| private | used by | for |
|---|---|---|
| ``MCPServer._lowlevel_server`` | server.py, http_transport.py | the handler table; the session manager |
| ``Server._request_handlers`` | server.py | not serving prompts/resources methods |
| ``StreamableHTTPSessionManager._handle_stateful_request`` and 3 more | http_transport.py | session cap |
| ``RequireAuthMiddleware._send_auth_error`` | remote/app.py | the 401 names the scope |
| ``H11Protocol`` hooks; ``conn``, ``cycle``, ``transport`` | http_transport.py | connection cap |
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from mcp.server import MCPServer
from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from uvicorn.protocols.http.h11_impl import H11Protocol

from edfs_mcp.http_transport import BoundedH11Protocol, BoundedSessionManager
from edfs_mcp.remote.app import ChallengingGate


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_lowlevel_server_and_its_handler_table() -> None:
    server: MCPServer[Any] = MCPServer("pinned")
    lowlevel = server._lowlevel_server
    assert isinstance(lowlevel._request_handlers, dict)
    assert {"prompts/list", "resources/list", "tools/list"} <= set(lowlevel._request_handlers)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("_handle_stateful_request", ["self", "scope", "receive", "send"]),
        ("_admit_session", ["self", "requestor"]),
        ("_serve_opening_request", ["self", "http_transport", "scope", "receive", "send"]),
        ("_discard_session", ["self", "session_id", "transport"]),
    ],
)
def test_the_session_manager_methods_we_override(name: str, expected: list[str]) -> None:
    assert parameters(getattr(StreamableHTTPSessionManager, name)) == expected, name
    assert name in vars(BoundedSessionManager), f"BoundedSessionManager no longer overrides {name}"


def test_the_auth_gate_method_we_override() -> None:
    expected = ["self", "send", "status_code", "error", "description"]
    assert parameters(RequireAuthMiddleware._send_auth_error) == expected
    assert "_send_auth_error" in vars(ChallengingGate)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("connection_made", ["self", "transport"]),
        ("data_received", ["self", "data"]),
        ("on_response_complete", ["self"]),
        ("connection_lost", ["self", "exc"]),
    ],
)
def test_the_h11_protocol_hooks_we_extend(name: str, expected: list[str]) -> None:
    assert parameters(getattr(H11Protocol, name)) == expected, name
    assert name in vars(BoundedH11Protocol)


def test_the_h11_protocol_state_we_read() -> None:
    # Set in __init__ / connection_made: read from the source, as no instance exists without a server.
    source = inspect.getsource(H11Protocol)
    for attribute in ("self.conn =", "self.cycle", "self.transport =", "self.connections =", "self.loop ="):
        assert attribute in source, f"uvicorn's H11Protocol no longer sets {attribute.split()[0]}"
