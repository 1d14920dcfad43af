"""429 handling against real servers: a hostile Retry-After (0, -1, NaN, 1e-3, a past date, …) costs a
few requests and waits of at least 1 s, never thousands of requests; the sandbox's 429s are waited out."""

from __future__ import annotations

import math

import pytest

from edfs_mcp.api import sent_writes
from edfs_mcp.api.client import EXECUTE
from edfs_mcp.errors import Operation, RateLimited
from edfs_mcp.messages import describe
from edfs_mcp.sandbox import SandboxServer, seed
from tests.api.conftest import sandbox_client, session_at
from tests.api.hostile import Out, Request, hostile
from tests.harness import Waits

pytestmark = pytest.mark.anyio

READ = Operation("list_timers", "list timers")
NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE

HOSTILE = [
    "0",
    "-1",
    "NaN",
    "1e-3",
    "inf",
    "garbage",
    "Wed, 01 Jan 2025 00:00:00 GMT",  # a date in the past (fixed: test ids must not change per run)
    None,
]


@pytest.mark.parametrize("retry_after", HOSTILE)
async def test_endless_429_with_a_hostile_retry_after_costs_at_most_six_requests(
    waits: Waits, retry_after: str | None
) -> None:
    async def answer(request: Request, out: Out) -> None:
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        await out.head(429, headers, b'{"error":{"code":"TooManyRequests","message":"Slow down."}}')

    progress: list[tuple[float, str]] = []

    async def on_wait(seconds: float, why: str) -> None:
        progress.append((seconds, why))

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(RateLimited) as caught:
            await http.request(READ, "GET", "/edfs/x", on_wait=on_wait)
    error = caught.value
    assert len(server.requests) == 6 and error.attempts == 6  # the first, then 5 retries
    assert waits.seconds == [1.0] * 5 and error.waited == 5.0
    assert progress == [(1.0, "rate limited by EDFS")] * 5
    assert error.retry_after == 1.0 and error.code == "TooManyRequests"
    text = describe(error)
    assert "inf" not in text.lower() and "nan" not in text.lower(), text


@pytest.mark.parametrize("retry_after", ["1e308", "99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_an_absurd_retry_after_is_reported_at_once_with_a_finite_value(
    waits: Waits, retry_after: str
) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(429, {"Retry-After": retry_after}, b"")

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(RateLimited) as caught:
            await http.request(READ, "GET", "/edfs/x")
    assert len(server.requests) == 1 and waits.seconds == []
    assert caught.value.retry_after is not None and math.isfinite(caught.value.retry_after)
    assert caught.value.retry_after <= 86_400


async def test_the_total_wait_stays_within_the_cap(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(429, {"Retry-After": "25"}, b"")

    async with hostile(answer) as server, session_at(server.url, waits, max_rate_limit_wait=60) as http:
        with pytest.raises(RateLimited) as caught:
            await http.request(READ, "GET", "/edfs/x")
    assert waits.seconds == [25.0, 25.0] and caught.value.waited == 50.0  # a third 25 s would pass 60
    assert caught.value.retry_after == 25.0 and len(server.requests) == 3


async def test_sandbox_429s_are_waited_out_and_the_package_runs_once(
    fresh: SandboxServer, waits: Waits
) -> None:
    fresh.state.faults.rate_limit(2, retry_after=3, path_prefix=f"/edfs/itwins/{NORTHGATE}/packages/")
    async with sandbox_client(fresh, waits) as client:
        with sent_writes() as journal:
            payload = await client.execute_package(NORTHGATE, seed.SQL_CUSTOMERS_TABLE, [])
    assert payload.content and waits.seconds == [3.0, 3.0]
    assert fresh.state.writes["execute"] == 1
    # The two 429s were not processed: only the request that ran is in the journal.
    assert journal.operations == (EXECUTE,) and journal.writes[0].status == 200


async def test_with_no_wait_allowed_a_429_is_reported_at_once(fresh: SandboxServer, waits: Waits) -> None:
    fresh.state.faults.rate_limit(1, retry_after=0)
    async with sandbox_client(fresh, waits, max_rate_limit_wait=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.list_timers(NORTHGATE)
    assert waits.seconds == [] and caught.value.retry_after == 1.0 and caught.value.attempts == 1
