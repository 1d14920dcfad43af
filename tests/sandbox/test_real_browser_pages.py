"""The sandbox's device page in a real browser (headless Chromium): a person approves a device sign-in.

The sign-in page (``/connect/authorize``) is driven in Chromium by tests/remote/test_real_browser.py.
"""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.browser import chromium
from tests.sandbox.oauth_helpers import poll, start_device

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("action", "title"), [("approve", "Signed in"), ("deny", "Denied")])
async def test_a_person_answers_the_device_page_in_chromium(
    server: SandboxServer, action: str, title: str
) -> None:
    with httpx2.Client(base_url=server.base_url, timeout=30) as http:
        device = start_device(http)
        async with chromium() as browser:
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            await page.goto(device["verification_uri_complete"])
            assert device["user_code"] in await page.content()
            await page.fill("input[name=username]", seed.USER_OPERATOR)
            await page.fill("input[name=password]", seed.SANDBOX_PASSWORD)
            async with page.expect_navigation() as navigation:
                await page.click(f"button[value={action}]")
            answered = await navigation.value
            shown = (await page.locator("h1").first.text_content() or "").strip()
        assert answered is not None and answered.status == 200 and shown == title
        token = poll(http, device["device_code"])
    if action == "approve":
        assert token.status_code == 200, token.text
    else:
        assert token.status_code == 400 and token.json()["error"] == "access_denied"
