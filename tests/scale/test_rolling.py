"""A rolling restart of three real replicas behind HAProxy while a person keeps calling: each replica in
turn is SIGTERMed (it drains) and started again. The person stays signed in (one token, one sign-in,
throughout), every call is answered, and EDFS counts each package run exactly once."""

from __future__ import annotations

import signal
from collections import Counter

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import text_of
from tests.remote.harness import Browser, MemoryTokens
from tests.scale.parts import RedisServer
from tests.scale.test_load_balanced import NORTHGATE, PACKAGE, Seen, cluster, leaves, through_lb

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

REPLICAS = 3
CLIENTS = 4


async def test_a_rolling_restart_of_three_replicas_signs_nobody_out_and_loses_no_call(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    with cluster(sandbox, redis, REPLICAS, EDFS_MCP_HTTP_DRAIN_SECONDS="10") as running:
        async with through_lb(running.url, browser, Seen(), storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
        assert storage.tokens is not None
        headers = {"Authorization": f"Bearer {storage.tokens.access_token}"}
        sandbox.state.faults.latency(0.2)  # calls are in flight whenever a replica is stopped
        writes_before = sandbox.state.writes["execute"]
        outcomes: Counter[str] = Counter()
        problems: list[str] = []
        served_by: list[tuple[int, str]] = []  # (restarts done, replica) for each answer
        restarts = 0
        rolling = True

        async def caller(number: int) -> None:
            seen = Seen()
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60, event_hooks={"response": [seen.hook]}) as h,
                Client(streamable_http_client(running.url, http_client=h), read_timeout_seconds=60) as c,
            ):
                turn = 0
                while rolling:
                    turn += 1
                    execute = (turn + number) % 2 == 0
                    name = "execute_integration_package" if execute else "list_timers"
                    arguments = {"itwin_id": NORTHGATE}
                    if execute:
                        arguments["unique_name"] = PACKAGE
                    try:
                        result = await c.call_tool(name, arguments)
                    except Exception as exc:
                        problems.append("; ".join(f"{type(e).__name__}: {e}" for e in leaves(exc)))
                        continue
                    if result.is_error:
                        problems.append(text_of(result))
                    else:
                        outcomes[name] += 1
                        served_by.append((restarts, seen.mcp[-1] if seen.mcp else "?"))

        async with anyio.create_task_group() as group:
            for number in range(CLIENTS):
                group.start_soon(caller, number)
            await anyio.sleep(1.0)
            for index in range(REPLICAS):
                code = await anyio.to_thread.run_sync(running.restart, index, 1)
                assert code in (0, -signal.SIGTERM), running.replicas[index].stderr()[-2000:]
                restarts += 1
                await anyio.sleep(1.0)  # HAProxy's checks see it up again (rise 2 at 200 ms)
            await anyio.sleep(1.0)
            rolling = False
        sandbox.state.faults.clear()
        logs = "".join(path.read_text(errors="replace") for path in running.directory.glob("*.stderr"))
    await browser.aclose()
    # Every call was answered, and none failed: no 401 (the token held across all restarts), no
    # connection closed under a call (the drain let each finish; the replica was out of the load
    # balancer first, as Kubernetes takes a pod out of its Service before SIGTERM).
    assert problems == [], problems
    assert outcomes["execute_integration_package"] >= 10 and outcomes["list_timers"] >= 10, outcomes
    # One sign-in; the token was never refreshed nor re-issued.
    assert sandbox.state.token_requests["authorization_code"] == 1
    assert browser.consent_pages == 1
    # All three replicas served, and each served again after its restart.
    assert {name for _, name in served_by} == {f"r{i}" for i in range(REPLICAS)}
    after_all = {name for done, name in served_by if done == REPLICAS}
    assert after_all == {f"r{i}" for i in range(REPLICAS)}, served_by[-20:]
    # Exactly once: one write per answered run.
    assert sandbox.state.writes["execute"] - writes_before == outcomes["execute_integration_package"]
    assert sandbox.state.abandoned == 0
    assert logs.count("draining") == REPLICAS and "stopping" not in logs  # no call outlived a drain
