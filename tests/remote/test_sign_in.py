"""A real MCP client that knows only the URL signs a person in and calls tools as that person."""

from __future__ import annotations

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import text_of
from tests.remote.harness import Browser, signed_in, subprocess_server

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]


async def test_a_client_that_knows_only_the_url_signs_in_and_calls_as_the_person(
    sandbox: SandboxServer,
) -> None:
    browser = Browser(username=seed.USER_ADMIN)
    with subprocess_server(sandbox) as served:
        async with signed_in(served.url, browser) as client:
            result = await client.call_tool("list_integration_packages", {})
            assert not result.is_error, text_of(result)
        stderr = served.stderr()
    await browser.aclose()
    assert browser.consent_pages == 1
    assert "lost when it stops" in stderr
    # No token or code of ours, nor Bentley's, in the server's log.
    for secret in ("edfs_at_", "edfs_rt_", "edfs_ac_", "eyJ", seed.WEB_CLIENT_SECRET):
        assert secret not in stderr, secret
