"""A server people sign in to, the sandbox as Bentley, and a person's browser, all over loopback HTTP.

- ``InProcess``: ``http_app`` with ``EDFS_MCP_HTTP_AUTH=oauth`` under uvicorn on 127.0.0.1 in a thread,
  with a clock the test moves (expiry without waiting).
- ``subprocess_server``: a real ``edfs-mcp serve --transport streamable-http`` process.
- ``Browser``: a person's browser (cookies, redirects followed by hand) that approves our consent
  page and signs in on the sandbox's sign-in page as a sandbox user.
- ``signed_in_client``: the MCP SDK's ``OAuthClientProvider``, whose redirect handler is ``Browser``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import uvicorn
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from edfs_mcp.config import Settings, load_settings
from edfs_mcp.http_transport import HttpLimits, http_app
from edfs_mcp.remote import RemoteAuth, build_remote_auth
from edfs_mcp.remote.registrations import RegistrationLimits
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from edfs_mcp.state.stores import KeyValueStore
from tests.serving import INITIALIZE, Serving, free_port, serving_http

CLIENT_REDIRECT = "http://127.0.0.1:5173/callback"  # the MCP client's own; never contacted
STATE_KEY = secrets.token_urlsafe(32)


def oauth_env(sandbox: SandboxServer, public_url: str, **extra: str) -> dict[str, str]:
    """What `edfs-mcp sandbox --as web` exports, for a server at ``public_url``."""
    return {
        "EDFS_MCP_API_BASE": sandbox.base_url,
        "EDFS_MCP_AUTHORITY": sandbox.base_url,
        "EDFS_MCP_CLIENT_ID": seed.WEB_CLIENT_ID,
        "EDFS_MCP_CLIENT_SECRET": seed.WEB_CLIENT_SECRET,
        "EDFS_MCP_HTTP_AUTH": "oauth",
        "EDFS_MCP_PUBLIC_URL": public_url,
        "EDFS_MCP_STATE_KEY": STATE_KEY,
        **extra,
    }


def oauth_settings(sandbox: SandboxServer, public_url: str) -> Settings:
    env = oauth_env(sandbox, public_url)
    return load_settings(**{name.removeprefix("EDFS_MCP_").lower(): value for name, value in env.items()})


class Clock:
    """Wall time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class InProcess:
    url: str  # the MCP endpoint
    base: str
    remote: RemoteAuth
    clock: Clock


@contextmanager
def in_process(
    sandbox: SandboxServer,
    *,
    store: KeyValueStore | None = None,
    registrations: RegistrationLimits | None = None,
) -> Iterator[InProcess]:
    """``EDFS_MCP_HTTP_AUTH=oauth`` served by uvicorn on 127.0.0.1, in a thread (uvicorn's defaults:
    ``X-Forwarded-For`` from loopback is the client's address)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox.accept_web_redirect(f"{base}/auth/callback")
    settings = oauth_settings(sandbox, base)
    clock = Clock()
    remote = build_remote_auth(settings, clock=clock, store=store, registrations=registrations)
    server = build_server(settings, client_for=remote.client_for, setup_desk=remote.setup_desk)
    app = http_app(server, host="127.0.0.1", bearer=None, extra_hosts=[], limits=HttpLimits(), remote=remote)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield InProcess(f"{base}/mcp", base, remote, clock)
    finally:
        running.should_exit = True
        thread.join(20)


@contextmanager
def subprocess_server(sandbox: SandboxServer, **extra: str) -> Iterator[Serving]:
    """A real `edfs-mcp serve --transport streamable-http` with EDFS_MCP_HTTP_AUTH=oauth."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox.accept_web_redirect(f"{base}/auth/callback")
    with serving_http(
        env=oauth_env(sandbox, base, EDFS_MCP_LOG_LEVEL="DEBUG", **extra), port=port
    ) as serving:
        yield serving


def form_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the page's form."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {unescape(name): unescape(value) for name, value in found}


