"""The same app in-process through httpx2.ASGITransport, as `edfs-mcp serve --sandbox` uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from joserfc import jwt

from edfs_mcp.sandbox import ConnectionDropped, SandboxState, build_app, seed
from edfs_mcp.sandbox.fixtures import sensor_payload

pytestmark = pytest.mark.anyio
BASE = "http://sandbox.local"
NG = seed.ITWIN_NORTHGATE_BRIDGE


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded()


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=build_app(state)), base_url=BASE) as c:
        token = await c.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "scope": "itwin-platform",
                "client_id": seed.CLIENT_ADMIN_ID,
                "client_secret": seed.CLIENT_ADMIN_SECRET,
            },
        )
        c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield c


async def test_issuer_and_links_follow_the_request_base_url(
    client: httpx2.AsyncClient, state: SandboxState
) -> None:
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, state.signing_key).claims["iss"] == BASE
    odata = await client.get(f"/edfs/itwins/{NG}/packages/{seed.ODT_APIM_TEST}/odata")
    assert odata.json()["@odata.context"].startswith(f"{BASE}/edfs/itwins/{NG}/")
    assert (await client.get("/.well-known/openid-configuration")).json()["issuer"] == BASE


async def test_toggle_in_process(client: httpx2.AsyncClient, state: SandboxState) -> None:
    response = await client.patch(f"/edfs/itwins/{NG}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}/toggle")
    assert response.json()["enabled"] is True
    assert state.writes["timer_toggle"] == 1


async def test_dropped_connection_in_process_is_a_remote_protocol_error(
    client: httpx2.AsyncClient, state: SandboxState
) -> None:
    state.faults.drop_after_processing(1)
    with pytest.raises(httpx2.RemoteProtocolError) as caught:
        await client.post(f"/edfs/itwins/{NG}/packages/{seed.SQL_CUSTOMERS_TABLE}")
    assert isinstance(caught.value, ConnectionDropped)
    assert state.writes["execute"] == 1


async def test_rate_limit_in_process(client: httpx2.AsyncClient, state: SandboxState) -> None:
    state.faults.rate_limit(1, retry_after=7)
    response = await client.get("/edfs/packages")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_states_are_independent(state: SandboxState) -> None:
    other = SandboxState()
    state.timers[NG].clear()
    assert len(other.timers_of(NG)) == 3
    assert other.signing_key.kid != state.signing_key.kid


def test_bulk_payload_is_made_once_and_cached() -> None:
    # How fast it is made is the bench's business; here: once, then the same bytes.
    sensor_payload.cache_clear()
    first = sensor_payload(False)
    assert sensor_payload(False) is first
    assert sensor_payload.cache_info().misses == 1
    assert first.count(b'"sensorId"') == 100_000


async def test_device_flow_and_refresh_work_in_process(state: SandboxState) -> None:
    state.auto_approve = True
    state.device_poll_interval_seconds = 0
    transport = httpx2.ASGITransport(app=build_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as c:
        start = await c.post(
            "/as/device_authz.oauth2",
            data={"client_id": seed.PUBLIC_CLIENT_ID, "scope": "itwin-platform offline_access"},
        )
        assert start.json()["verification_uri"] == f"{BASE}/device"
        form = {"grant_type": seed.DEVICE_CODE_GRANT, "device_code": start.json()["device_code"]}
        form["client_id"] = seed.PUBLIC_CLIENT_ID
        assert (await c.post("/connect/token", data=form)).json()["error"] == "authorization_pending"
        tokens = (await c.post("/connect/token", data=form)).json()
        assert jwt.decode(tokens["access_token"], state.signing_key).claims["iss"] == BASE
        again = await c.post(
            "/connect/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": seed.PUBLIC_CLIENT_ID,
            },
        )
        assert again.status_code == 200
        assert state.token_requests == {seed.DEVICE_CODE_GRANT: 2, "refresh_token": 1}
