"""Registrations are bounded in number: per source (the client's address, as uvicorn sees it with
its default ``X-Forwarded-For`` trust of loopback) per window, and in all (the oldest unused go
first; a client that got tokens is kept). The same with the memory store and a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
import redis as sync_redis

from edfs_mcp.remote import build_remote_auth
from edfs_mcp.remote.registrations import RegistrationLimits, source_of
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.state.redis_store import RedisStore
from edfs_mcp.state.stores import KeyValueStore, MemoryStore
from tests.harness import text_of
from tests.remote.harness import (
    CLIENT_REDIRECT,
    Browser,
    MemoryTokens,
    in_process,
    mcp_ping,
    oauth_settings,
    signed_in,
)
from tests.scale.parts import redis_server

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

METADATA = {
    "client_name": "Flood",
    "redirect_uris": [CLIENT_REDIRECT],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


class Stored:
    """The store under test and a way to count its client records, whichever store it is."""

    def __init__(self, store: KeyValueStore, redis_url: str | None = None) -> None:
        self.store = store
        self._raw = sync_redis.Redis.from_url(redis_url, decode_responses=True) if redis_url else None

    def client_ids(self) -> set[str]:
        if self._raw is not None:
            return {k.removeprefix("edfs-mcp:client:") for k in self._raw.scan_iter("edfs-mcp:client:*")}
        assert isinstance(self.store, MemoryStore)
        return {k.removeprefix("client:") for k in list(self.store._values) if k.startswith("client:")}

    def entries(self) -> int:
        if self._raw is not None:
            return int(self._raw.dbsize())
        assert isinstance(self.store, MemoryStore)
        return len(self.store._values)


@pytest.fixture(params=["memory", "redis"])
def stored(request: pytest.FixtureRequest) -> Iterator[Stored]:
    if request.param == "memory":
        yield Stored(MemoryStore())
        return
    with redis_server() as running:
        yield Stored(RedisStore.from_url(running.url), running.url)  # closed by the app's lifespan


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


async def register_from(
    http: httpx2.AsyncClient, base: str, source: str | None, **extra: Any
) -> httpx2.Response:
    headers = {"X-Forwarded-For": source} if source else {}
    return await http.post(f"{base}/register", json={**METADATA, **extra}, headers=headers)


def test_a_source_is_an_ipv4_address_or_an_ipv6_64() -> None:
    assert source_of({"client": ("198.51.100.7", 5000)}) == "198.51.100.7"
    assert source_of({"client": ("2001:db8:1:2::1", 5000)}) == "2001:db8:1:2::/64"
    assert source_of({"client": ("2001:db8:1:2:ffff::9", 1)}) == "2001:db8:1:2::/64"
    assert source_of({"client": ("::ffff:198.51.100.7", 1)}) == "198.51.100.7"
    assert source_of({"client": None}) == "unknown"


async def test_one_address_registers_at_most_per_source_per_window(
    sandbox: SandboxServer, stored: Stored, http: httpx2.AsyncClient
) -> None:
    limits = RegistrationLimits(per_source=3, window=600)
    with in_process(sandbox, store=stored.store, registrations=limits) as server:
        for _ in range(3):
            assert (await register_from(http, server.base, "198.51.100.7")).status_code == 201
        refused = await register_from(http, server.base, "198.51.100.7")
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert refused.json() == {
            "error": "temporarily_unavailable",
            "error_description": "too many client registrations from this address: at most 3 in 10 "
            f"minutes; try again in {refused.headers['retry-after']} s",
        }
        # Another address, the proxy itself (no X-Forwarded-For) and another /64 are counted apart;
        # two addresses in one /64 together.
        assert (await register_from(http, server.base, "198.51.100.8")).status_code == 201
        assert (await register_from(http, server.base, None)).status_code == 201
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ab::3"):
            assert (await register_from(http, server.base, host)).status_code == 201
        assert (await register_from(http, server.base, "2001:db8:1:2::4")).status_code == 429
        assert (await register_from(http, server.base, "2001:db8:1:3::1")).status_code == 201
        # A refused registration is not kept; the next window admits the address again.
        assert len(stored.client_ids()) == 3 + 1 + 1 + 3 + 1
        server.clock.advance(601)
        assert (await register_from(http, server.base, "198.51.100.7")).status_code == 201


async def test_a_flood_keeps_the_newest_unused_registrations_and_signed_in_people_keep_working(
    sandbox: SandboxServer, stored: Stored, http: httpx2.AsyncClient
) -> None:
    limits = RegistrationLimits(unused=40)
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    with in_process(sandbox, store=stored.store, registrations=limits) as server:
        async with signed_in(server.url, browser, storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
            assert storage.client is not None and storage.tokens is not None
            used, secret = storage.client.client_id, storage.client.client_secret or ""
            early_registration = (await register_from(http, server.base, "192.0.2.1")).json()
            early = early_registration["client_id"]
            before = stored.entries()
            flood = []
            for n in range(400):  # 400 registrations from 400 addresses (per_source does not stop them)
                answer = await register_from(http, server.base, f"10.0.{n // 250}.{n % 250}")
                assert answer.status_code == 201, answer.text
                flood.append(answer.json()["client_id"])
                last_secret = answer.json().get("client_secret", "")
            kept = stored.client_ids()
            assert kept == {used, *flood[-40:]}, "the newest 40 unused and the one used"
            assert early not in kept
            # What the flood left in the store: its 40 records, one counter per address (for a
            # window), the list of unused ones; bounded by the cap, not by the flood.
            assert stored.entries() - before <= 40 + 400 + 1
            # The person signed in keeps working: the session, a new connection, a refresh.
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            assert not result.is_error, text_of(result)
        assert (await mcp_ping(http, server.url, storage.tokens.access_token)).status_code == 200
        refreshed = await http.post(
            f"{server.base}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": storage.tokens.refresh_token or "",
                "client_id": used,
                "client_secret": secret,
                "resource": server.url,
            },
        )
        assert refreshed.status_code == 200, refreshed.text

        # A forgotten registration is unknown to the server: its client registers again (the SDK does on
        # 401 invalid_client); a kept one is known, and only its made-up refresh token is refused. Asked
        # over HTTP: the store's connections belong to the server's event loop, not this test's.
        async def refresh_as(client_id: str, client_secret: str) -> httpx2.Response:
            data = {"grant_type": "refresh_token", "refresh_token": "made-up", "resource": server.url}
            return await http.post(
                f"{server.base}/token", data={**data, "client_id": client_id, "client_secret": client_secret}
            )

        forgotten = await refresh_as(early, early_registration.get("client_secret", ""))
        assert forgotten.status_code == 401 and forgotten.json()["error"] == "invalid_client", forgotten.text
        kept_one = await refresh_as(flood[-1], last_secret)
        assert kept_one.status_code == 400 and kept_one.json()["error"] == "invalid_grant", kept_one.text
    await browser.aclose()


async def test_the_stores_count_and_rank_alike(stored: Stored) -> None:
    store = stored.store
    try:
        assert [await store.count("c", 60) for _ in range(3)] == [1, 2, 3]
        for n, member in enumerate(["a", "b", "c", "d", "e"]):
            await store.rank("r", member, 100.0 + n, 60)
        assert await store.unrank("r", "b") is True
        assert await store.unrank("r", "b") is False
        assert await store.trim_ranked("r", below=101.0, keep=2) == ["c"]  # "a" expired; "d", "e" kept
        assert await store.trim_ranked("r", below=0.0, keep=2) == []
        await store.rank("r", "f", 200.0, 60)
        assert await store.trim_ranked("r", below=0.0, keep=1) == ["d", "e"]
    finally:
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()


def test_the_limits_come_from_the_settings(sandbox: SandboxServer) -> None:
    settings = oauth_settings(sandbox, "http://127.0.0.1:9").model_copy(
        update={"http_registrations_per_source": 2, "http_unused_registrations": 5}
    )
    provider = build_remote_auth(settings).provider
    assert provider.registrations == RegistrationLimits(per_source=2, window=600, unused=5)
    defaults = build_remote_auth(oauth_settings(sandbox, "http://127.0.0.1:9")).provider
    assert defaults.registrations == RegistrationLimits()
