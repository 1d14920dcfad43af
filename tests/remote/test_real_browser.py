"""The team sign-in in a real browser: headless Chromium approves (or denies) our consent page.

An MCP client (the SDK's ``OAuthClientProvider``) registers with a real ``edfs-mcp serve`` process,
sends the person's browser to the authorization URL and waits on its loopback redirect URI, as a
desktop client does. The browser is Chromium, so Origin, Referrer-Policy, CSP ``form-action`` and
SameSite cookies behave as they do for people. The server is addressed as ``localhost`` and the
sandbox (Bentley) as ``127.0.0.1``: two sites, as the server and Bentley are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from playwright.async_api import Browser, Page, Route
from pydantic import AnyUrl

from edfs_mcp.sandbox import SandboxServer, seed
from tests.browser import ClientRedirect, chromium, client_redirect
from tests.harness import text_of
from tests.remote.harness import MemoryTokens, authorize_url, oauth_env, pkce, register
from tests.serving import Serving, free_port, serving_http

pytestmark = pytest.mark.anyio

CONSENT_TITLE = "Allow access to EDFS?"


@asynccontextmanager
async def team_server(sandbox: SandboxServer) -> AsyncIterator[Serving]:
    port = free_port()
    public = f"http://localhost:{port}"
    sandbox.accept_web_redirect(f"{public}/auth/callback")
    with serving_http(env=oauth_env(sandbox, public), port=port) as serving:
        yield serving


class Person:
    """A person at a real browser who answers our consent page and signs in at the sandbox."""

    def __init__(self, browser: Browser, username: str = seed.USER_ADMIN, approve: bool = True) -> None:
        self.browser = browser
        self.username = username
        self.approve = approve
        self.titles: list[str] = []
        self.statuses: list[tuple[int, str]] = []

    async def open(self, url: str) -> None:
        context = await self.browser.new_context()
        context.set_default_timeout(15_000)
        page = await context.new_page()
        page.on("response", lambda response: self.statuses.append((response.status, response.url)))
        await page.goto(url)
        await self._answer_consent(page)
        if self.approve:
            await self._sign_in(page)

    async def _title(self, page: Page) -> str:
        await page.wait_for_load_state()
        title = (await page.locator("h1").first.text_content() or "").strip()
        self.titles.append(title)
        return title

    async def _answer_consent(self, page: Page) -> None:
        title = await self._title(page)
        assert title == CONSENT_TITLE, f"{title}: {await page.content()}"
        async with page.expect_navigation():
            await page.click(f"button[value={'approve' if self.approve else 'deny'}]")

    async def _sign_in(self, page: Page) -> None:
        title = await self._title(page)
        assert title == "Sign in to the EDFS sandbox", f"{self.statuses}: {await page.content()}"
        await page.fill("input[name=username]", self.username)
        await page.fill("input[name=password]", seed.SANDBOX_PASSWORD)
        async with page.expect_navigation():
            await page.click("button[value=approve]")


def sdk_client_auth(url: str, person: Person, redirect: ClientRedirect) -> OAuthClientProvider:
    async def send_browser(authorization_url: str) -> None:
        await person.open(authorization_url)

    async def wait_for_code() -> AuthorizationCodeResult:
        query = await redirect.next()
        if "code" not in query:
            raise PermissionError(query.get("error", "no code"))
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Browser test client",
            redirect_uris=[AnyUrl(redirect.url)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=MemoryTokens(),
        redirect_handler=send_browser,
        callback_handler=wait_for_code,
    )


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_person_approves_in_chromium_and_the_client_calls_a_tool(
    sandbox: SandboxServer, mode: str
) -> None:
    async with chromium() as browser, team_server(sandbox) as served:
        person = Person(browser)
        url = f"http://localhost:{served.port}/mcp"
        with client_redirect() as redirect:
            auth = sdk_client_auth(url, person, redirect)
            async with (
                httpx2.AsyncClient(auth=auth, timeout=60) as http,
                Client(streamable_http_client(url, http_client=http), mode=mode) as client,
            ):
                result = await client.call_tool("list_integration_packages", {})
        assert not result.is_error, text_of(result)
        assert person.titles == [CONSENT_TITLE, "Sign in to the EDFS sandbox"]
        refused = [(status, at) for status, at in person.statuses if status >= 400]
        assert refused == [], refused


async def test_a_person_denies_in_chromium_and_the_client_gets_access_denied(
    sandbox: SandboxServer,
) -> None:
    async with chromium() as browser, team_server(sandbox) as served:
        person = Person(browser, approve=False)
        with client_redirect() as redirect:
            auth = sdk_client_auth(f"http://localhost:{served.port}/mcp", person, redirect)
            async with httpx2.AsyncClient(auth=auth, timeout=60) as http:
                with pytest.raises(PermissionError, match="access_denied"):
                    await http.get(f"http://localhost:{served.port}/mcp")
        assert person.titles == [CONSENT_TITLE]
        # Deny ends at our server: the person is never sent on to Bentley's sign-in.
        assert not [path for _, path in sandbox.state.requests if path.startswith("/connect/authorize")]


async def test_another_site_cannot_approve_for_the_person_in_chromium(sandbox: SandboxServer) -> None:
    """The person has our consent page open; a page on another site posts "approve" in the same browser."""
    async with chromium() as browser, team_server(sandbox) as served:
        base = f"http://localhost:{served.port}"
        async with httpx2.AsyncClient(timeout=30) as http:
            client = await register(http, base, name="Evil client")
        context = await browser.new_context()
        context.set_default_timeout(15_000)
        consent = await context.new_page()
        await consent.goto(authorize_url(base, client["client_id"], pkce()[1]))
        request_id = await consent.locator("input[name=request]").get_attribute("value")
        assert request_id
        forged_form = (
            f'<!doctype html><form method="post" action="{base}/consent">'
            f'<input type="hidden" name="request" value="{escape(request_id)}">'
            '<button name="action" value="approve">Win a prize</button></form>'
        )

        async def attacker_site(route: Route) -> None:
            await route.fulfill(status=200, content_type="text/html", body=forged_form)

        await context.route("http://attacker.test/**", attacker_site)
        attacker = await context.new_page()
        await attacker.goto("http://attacker.test/prize")
        async with attacker.expect_navigation() as navigation:
            await attacker.click("button")
        answer = await navigation.value
        assert answer is not None and answer.status == 403
        # The consent page itself still works for the person: the forged post changed nothing.
        async with consent.expect_navigation() as approving:
            await consent.click("button[value=approve]")
        reached = await approving.value
        assert reached is not None and reached.url.startswith(sandbox.base_url), reached.url
