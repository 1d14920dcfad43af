"""After a write is sent, the model always learns the write's outcome, whatever fails next.

A real loopback server plays a hostile EDFS: it accepts the write, then answers with something
the client cannot read (nesting too deep, the wrong shape), or fails the re-read after
set_timer_enabled's toggle was lost. Each test counts the writes that reached it: exactly one, never re-sent.
"""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.server import build_server
from tests.api.hostile import Out, Request, Server, hostile
from tests.harness import Session

pytestmark = pytest.mark.anyio

ITWIN = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"
TIMER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01"
JSON = {"Content-Type": "application/json"}


@asynccontextmanager
async def tools_against(
    answer: Callable[[Request], tuple[int, bytes]],
) -> AsyncIterator[tuple[Session, Server]]:
    async def reply(request: Request, out: Out) -> None:
        status, body = answer(request)
        await out.head(status, JSON, body)

    async with hostile(reply) as server:
        settings = Settings(api_base=server.url, access_token="static-token-for-a-hostile-server")
        async with Client(build_server(settings)) as client:
            yield Session(client), server


def writes(server: Server) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests if r.method != "GET"]


async def test_a_run_whose_answer_nests_too_deeply_is_reported_as_run() -> None:
    deep = b'{"data": [{"a": ' + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"}]}"
    async with tools_against(lambda request: (200, deep)) as (tools, server):
        text = await tools.error("execute_integration_package", {"itwin_id": ITWIN, "unique_name": "PKG"})
    assert "EDFS accepted the execute package request (HTTP 200): it took effect" in text
    assert "nests too deeply" in text and "Do not run it again without asking the user" in text
    assert writes(server) == [f"POST /edfs/itwins/{ITWIN}/packages/PKG"]


async def test_a_created_timer_whose_answer_has_the_wrong_shape_is_reported_as_created() -> None:
    package = {"uniqueName": "PKG", "inputExample": "{}"}

    def answer(request: Request) -> tuple[int, bytes]:
        if request.method == "GET":
            return 200, json.dumps(package).encode()
        return 201, b'{"name": 5}'

    async with tools_against(answer) as (tools, server):
        text = await tools.error(
            "create_timer", {"itwin_id": ITWIN, "unique_name": "PKG", "cron": "0 3 * * 1"}
        )
    assert "EDFS accepted the create timer request (HTTP 201): it took effect" in text
    assert "did not have the shape" in text and "do not create it again" in text
    assert writes(server) == [f"POST /edfs/itwins/{ITWIN}/timers"]


ON = {
    "id": TIMER,
    "name": "Nightly",
    "packageUniqueName": "PKG",
    "cronStr": "0 3 * * *",
    "enabled": True,
    "parameters": [],
}


def lost_toggle_then(re_read: bytes) -> Callable[[Request], tuple[int, bytes]]:
    """The timer is read (on), the toggle's answer is a 502, and the re-read answers ``re_read``."""
    reads = 0

    def answer(request: Request) -> tuple[int, bytes]:
        nonlocal reads
        if request.method == "PATCH":
            return 502, b"{}"
        reads += 1
        return 200, json.dumps({"timers": [ON]}).encode() if reads == 1 else re_read

    return answer


async def test_a_lost_toggle_followed_by_a_malformed_re_read_says_it_may_have_applied() -> None:
    arguments = {"itwin_id": ITWIN, "timer_id": TIMER, "enabled": False}
    async with tools_against(lost_toggle_then(b'{"timers": [{"id": 7}]}')) as (tools, server):
        text = await tools.error("set_timer_enabled", arguments)
    assert "may or may not have been flipped" in text and "list_timers" in text
    assert writes(server) == [f"PATCH /edfs/itwins/{ITWIN}/timers/{TIMER}/toggle"]


async def test_a_lost_toggle_whose_re_read_shows_it_unchanged_says_so() -> None:
    arguments = {"itwin_id": ITWIN, "timer_id": TIMER, "enabled": False}
    async with tools_against(lost_toggle_then(json.dumps({"timers": [ON]}).encode())) as (tools, server):
        text = await tools.error("set_timer_enabled", arguments)
    assert "may or may not have been applied" in text and "the timer is now enabled" in text
    assert writes(server) == [f"PATCH /edfs/itwins/{ITWIN}/timers/{TIMER}/toggle"]


async def test_a_read_whose_answer_has_the_wrong_shape_says_nothing_changed() -> None:
    async with tools_against(lambda request: (200, b'{"timers": [{"id": 7}]}')) as (tools, server):
        text = await tools.error("list_timers", {"itwin_id": ITWIN})
    assert "did not have the shape" in text and "Nothing was changed" in text
    assert writes(server) == []
