"""The shared result cache (a real Redis) stopped while tools use it: each tool says so in words a model
can act on, an execute that ran says it ran (and is counted once by EDFS), and all recovers with Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.results import ResultCacheUnavailable
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from edfs_mcp.state.redis_results import RedisResultStore
from tests.harness import IDENTITIES, Session, text_of
from tests.scale.parts import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

BULK = {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
# The start of the words of an unreachable cache (messages._state), without the port.
UNREACHABLE = "the shared result cache (Redis at 127.0.0.1:"


@asynccontextmanager
async def tools_sharing(sandbox: SandboxServer, redis_url: str) -> AsyncIterator[Session]:
    """The server in this process, its results in ``redis_url`` (as with EDFS_MCP_REDIS_URL, which
    otherwise needs people signed in over OAuth), as the sandbox's Org Admin."""
    client_id, secret = IDENTITIES["admin"]
    settings = Settings(
        api_base=sandbox.base_url, authority=sandbox.base_url, client_id=client_id, client_secret=secret
    )
    shared = lambda _: RedisResultStore.from_url(redis_url)  # noqa: E731
    async with Client(build_server(settings, results=shared)) as client:
        yield Session(client)


async def test_redis_stopped_mid_run_the_run_is_reported_as_done_and_reads_say_try_again(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    async with tools_sharing(sandbox, redis.url) as tools:
        made, _ = await tools.ok("execute_integration_package", BULK)
        result_id = made["result_id"]
        assert made["rows"] and result_id

        # Redis stops while a run is waiting on EDFS: the run completes upstream, keeping it fails.
        sandbox.state.faults.latency(1.0)
        with sandbox.state.lock:
            sandbox.state.requests.clear()
        writes = sandbox.state.writes["execute"]
        outcome: list[tuple[bool, str, dict[str, object]]] = []

        async def run() -> None:
            result = await tools.client.call_tool("execute_integration_package", BULK)
            outcome.append((result.is_error, text_of(result), dict(result.structured_content or {})))

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            deadline = anyio.current_time() + 30
            while not any(m == "POST" and "/packages/" in p for m, p in list(sandbox.state.requests)):
                assert anyio.current_time() < deadline, "the execute never reached EDFS"
                await anyio.sleep(0.01)
            await anyio.to_thread.run_sync(redis.stop)
        sandbox.state.faults.clear()
        ((failed, text, content),) = outcome
        assert sandbox.state.writes["execute"] == writes + 1  # it ran, once
        # The preview is there, and the words say the run succeeded, why there is no more, and not to
        # run it again.
        assert not failed, text
        assert content["rows"] and content.get("result_id") is None
        assert "the run itself succeeded" in text and UNREACHABLE in text, text
        assert "Do not run the package again" in text

        # While Redis is down: reading and querying say so, and that nothing ran.
        for name, arguments in (
            ("read_execution_result", {"result_id": result_id, "offset": 5}),
            ("query_execution_result", {"result_id": result_id, "sql": "SELECT count(*) FROM result"}),
        ):
            said = await tools.error(name, arguments)
            assert UNREACHABLE in said and "Nothing was run or changed" in said and "again" in said, said

        # Redis back (with its data): the same result pages again, and new runs are kept again.
        await anyio.to_thread.run_sync(redis.start)
        page, _ = await tools.ok("read_execution_result", {"result_id": result_id, "offset": 5, "limit": 5})
        assert len(page["rows"]) == 5
        again, _ = await tools.ok("execute_integration_package", BULK)
        assert again["result_id"]


async def test_the_store_says_where_redis_is_and_never_its_password(redis: RedisServer) -> None:
    store = RedisResultStore.from_url(f"redis://:s3cret-pass@127.0.0.1:{redis.port}/0")
    redis.stop()
    try:
        with anyio.fail_after(10):  # a refused connection fails at once, not after retries
            with pytest.raises(ResultCacheUnavailable) as caught:
                await store.get("r_x", owner="person:a")
        assert caught.value.location == f"127.0.0.1:{redis.port}"
        assert "s3cret-pass" not in str(caught.value)
    finally:
        redis.start()
        await store.aclose()
