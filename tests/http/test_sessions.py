"""Streamable HTTP sessions are capped and expire; at the cap the least recently used idle one goes."""

import sys

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import text_of, wait_for
from tests.http._server import http_server, initialize, initialize_many, ping
from tests.serving import HEADERS, INITIALIZE

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

VERSION = "2025-11-25"  # the era with sessions


def test_at_the_cap_the_least_recently_used_idle_session_makes_room() -> None:
    with http_server(EDFS_MCP_HTTP_MAX_SESSIONS="3") as served, httpx2.Client(timeout=30) as http:
        first, second, third = (initialize(http, served.url) for _ in range(3))
        assert ping(http, served.url, first).status_code == 200  # `second` is now the least recently used
        fourth = initialize(http, served.url)  # not 503: `second` made room
        gone = ping(http, served.url, second)
        assert gone.status_code == 404 and "Session not found" in gone.text
        for kept in (first, third, fourth):
            assert ping(http, served.url, kept).status_code == 200
        initialize(http, served.url)  # and so on: `first` is next
        assert ping(http, served.url, first).status_code == 404


async def test_a_session_flood_does_not_lock_out_a_client() -> None:
    with (
        http_server(EDFS_MCP_HTTP_MAX_SESSIONS="5") as served,
        httpx2.Client(timeout=30) as http,
        httpx2.Client(timeout=30) as listener,
    ):
        listening = initialize(listener, served.url)
        stream = {"Accept": "text/event-stream", "mcp-session-id": listening, "mcp-protocol-version": VERSION}
        with listener.stream("GET", served.url, headers=stream) as events:
            assert events.status_code == 200  # a client waiting for server messages, as SDK clients do
            flood = initialize_many(served.url, 200)  # each answered 200, none 503
            assert ping(http, served.url, listening).status_code == 200  # the flood evicted its own
        assert ping(http, served.url, flood[0]).status_code == 404
        assert ping(http, served.url, flood[-1]).status_code == 200
        async with Client(streamable_http_client(served.url), mode="legacy") as newcomer:
            result = await newcomer.call_tool("list_integration_packages", {})
            assert not result.is_error, text_of(result)


async def test_an_evicted_client_is_told_its_session_is_gone_and_a_new_one_works() -> None:
    with http_server(EDFS_MCP_HTTP_MAX_SESSIONS="1") as served, httpx2.Client(timeout=30) as http:
        async with Client(streamable_http_client(served.url), mode="legacy") as evicted:
            # The only slot: the client's session goes once its last request (the `initialized`
            # notification, which may still be in flight) is answered; till then a busy session is kept.
            wait_for(lambda: _opens(http, served.url), what="a new session to take the slot")
            with anyio.fail_after(30):
                result = await _call_until_refused(evicted)
            assert "Session not found" in str(result)  # our 404, as the SDK client reports it
        async with Client(streamable_http_client(served.url), mode="legacy") as again:
            assert not (await again.call_tool("list_integration_packages", {})).is_error


def _opens(http: httpx2.Client, url: str) -> bool:
    return http.post(url, json=INITIALIZE, headers=HEADERS).status_code == 200


async def _call_until_refused(client: Client) -> BaseException:
    try:
        await client.call_tool("list_integration_packages", {})
    except Exception as exc:
        return exc
    raise AssertionError("the evicted session still answered")


def test_an_idle_session_expires() -> None:
    with (
        http_server(EDFS_MCP_HTTP_SESSION_IDLE_SECONDS="0.3", EDFS_MCP_LOG_LEVEL="INFO") as served,
        httpx2.Client(timeout=30) as http,
    ):
        session = initialize(http, served.url)
        busy = initialize(http, served.url)
        # Asking would keep one alive: watch the server say each expired, then ask. (Both, not only
        # the first: `busy` opened a moment later and may expire a moment later too.)
        expired = [f"Session {opened} idle timeout" for opened in (session, busy)]
        wait_for(lambda: all(line in served.stderr() for line in expired), what="the idle timeouts")
        assert ping(http, served.url, session).status_code == 404
        assert ping(http, served.url, busy).status_code == 404


async def test_the_sessionless_era_takes_no_session_slot() -> None:
    with http_server(EDFS_MCP_HTTP_MAX_SESSIONS="1") as served:
        async with (
            Client(streamable_http_client(served.url), mode="legacy") as legacy,
            Client(streamable_http_client(served.url)) as modern,
            Client(streamable_http_client(served.url)) as other,
        ):
            for client in (legacy, modern, other, legacy):
                result = await client.call_tool("list_integration_packages", {})
                assert not result.is_error, text_of(result)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_and_log_stay_bounded_under_a_session_flood() -> None:
    with http_server(EDFS_MCP_HTTP_MAX_SESSIONS="20") as served:
        initialize_many(served.url, 100)  # warm up: imports, caches, the allocator's arenas
        before = served.rss_bytes()
        initialize_many(served.url, 2000)  # unbounded, these took ~75 MB (37 kB each)
        grown = served.rss_bytes() - before
        assert grown < 25 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB"
        assert served.stderr_bytes() < 16 * 1024, served.stderr()[-2000:]
        assert "similar lines suppressed" in served.stderr()
