"""EDFS_MCP_REDIS_URL: the authorization server's state and people's Bentley tokens in a real Redis,
shared by two replicas; one refresh across both; nothing readable in Redis."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import anyio
import anyio.lowlevel
import httpx2
import pytest
import redis.asyncio as aioredis
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.http_transport import HttpLimits, http_app
from edfs_mcp.remote import RemoteAuth, build_remote_auth
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from edfs_mcp.state.redis_store import RedisStore, StateStoreUnavailable
from tests.harness import text_of
from tests.remote.harness import Browser, MemoryTokens, oauth_env, signed_in
from tests.scale.parts import RedisServer
from tests.serving import free_port

CLEAR_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


@dataclass
class InProcessReplica:
    url: str
    remote: RemoteAuth


@contextmanager
def two_replicas(sandbox: SandboxServer, redis_url: str) -> Iterator[list[InProcessReplica]]:
    """Two apps, each with its own Redis connections, at one public URL (the first's address)."""
    from edfs_mcp.config import load_settings

    ports = [free_port(), free_port()]
    public = f"http://127.0.0.1:{ports[0]}"
    sandbox.accept_web_redirect(f"{public}/auth/callback")
    env = oauth_env(sandbox, public, EDFS_MCP_REDIS_URL=redis_url)
    settings = load_settings(**{k.removeprefix("EDFS_MCP_").lower(): v for k, v in env.items()})
    running: list[tuple[uvicorn.Server, threading.Thread]] = []
    replicas = []
    try:
        for port in ports:
            remote = build_remote_auth(settings)
            assert isinstance(remote.store, RedisStore) and remote.durable
            server = build_server(settings, client_for=remote.client_for)
            app = http_app(
                server, host="127.0.0.1", bearer=None, extra_hosts=[], limits=HttpLimits(), remote=remote
            )
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
            )
            served = uvicorn.Server(config)
            thread = threading.Thread(target=served.run, daemon=True)
            thread.start()
            running.append((served, thread))
            deadline = time.monotonic() + 20
            while not served.started:
                assert thread.is_alive() and time.monotonic() < deadline, "a replica did not start"
                time.sleep(0.01)
            replicas.append(InProcessReplica(f"http://127.0.0.1:{port}/mcp", remote))
        yield replicas
    finally:
        for served, _ in running:
            served.should_exit = True
        for _, thread in running:
            thread.join(20)


@asynccontextmanager
async def with_token(url: str, token: str) -> AsyncIterator[Client]:
    """A real MCP client sending a token it already has (issued elsewhere)."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client,
    ):
        yield client


async def test_the_store_keeps_its_promises_on_a_real_redis(redis: RedisServer) -> None:
    one, two = RedisStore.from_url(redis.url), RedisStore.from_url(redis.url)  # two replicas' connections
    try:
        await one.put("a", "1")
        assert await two.get("a") == "1"
        assert await one.put_new("a", "2") is False
        assert await two.put_new("b", "2", ttl=60) is True
        assert await two.get("b") == "2"
        taken = [await one.take("b"), await two.take("b")]
        assert taken == ["2", None]  # of two takers, one gets it
        await one.add_member("set", "x", ttl=60)
        await two.add_member("set", "y", ttl=60)
        assert await one.members("set") == {"x", "y"}
        await two.delete("a")
        assert await one.get("a") is None
        await one.put("short", "v", ttl=0.05)
        deadline = time.monotonic() + 10
        while await two.get("short") is not None:  # Redis expires it on its own
            assert time.monotonic() < deadline, "the value never expired"
            await anyio.lowlevel.checkpoint()
        raw = redis_client(redis)
        assert set(await raw.keys("*")) == {"edfs-mcp:set"}  # everything under the prefix
        await raw.aclose()
        assert await one.ping()
    finally:
        await one.aclose()
        await two.aclose()


def redis_client(server: RedisServer) -> aioredis.Redis:
    return aioredis.Redis.from_url(server.url, decode_responses=True)


async def test_the_refresh_lock_is_held_by_one_replica_at_a_time(redis: RedisServer) -> None:
    stores = [RedisStore.from_url(redis.url), RedisStore.from_url(redis.url)]
    inside, most, entered = 0, 0, 0

    async def refresh(store: RedisStore) -> None:
        nonlocal inside, most, entered
        async with store.lock("person:someone"):
            inside += 1
            entered += 1
            most = max(most, inside)
            await store.get("anything")  # a round trip: the other replica runs meanwhile
            await anyio.lowlevel.checkpoint()
            inside -= 1

    try:
        async with anyio.create_task_group() as group:
            for _ in range(5):
                for store in stores:
                    group.start_soon(refresh, store)
    finally:
        for store in stores:
            await store.aclose()
    assert entered == 10
    assert most == 1


async def test_redis_down_is_said_in_words_without_the_password(redis: RedisServer) -> None:
    store = RedisStore.from_url(f"redis://:s3cret-pass@127.0.0.1:{redis.port}/0")
    redis.stop()
    try:
        with pytest.raises(StateStoreUnavailable) as caught:
            await store.get("a")
        assert f"Redis at 127.0.0.1:{redis.port}" in str(caught.value)
        assert "s3cret-pass" not in str(caught.value)
        assert await store.ping() is False
        redis.start()  # back: the same store works again
        await store.put("a", "1")
        assert await store.get("a") == "1"
    finally:
        await store.aclose()


async def test_a_token_from_one_replica_works_on_the_other_and_one_refresh_serves_both(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    with two_replicas(sandbox, redis.url) as (first, second):
        async with signed_in(first.url, browser, storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
        assert storage.tokens is not None
        token = storage.tokens.access_token
        # Nothing in Redis is a Bentley token (JWT) or one of ours in the clear.
        raw = redis_client(redis)
        keys = await raw.keys("*")
        held = " ".join([str(await raw.get(k)) for k in keys if await raw.type(k) == "string"])
        await raw.aclose()
        # A JWT is three base64url parts; "eyJ" alone turns up by chance inside sealed (base64url) data.
        assert keys and not CLEAR_JWT.search(held) and "edfs_at_" not in held and "edfs_rt_" not in held
        async with with_token(second.url, token) as on_second:
            result = await on_second.call_tool("list_timers", {"itwin_id": NORTHGATE})
            assert not result.is_error, text_of(result)
            # Bentley stops honouring the access token: calls on both replicas at once, one refresh.
            sandbox.state.expire_issued_tokens()
            async with with_token(first.url, token) as on_first:
                outcomes = []

                async def call(client: Client) -> None:
                    outcomes.append(await client.call_tool("list_timers", {"itwin_id": NORTHGATE}))

                async with anyio.create_task_group() as group:
                    for _ in range(3):
                        group.start_soon(call, on_first)
                        group.start_soon(call, on_second)
            assert all(not r.is_error for r in outcomes), [text_of(r) for r in outcomes]
            assert sandbox.state.token_requests["refresh_token"] == 1
            assert sandbox.state.token_requests["authorization_code"] == 1
    await browser.aclose()
    assert browser.consent_pages == 1
