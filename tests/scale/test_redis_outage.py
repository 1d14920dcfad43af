"""Redis stops answering mid-session: a tool call through a real MCP client gets, within a few
seconds, an answer in words (what is wrong, that nothing ran, when to try again), not a bare
protocol error after the old 10 s; everything works again when Redis is back."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import MCPError

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import text_of
from tests.remote.harness import Browser, MemoryTokens, mcp_ping, oauth_env, signed_in
from tests.scale.parts import RedisServer, Replica, replica
from tests.serving import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
FEW_SECONDS = 6.0  # one Redis command's timeout (3 s) and some slack for two shared cores


@contextmanager
def one_replica(sandbox: SandboxServer, redis: RedisServer) -> Iterator[Replica]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    sandbox.accept_web_redirect(f"{public}/auth/callback")
    env = oauth_env(sandbox, public, EDFS_MCP_REDIS_URL=redis.url)
    with tempfile.TemporaryDirectory() as tmp, replica("solo", env, Path(tmp), port) as running:
        yield running


@contextmanager
def frozen(redis: RedisServer) -> Iterator[None]:
    """Redis stopped with SIGSTOP: it accepts connections (the kernel does) and answers nothing."""
    assert redis.process is not None
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)


def assert_said_in_words(text: str, redis: RedisServer) -> None:
    assert f"Redis at 127.0.0.1:{redis.port}" in text, text
    assert "Nothing ran." in text and "Try again in about 30 seconds" in text, text


@pytest.mark.parametrize("outage", ["frozen", "stopped"])
async def test_a_tool_call_while_redis_does_not_answer_is_told_so_in_words(
    sandbox: SandboxServer, redis: RedisServer, outage: str
) -> None:
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    with one_replica(sandbox, redis) as solo:
        async with signed_in(f"{solo.base}/mcp", browser, storage=storage) as client:
            assert not (await client.call_tool("list_timers", {"itwin_id": NORTHGATE})).is_error
            sandbox.state.requests.clear()

            with frozen(redis) if outage == "frozen" else _stopped(redis):
                for _ in range(2):  # the connection that was in use, then a new one
                    started = time.monotonic()
                    result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
                    elapsed = time.monotonic() - started
                    assert result.is_error and elapsed < FEW_SECONDS, (elapsed, text_of(result))
                    assert_said_in_words(text_of(result), redis)
                started = time.monotonic()
                with pytest.raises(MCPError) as caught:  # any other request: a JSON-RPC error
                    await client.list_tools()
                assert time.monotonic() - started < FEW_SECONDS
                assert_said_in_words(caught.value.error.message, redis)
                assert storage.tokens is not None
                async with httpx2.AsyncClient(timeout=30) as http:
                    raw = await mcp_ping(http, f"{solo.base}/mcp", storage.tokens.access_token)
                assert raw.status_code == 200 and int(raw.headers["retry-after"]) == 30
                assert raw.json()["error"]["data"] == {"retry_after": 30}
            assert not any("timer" in path.lower() for _, path in sandbox.state.requests)  # nothing ran

            # Back (with its data): the same session, the same person, no sign-in again.
            deadline = time.monotonic() + 20
            while (result := await client.call_tool("list_timers", {"itwin_id": NORTHGATE})).is_error:
                assert time.monotonic() < deadline, text_of(result)
            assert browser.consent_pages == 1
        stderr = solo.stderr()
    await browser.aclose()
    assert "cannot be reached" in stderr and "Traceback" not in stderr


@contextmanager
def _stopped(redis: RedisServer) -> Iterator[None]:
    redis.stop()
    try:
        yield
    finally:
        redis.start()


def test_the_outage_answer_is_json_rpc_for_requests_only() -> None:
    import json

    from edfs_mcp.http_transport import outage_answer

    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_timers"}}
    answered = json.loads(outage_answer(json.dumps(call).encode(), "Redis is away") or b"null")
    assert answered["id"] == 7 and answered["result"]["isError"] is True
    assert answered["result"]["content"][0]["text"].startswith("edfs-mcp could not check this sign-in: Redis")
    listing = {"jsonrpc": "2.0", "id": "a", "method": "tools/list"}
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    both = json.loads(outage_answer(json.dumps([listing, notice]).encode(), "x") or b"null")
    assert [a["id"] for a in both] == ["a"] and both[0]["error"]["code"] == -32000
    assert outage_answer(json.dumps(notice).encode(), "x") is None  # 503 instead
    assert outage_answer(b"not json", "x") is None
