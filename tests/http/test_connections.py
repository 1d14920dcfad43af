"""Streamable HTTP connections: capped, evicted oldest-idle first, and dropped when they send no request.

A local client holding hundreds of half-open connections, more than the server's open-file limit,
must neither lock a legitimate client out nor make the server write its log in a loop.
"""

import functools
import resource
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import text_of, wait_for
from tests.http._server import http_server
from tests.serving import HEADERS, INITIALIZE

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="rlimits and socket behaviour of Linux"),
    pytest.mark.real_process,
]

PARTIAL_REQUEST = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # headers never finished


def _limit_open_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@contextmanager
def _held(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never complete a request (every other one sends half of one)."""
    with ExitStack() as stack:
        sockets = []
        for i in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            if i % 2:
                sock.sendall(PARTIAL_REQUEST)
            sockets.append(sock)
        yield sockets


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (EOF or reset); False while it is open and silent."""
    sock.setblocking(False)
    try:
        while data := sock.recv(4096):
            assert b"HTTP/1.1 200" not in data, data
        return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _ensure_own_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"this test needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def test_a_half_open_flood_past_the_file_limit_neither_locks_out_a_client_nor_fills_the_log() -> None:
    held = 600  # more than the server may open (256): on accept() errors asyncio logs without pause
    _ensure_own_open_files(held + 200)
    with (
        http_server(_limit_open_files(256), EDFS_MCP_HTTP_MAX_CONNECTIONS="40") as served,
        _held(served.port, held),
    ):
        started = time.monotonic()
        with anyio.fail_after(30):
            async with Client(streamable_http_client(served.url), mode="legacy") as client:
                result = await client.call_tool("list_integration_packages", {})
        print(f"legitimate client served in {time.monotonic() - started:.2f} s during the flood")
        assert not result.is_error, text_of(result)
        log = served.stderr()
        assert "out of system resource" not in log and "Too many open files" not in log, log[-3000:]
        assert served.stderr_bytes() < 16 * 1024, log[-3000:]


def test_at_the_cap_the_least_recently_active_idle_connection_makes_room() -> None:
    with (
        http_server(EDFS_MCP_HTTP_MAX_CONNECTIONS="4", EDFS_MCP_HTTP_REQUEST_READ_SECONDS="60") as served,
        _held(served.port, 4) as first_four,
        socket.create_connection(("127.0.0.1", served.port), timeout=10) as fifth,
    ):
        # The oldest goes, whatever it sent, and only it.
        wait_for(lambda: _closed_by_server(first_four[0]), what="the oldest connection to be closed")
        assert not any(_closed_by_server(sock) for sock in [*first_four[1:], fifth])
        # A client with a whole request gets in however many idle ones are held.
        response = httpx2.post(served.url, json=INITIALIZE, headers=HEADERS, timeout=30)
        assert response.status_code == 200
        wait_for(lambda: _closed_by_server(first_four[1]), what="the next oldest to make room")


def test_a_connection_that_sends_no_whole_request_in_time_is_closed() -> None:
    with (
        http_server(EDFS_MCP_HTTP_REQUEST_READ_SECONDS="0.3") as served,
        _held(served.port, 2) as (silent, half_headers),
        socket.create_connection(("127.0.0.1", served.port), timeout=10) as half_body,
    ):
        half_body.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"
        )
        for sock, what in ((silent, "silent"), (half_headers, "half headers"), (half_body, "half a body")):
            wait_for(functools.partial(_closed_by_server, sock), what=f"the {what} connection to be closed")
        # A whole request is served as before.
        with httpx2.Client(timeout=30) as http:
            assert http.post(served.url, json=INITIALIZE, headers=HEADERS).status_code == 200
