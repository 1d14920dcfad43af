"""Every call runs as the person who signed in: two people at once, both protocol eras, their results,
their Bentley tokens sealed and refreshed one at a time, their consents remembered per client."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import anyio.lowlevel
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.state.stores import MemoryStore
from tests.harness import text_of
from tests.remote.harness import Browser, InProcess, in_process, signed_in

pytestmark = pytest.mark.anyio

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


@pytest.fixture
def server(sandbox: SandboxServer) -> Iterator[InProcess]:
    with in_process(sandbox) as running:
        yield running


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 (sessionless), 2025-11-25 (sessions)
async def test_two_people_at_once_each_as_themselves(server: InProcess, mode: str) -> None:
    admin, viewer = Browser(seed.USER_ADMIN), Browser(seed.USER_VIEWER)
    outcomes: dict[str, tuple[bool, str]] = {}

    async def person(browser: Browser) -> None:
        async with signed_in(server.url, browser, mode=mode) as client:
            for _ in range(3):  # interleaved with the other person's calls
                result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
                outcomes[browser.username] = (result.is_error, text_of(result))
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(person, admin)
        group.start_soon(person, viewer)
    await admin.aclose()
    await viewer.aclose()
    assert outcomes[seed.USER_ADMIN][0] is False, outcomes[seed.USER_ADMIN][1]
    failed, text = outcomes[seed.USER_VIEWER]
    assert failed and "403" in text, text


async def test_results_belong_to_the_person_not_the_client(server: InProcess) -> None:
    admin, viewer = Browser(seed.USER_ADMIN), Browser(seed.USER_VIEWER)
    async with signed_in(server.url, admin, name="First client") as client:
        ran = await client.call_tool(
            "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}
        )
        assert not ran.is_error, text_of(ran)
        assert ran.structured_content is not None
        result_id = ran.structured_content["result_id"]
        assert result_id
    # The same person through another MCP client (its own registration and consent) may page it...
    async with signed_in(server.url, admin, name="Second client") as other_client:
        page = await other_client.call_tool("read_execution_result", {"result_id": result_id, "limit": 5})
        assert not page.is_error, text_of(page)
    # ...another person may not.
    async with signed_in(server.url, viewer) as stranger:
        taken = await stranger.call_tool("read_execution_result", {"result_id": result_id, "limit": 5})
        assert taken.is_error
        assert "row" not in (taken.structured_content or {})
    await admin.aclose()
    await viewer.aclose()
    assert admin.consent_pages == 2  # one per client


async def test_bentley_tokens_are_sealed_and_refreshed_one_at_a_time(sandbox: SandboxServer) -> None:
    store = MemoryStore()
    with in_process(sandbox, store=store) as server:
        browser = Browser(seed.USER_ADMIN)
        async with signed_in(server.url, browser) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
            # Nothing in the store is a Bentley token (JWT) or one of ours in the clear.
            held = " ".join(str(value) for value, _ in store._values.values())
            assert "eyJ" not in held and "edfs_at_" not in held and "edfs_rt_" not in held
            results = []

            async def call() -> None:
                results.append(await client.call_tool("list_timers", {"itwin_id": NORTHGATE}))

            async def together() -> None:
                async with anyio.create_task_group() as group:
                    for _ in range(4):
                        group.start_soon(call)
                assert all(not r.is_error for r in results), [text_of(r) for r in results]

            # Bentley stops honouring the access token (401): one refresh serves all four calls.
            sandbox.state.expire_issued_tokens()
            await together()
            assert sandbox.state.token_requests["refresh_token"] == 1
            # The access token nears its expiry (Bentley's lifetime, less a minute): one refresh again.
            server.clock.advance(sandbox.state.token_lifetime_seconds - 30)
            await together()
            assert sandbox.state.token_requests["refresh_token"] == 2
            assert sandbox.state.token_requests["authorization_code"] == 1  # never signed in again
        await browser.aclose()


async def test_consent_is_remembered_per_person_and_client(server: InProcess) -> None:
    browser = Browser(seed.USER_ADMIN)
    async with signed_in(server.url, browser, name="Remembered") as client:
        assert not (await client.call_tool("list_integration_packages", {})).is_error
    # The same browser and client sign in again (a new registration is a new client: asked again).
    from tests.remote.harness import MemoryTokens

    storage = MemoryTokens()
    async with signed_in(server.url, browser, name="Remembered", storage=storage) as client:
        await client.call_tool("list_integration_packages", {})
    assert browser.consent_pages == 2
    storage.tokens = None  # signed out of this client, registration kept: no consent page this time
    async with signed_in(server.url, browser, name="Remembered", storage=storage) as client:
        assert not (await client.call_tool("list_integration_packages", {})).is_error
    assert browser.consent_pages == 2
    # Another person signing in at Bentley from this browser is asked, after Bentley says who they are.
    browser.username = seed.USER_VIEWER
    storage.tokens = None
    async with signed_in(server.url, browser, name="Remembered", storage=storage) as client:
        result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
        assert result.is_error and "403" in text_of(result)
    assert browser.consent_pages == 3
    await browser.aclose()


async def test_a_bentley_sign_in_that_ended_asks_the_person_to_reconnect(
    server: InProcess, sandbox: SandboxServer
) -> None:
    import httpx2

    from tests.remote.harness import MemoryTokens, mcp_ping

    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    async with signed_in(server.url, browser, storage=storage) as client:
        assert not (await client.call_tool("list_timers", {"itwin_id": NORTHGATE})).is_error
        sandbox.state.oauth.clear()  # Bentley forgets the refresh token...
        sandbox.state.expire_issued_tokens()  # ...and stops honouring the access token
        ended = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
        assert ended.is_error and "reconnect this MCP server" in text_of(ended), text_of(ended)
    await browser.aclose()
    assert storage.tokens is not None
    async with httpx2.AsyncClient(timeout=30) as http:  # our token went with the Bentley sign-in
        assert (await mcp_ping(http, server.url, storage.tokens.access_token)).status_code == 401


def test_the_log_masks_our_tokens_codes_and_states() -> None:
    from edfs_mcp.logs import redact

    line = "GET /callback?code=edfs_ac_Zm9v&state=s3cr3t-state x edfs_at_abcDEF_12 y edfs_rt_xyz"
    masked = redact(line)
    for secret in ("edfs_ac_Zm9v", "s3cr3t-state", "edfs_at_abcDEF_12", "edfs_rt_xyz"):
        assert secret not in masked


async def test_evicted_clients_are_closed_by_tasks_the_pool_owns_and_awaits() -> None:
    from typing import cast

    from edfs_mcp.api import EdfsClient
    from edfs_mcp.remote.people import PeopleClients

    closed: list[str] = []

    class Client:
        def __init__(self, subject: str) -> None:
            self.subject = subject

        async def aclose(self) -> None:
            await anyio.sleep(0.05)
            closed.append(self.subject)

    pool = PeopleClients(lambda subject: cast(EdfsClient, Client(subject)), limit=2)
    for subject in "abcd":
        pool.get(subject)  # c and d evict a and b: their closes run in the background
    assert closed == []
    await pool.aclose()  # nothing outlives the pool: the evicted ones are waited for too
    assert sorted(closed) == ["a", "b", "c", "d"]
