"""The sealed requestState of 2026-07-28 multi-round requests: minted by one replica, continued on
another. The SDK carries it in the client (sealed), so nothing is stored; only the key must be shared,
and it is derived from EDFS_MCP_STATE_KEY."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.server.request_state import RequestStateBoundary
from mcp.shared.exceptions import MCPError

from edfs_mcp.config import Settings, load_settings
from edfs_mcp.server import build_server
from edfs_mcp.state.request_state import request_state_key, request_state_security
from tests.remote.harness import STATE_KEY

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

CALL = {"name": "execute_integration_package", "arguments": {"unique_name": "X", "itwin_id": "i"}}


@dataclass
class Round:
    """What the boundary reads of a request context: its method and raw params."""

    method: str
    params: dict[str, Any] | None
    request_id: int = 1
    seen: list[Any] = field(default_factory=list)


def boundary_of(server: Any) -> RequestStateBoundary:
    found = [m for m in server.middleware if isinstance(m, RequestStateBoundary)]
    assert len(found) == 1
    return found[0]


def oauth_settings(state_key: str) -> Settings:
    """A replica's settings (EDFS_MCP_HTTP_AUTH=oauth, the state key every replica shares)."""
    return load_settings(
        http_auth="oauth",
        public_url="https://mcp.example.com",
        client_id="web-app",
        client_secret="secret",
        state_key=state_key,
    )


def replica(state_key: str | None = STATE_KEY) -> RequestStateBoundary:
    """The request-state boundary of a server built as `edfs-mcp serve` builds it."""
    return boundary_of(build_server(oauth_settings(state_key) if state_key else Settings()))


async def first_round(boundary: RequestStateBoundary) -> str:
    async def ask(_: Any) -> dict[str, Any]:
        return {"resultType": "input_required", "inputRequests": {}, "requestState": "round-1"}

    result = await boundary(Round("tools/call", dict(CALL)), ask)  # type: ignore[arg-type]
    assert isinstance(result, dict)
    sealed = result["requestState"]
    assert isinstance(sealed, str) and "round-1" not in sealed  # sealed, not readable by the client
    return sealed


async def second_round(boundary: RequestStateBoundary, sealed: str) -> str:
    seen: list[str] = []

    async def finish(ctx: Any) -> dict[str, Any]:
        seen.append(ctx.params["requestState"])
        return {"content": []}

    await boundary(Round("tools/call", {**CALL, "requestState": sealed}), finish)  # type: ignore[arg-type]
    return seen[0]


async def test_state_minted_by_one_replica_is_continued_by_another_under_the_shared_key() -> None:
    one, two = replica(), replica()
    sealed = await first_round(one)
    assert await second_round(two, sealed) == "round-1"
    assert await second_round(replica(), sealed) == "round-1"  # a restarted replica too


async def test_without_the_shared_key_another_replica_refuses_it() -> None:
    # As the SDK sets it up by default: a key made by each process at start.
    sealed = await first_round(replica(None))
    with pytest.raises(MCPError):
        await second_round(replica(None), sealed)
    # Another deployment's state key: refused too.
    with pytest.raises(MCPError):
        await second_round(replica("b" * 43), await first_round(replica()))


def test_the_request_state_key_is_its_own() -> None:
    settings = oauth_settings(STATE_KEY)
    assert request_state_key(settings.oauth_key) != settings.oauth_key
    assert len(request_state_key(settings.oauth_key)) == 32
    assert request_state_security(Settings()) is None
