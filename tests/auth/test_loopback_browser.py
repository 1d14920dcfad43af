"""`edfs-mcp auth login --browser` with a person in a real browser (Chromium): the sandbox's sign-in
page, then the loopback listener's own page, which must render and say the sign-in worked."""

from __future__ import annotations

import anyio
import pytest

from edfs_mcp.auth.device_flow import DeviceAuthorization
from edfs_mcp.auth.login import SignInSetup, login
from edfs_mcp.auth.store import StoredTokens
from edfs_mcp.config import environment_without_settings, settings_in
from edfs_mcp.sandbox import SandboxServer, seed
from tests.browser import chromium

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]


class BrowserPerson:
    """A Presenter that opens the authorize URL in Chromium and signs in as the sandbox's operator."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.opened = anyio.Event()

    def device_code(self, authorization: DeviceAuthorization) -> None:
        raise AssertionError("the browser flow was asked for")

    def browser_url(self, url: str) -> None:
        self.url = url
        self.opened.set()

    def notice(self, text: str) -> None:
        pass


async def test_a_person_signs_in_with_the_browser_and_sees_the_loopback_page() -> None:
    with SandboxServer() as sandbox:
        environ = environment_without_settings() | {
            "EDFS_MCP_AUTHORITY": sandbox.base_url,
            "EDFS_MCP_API_BASE": sandbox.base_url,
            "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
            "EDFS_MCP_REDIRECT_URI": "http://127.0.0.1:0/signin-callback",
            "EDFS_MCP_TOKEN_STORE": "memory",
        }
        setup = SignInSetup.from_settings(settings_in(environ))
        person = BrowserPerson()
        signed_in: list[StoredTokens] = []

        async def sign_in() -> None:
            signed_in.append(await login(setup, person, flow="browser"))

        async with chromium() as browser, anyio.create_task_group() as group:
            group.start_soon(sign_in)
            await person.opened.wait()
            assert person.url is not None
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            await page.goto(person.url)
            assert (
                await page.locator("h1").first.text_content() or ""
            ).strip() == "Sign in to the EDFS sandbox"
            await page.fill("input[name=username]", seed.USER_OPERATOR)
            await page.fill("input[name=password]", seed.SANDBOX_PASSWORD)
            async with page.expect_navigation():
                await page.click("button[value=approve]")
            await page.wait_for_load_state()
            assert page.url.startswith("http://127.0.0.1:")
            assert await page.locator("h1").text_content() == "Signed in"
            assert "You can close this tab" in (await page.locator("p").text_content() or "")
            assert await page.title() == "Signed in"
        [tokens] = signed_in
        assert tokens.flow == "browser" and tokens.refresh_token
        assert setup.store.load(setup.key) == tokens
