"""Streamable HTTP: loopback by default, DNS-rebinding protection, a bearer gate, size limits.

`edfs-mcp serve --sandbox --transport streamable-http` as a real process: one without a bearer and
one with, each shared by the tests of this module (none needs a fresh server: sessions are
per client, and each test reads only what it wrote or the seed).
"""

import json
from collections.abc import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.sandbox import seed
from tests.e2e.cli_in_process import Cli
from tests.harness import text_of
from tests.serving import HEADERS, INITIALIZE, serving_http

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

BEARER = "test-bearer-6f0c1d9a2b7e4c35a8d1"


@pytest.fixture(scope="module")
def open_url() -> Iterator[str]:
    """The /mcp URL of a server without a bearer."""
    with serving_http(["--sandbox"]) as serving:
        yield serving.url


@pytest.fixture(scope="module")
def bearer_url() -> Iterator[str]:
    """The /mcp URL of a server with EDFS_MCP_HTTP_BEARER."""
    with serving_http(["--sandbox"], {"EDFS_MCP_HTTP_BEARER": BEARER}) as serving:
        yield serving.url


async def test_streamable_http_transport(open_url: str) -> None:
    async with Client(open_url) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"execute_integration_package", "set_timer_enabled"} <= names
        result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
        assert not result.is_error, text_of(result)
        assert (result.structured_content or {})["timers"]


def test_a_foreign_host_or_origin_is_refused(open_url: str) -> None:
    url = open_url
    ok = httpx2.post(url, json=INITIALIZE, headers=HEADERS)
    assert ok.status_code == 200
    rebinding = httpx2.post(url, json=INITIALIZE, headers={**HEADERS, "Host": "evil.example:80"})
    assert rebinding.status_code in (400, 421)
    cross_site = httpx2.post(url, json=INITIALIZE, headers={**HEADERS, "Origin": "https://evil.example"})
    assert cross_site.status_code == 403


def test_an_oversized_request_is_refused(open_url: str) -> None:
    url = open_url
    huge = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * (2 * 1024 * 1024)}}
    response = httpx2.post(url, content=json.dumps(huge), headers=HEADERS)
    assert response.status_code == 413


def test_binding_off_loopback_without_a_bearer_refuses_to_start(cli: Cli) -> None:
    result = cli.run(
        "serve",
        "--sandbox",
        "--transport",
        "streamable-http",
        "--host",
        "0.0.0.0",  # noqa: S104 - refused before anything binds
    )
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0" in result.stderr and "EDFS_MCP_HTTP_BEARER" in result.stderr


async def test_with_a_bearer_every_request_needs_it(bearer_url: str) -> None:
    url = bearer_url
    assert httpx2.post(url, json=INITIALIZE, headers=HEADERS).status_code == 401
    wrong = {**HEADERS, "Authorization": "Bearer " + BEARER[:-1] + "0"}
    assert httpx2.post(url, json=INITIALIZE, headers=wrong).status_code == 401
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {BEARER}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        # A read, then a write: the timer is off in this server's own sandbox seed, so it is toggled.
        result = await client.call_tool(
            "set_timer_enabled",
            {
                "itwin_id": seed.ITWIN_NORTHGATE_BRIDGE,
                "timer_id": seed.TIMER_NORTHGATE_SAP_NIGHTLY,
                "enabled": True,
            },
        )
        # The sandbox would answer 401 to the MCP bearer: success shows EDFS got the server's own token.
        assert not result.is_error, text_of(result)


async def test_another_session_cannot_read_a_result(open_url: str) -> None:
    url = open_url
    async with (
        Client(streamable_http_client(url), mode="legacy") as first,
        Client(streamable_http_client(url), mode="legacy") as second,
    ):
        run = await first.call_tool(
            "execute_integration_package",
            {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK},
        )
        result_id = (run.structured_content or {})["result_id"]
        page = {"result_id": result_id, "offset": 100, "limit": 5}
        theirs = await second.call_tool("read_execution_result", page)
        assert theirs.is_error and "no such result for this session" in text_of(theirs)
        mine = await first.call_tool("read_execution_result", page)
        assert not mine.is_error and len((mine.structured_content or {})["rows"]) == 5


async def test_the_bearer_scheme_is_matched_in_any_case(bearer_url: str) -> None:
    url = bearer_url
    for accepted in (f"bearer {BEARER}", f"BEARER {BEARER}", f"BeArEr  {BEARER}"):
        response = httpx2.post(url, json=INITIALIZE, headers={**HEADERS, "Authorization": accepted})
        assert response.status_code == 200, accepted
    for refused in (f"Basic {BEARER}", f"Bearer{BEARER}", BEARER, f"bearer {BEARER.upper()}", "bearer"):
        response = httpx2.post(url, json=INITIALIZE, headers={**HEADERS, "Authorization": refused})
        assert response.status_code == 401, refused
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"bearer {BEARER}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("list_integration_packages", {})
        assert not result.is_error, text_of(result)