@dataclass
class Browser:
    """A person's browser: keeps cookies, follows redirects by hand, fills in the two pages."""

    username: str = seed.USER_ADMIN
    approve_consent: bool = True
    http: httpx2.AsyncClient = field(default_factory=lambda: httpx2.AsyncClient(timeout=30))
    consent_pages: int = 0
    seen: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def go(self, url: str, stop_at: str = CLIENT_REDIRECT) -> str:
        """Follow ``url`` through our consent page and the sandbox's sign-in page; the URL that
        reaches the MCP client's redirect URI (``stop_at``)."""
        response = await self.http.get(url)
        for _ in range(20):
            self.seen.append(str(response.url))
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(stop_at):
                    return location
                response = await self.http.get(location)
                continue
            assert response.status_code == 200, (
                f"{response.status_code} at {response.url}: {response.text[:500]}"
            )
            path = urlsplit(str(response.url)).path
            if path == "/consent" or "Allow access to EDFS" in response.text:
                self.consent_pages += 1
                fields = form_fields(response.text)
                action = "approve" if self.approve_consent else "deny"
                target = urljoin(str(response.url), "/consent")
                response = await self.http.post(target, data={**fields, "action": action})
            elif path == "/connect/authorize":
                fields = form_fields(response.text)
                response = await self.http.post(
                    str(response.url).split("?")[0],
                    data={
                        **fields,
                        "username": self.username,
                        "password": seed.SANDBOX_PASSWORD,
                        "action": "approve",
                    },
                )
            else:
                raise AssertionError(f"unexpected page {response.url}")
        raise AssertionError("too many steps")


class MemoryTokens:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def sdk_auth(
    url: str, browser: Browser, storage: MemoryTokens | None = None, name: str = "Test client"
) -> OAuthClientProvider:
    """The MCP SDK's OAuth client: discovers, registers, sends the person's browser, exchanges."""
    reached: dict[str, str] = {}

    async def redirect(authorization_url: str) -> None:
        reached["url"] = await browser.go(authorization_url)

    async def callback() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(reached.pop("url")).query)
        assert "code" in query, query
        assert query.get("iss"), query  # RFC 9207: the SDK checks it against the issuer it expects
        return AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query["iss"][0]
        )

    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name=name,
            redirect_uris=[AnyUrl(CLIENT_REDIRECT)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage or MemoryTokens(),
        redirect_handler=redirect,
        callback_handler=callback,
    )


@asynccontextmanager
async def signed_in(url: str, browser: Browser, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    """A real MCP client connected to ``url`` as the person ``browser`` signs in as."""
    auth = sdk_auth(url, browser, **kwargs)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=60) as client,
    ):
        yield client


# --- driving the OAuth endpoints by hand (the attacks) ------------------------------------------


def pkce() -> tuple[str, str]:
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


async def register(
    http: httpx2.AsyncClient, base: str, name: str = "Hand client", redirect: str = CLIENT_REDIRECT
) -> dict[str, Any]:
    response = await http.post(
        f"{base}/register",
        json={
            "client_name": name,
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


def authorize_url(base: str, client_id: str, challenge: str | None, **extra: str) -> str:
    from urllib.parse import urlencode

    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CLIENT_REDIRECT,
        "state": "st-" + secrets.token_hex(4),
        "resource": f"{base}/mcp",
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **extra,
    }
    return f"{base}/authorize?{urlencode(params)}"


async def code_for(browser: Browser, base: str, client_id: str, challenge: str) -> str:
    reached = await browser.go(authorize_url(base, client_id, challenge))
    query = parse_qs(urlsplit(reached).query)
    assert "code" in query, reached
    return query["code"][0]


async def exchange(
    http: httpx2.AsyncClient,
    base: str,
    client_id: str,
    code: str,
    verifier: str | None,
    redirect: str = CLIENT_REDIRECT,
) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data["resource"] = f"{base}/mcp"
    return await http.post(f"{base}/token", data=data)


async def mcp_ping(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    """An ``initialize`` with ``token``: 200 when the token is accepted."""
    return await http.post(
        url,
        json=INITIALIZE,
        headers={
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
