"""A replica as an orchestrator sees it: /healthz, /readyz with Redis down and back, SIGTERM drains the
call in progress, and JSON log lines carry the request id (and no secret)."""

from __future__ import annotations

import json
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import text_of, wait_for
from tests.remote.harness import Browser, MemoryTokens, mcp_ping, oauth_env, signed_in
from tests.scale.parts import RedisServer, Replica, replica
from tests.serving import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


@contextmanager
def one_replica(sandbox: SandboxServer, redis: RedisServer, **extra: str) -> Iterator[Replica]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    sandbox.accept_web_redirect(f"{public}/auth/callback")
    env = oauth_env(sandbox, public, EDFS_MCP_REDIS_URL=redis.url, EDFS_MCP_LOG_LEVEL="DEBUG", **extra)
    with tempfile.TemporaryDirectory() as tmp, replica("solo", env, Path(tmp), port) as running:
        yield running


def status(url: str) -> tuple[int, str]:
    try:
        response = httpx2.get(url, timeout=5)
    except httpx2.TransportError:
        return 0, "no connection"
    return response.status_code, response.text


async def test_probes_say_when_redis_is_down_and_the_replica_recovers_with_it(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    with one_replica(sandbox, redis) as solo:
        assert status(f"{solo.base}/healthz") == (200, "ok\n")
        assert status(f"{solo.base}/readyz") == (200, "ready\n")
        async with signed_in(f"{solo.base}/mcp", browser, storage=storage) as client:
            assert not (await client.call_tool("list_timers", {"itwin_id": NORTHGATE})).is_error
        assert storage.tokens is not None
        token = storage.tokens.access_token

        redis.stop()
        wait_for(lambda: status(f"{solo.base}/readyz")[0] == 503, "/readyz to say 503")
        _, text = status(f"{solo.base}/readyz")
        assert f"Redis at 127.0.0.1:{redis.port}" in text, text
        assert status(f"{solo.base}/healthz")[0] == 200  # alive: no restart would help
        async with httpx2.AsyncClient(timeout=30) as http:
            refused = await mcp_ping(http, f"{solo.base}/mcp", token)
        # An MCP request is answered in JSON-RPC, in words the client shows (test_redis_outage.py).
        assert refused.status_code == 200, refused.text
        assert refused.headers["retry-after"]
        assert "cannot be reached" in refused.json()["error"]["message"]
        async with httpx2.AsyncClient(timeout=30) as http:  # the sign-in endpoints: 503, OAuth's shape
            token_refused = await http.post(
                f"{solo.base}/register",
                json={"redirect_uris": ["http://127.0.0.1:5173/cb"], "token_endpoint_auth_method": "none"},
            )
        assert token_refused.status_code == 503 and token_refused.headers["retry-after"]
        assert "cannot be reached" in token_refused.json()["error_description"]

        redis.start()  # with its data: the person stays signed in
        wait_for(lambda: status(f"{solo.base}/readyz")[0] == 200, "/readyz to say 200 again")
        async with httpx2.AsyncClient(timeout=30) as http:
            again = await mcp_ping(http, f"{solo.base}/mcp", token)
        assert again.status_code == 200, again.text
        stderr = solo.stderr()
    await browser.aclose()
    assert token not in stderr


async def test_sigterm_drains_the_call_in_progress_and_log_lines_carry_the_request_id(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    browser = Browser(seed.USER_ADMIN)
    with one_replica(sandbox, redis, EDFS_MCP_LOG_FORMAT="json", EDFS_MCP_HTTP_DRAIN_SECONDS="20") as solo:
        async with httpx2.AsyncClient(timeout=30) as http:
            probe = await http.get(f"{solo.base}/healthz", headers={"X-Request-Id": "probe-0001"})
        assert probe.headers["x-request-id"] == "probe-0001"
        async with signed_in(f"{solo.base}/mcp", browser) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
            sandbox.state.faults.latency(1.0)  # Bentley slow: the call is still running at SIGTERM
            with sandbox.state.lock:
                sandbox.state.requests.clear()
            outcome: list[tuple[bool, str]] = []

            async def call() -> None:
                result = await client.call_tool("list_timers", {"itwin_id": NORTHGATE})
                outcome.append((result.is_error, text_of(result)))

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                deadline = anyio.current_time() + 20
                while not any("timer" in p.lower() for _, p in list(sandbox.state.requests)):
                    assert anyio.current_time() < deadline, "the call never reached the sandbox"
                    await anyio.sleep(0.01)
                exit_code = await anyio.to_thread.run_sync(solo.terminate)
        sandbox.state.faults.clear()
        stderr = solo.stderr()
    await browser.aclose()
    assert outcome and outcome[0][0] is False, outcome
    # uvicorn re-raises the signal once drained, so the process ends as SIGTERM'd, after a clean stop.
    assert exit_code in (0, -signal.SIGTERM), stderr[-2000:]
    assert "draining" in stderr and "Application shutdown complete" in stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    ids = {r.get("request_id") for r in records} - {None}
    assert len(ids) >= 2  # lines written while serving requests say which
    for secret in ("edfs_at_", "edfs_rt_", "eyJ", seed.WEB_CLIENT_SECRET):
        assert secret not in stderr, secret
