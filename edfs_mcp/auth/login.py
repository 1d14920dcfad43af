"""Interactive sign-in, sign-out and status for a person, shared by the CLI and the server.

Device code first when the authority offers it (RFC 8628); browser + PKCE on the loopback
redirect otherwise, or when the authority refuses the device grant for this client.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread
import httpx2

from edfs_mcp.auth.device_flow import DeviceAuthorization, DeviceFlowRefused, DeviceSignIn, Sleep
from edfs_mcp.auth.discovery import Endpoints, discover
from edfs_mcp.auth.loopback import LoopbackRedirect, sign_in_with_browser
from edfs_mcp.auth.oauth import oauth_client, who_signed_in
from edfs_mcp.auth.renewing import Clock
from edfs_mcp.auth.store import StoredTokens, TokenStore, open_token_store, token_key
from edfs_mcp.auth.user import UserTokenSource, stored_from_response
from edfs_mcp.config import Settings
from edfs_mcp.errors import AuthError, ConfigError

__all__ = ["Presenter", "SignInSetup", "login", "logout", "status"]


class Presenter(Protocol):
    """How a sign-in is shown to a person (terminal for the CLI)."""

    def device_code(self, authorization: DeviceAuthorization) -> None: ...
    def browser_url(self, url: str) -> None: ...
    def notice(self, text: str) -> None: ...


@dataclass
class SignInSetup:
    """Everything a person's sign-in needs, derived once from settings.

    ``now`` and ``sleep``: the clock tokens and codes expire on, and how the device flow waits
    between polls (tests pass fakes, with the sandbox in-process as ``transport``).
    """

    settings: Settings
    client_id: str
    store: TokenStore
    key: str
    transport: httpx2.AsyncBaseTransport | None = None
    _endpoints: Endpoints | None = None
    now: Clock = field(default=time.time)
    sleep: Sleep = field(default=anyio.sleep)

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None
    ) -> SignInSetup:
        if not settings.client_id:
            raise ConfigError(
                "EDFS_MCP_CLIENT_ID is not set: register a Desktop/Mobile (native) app on "
                "developer.bentley.com with the itwin-platform scope and set its client id."
            )
        store = open_token_store(settings.token_store, settings.token_directory)
        return cls(
            settings,
            settings.client_id,
            store,
            token_key(settings.authority_root, settings.client_id),
            transport,
        )

    async def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            configured = self.settings.device_authorization_endpoint
            self._endpoints = await discover(
                self.settings.authority_root,
                configured_device_endpoint=str(configured) if configured else None,
                transport=self.transport,
            )
        return self._endpoints

    def token_source(self, *, sign_in_in_session: bool = True) -> UserTokenSource:
        return UserTokenSource(
            client_id=self.client_id,
            scope=self.settings.user_scopes,
            key=self.key,
            store=self.store,
            endpoints=self.endpoints,
            transport=self.transport,
            sign_in_in_session=sign_in_in_session,
            now=self.now,
        )


async def _with_device(
    setup: SignInSetup, endpoints: Endpoints, oauth: Any, presenter: Presenter
) -> dict[str, Any]:
    assert endpoints.device_authorization is not None
    sign_in = await DeviceSignIn.start(
        oauth,
        device_endpoint=endpoints.device_authorization,
        token_endpoint=endpoints.token,
        client_id=setup.client_id,
        scope=setup.settings.user_scopes,
        show=presenter.device_code,
        transport=setup.transport,
        now=setup.now,
        sleep=setup.sleep,
    )
    return await sign_in.wait()


async def _with_browser(
    setup: SignInSetup, endpoints: Endpoints, oauth: Any, presenter: Presenter
) -> dict[str, Any]:
    return await sign_in_with_browser(
        oauth,
        authorization_endpoint=endpoints.authorization,
        token_endpoint=endpoints.token,
        redirect=LoopbackRedirect(setup.settings.redirect_uri),
        show_url=presenter.browser_url,
    )


async def login(setup: SignInSetup, presenter: Presenter, flow: str = "auto") -> StoredTokens:
    """Sign a person in and save the tokens. ``flow``: auto | device | browser.

    A token store that could not keep the tokens safely is refused before anyone signs in.
    """
    await anyio.to_thread.run_sync(setup.store.check)
    endpoints = await setup.endpoints()
    oauth = oauth_client(setup.client_id, scope=setup.settings.user_scopes, transport=setup.transport)
    try:
        if flow == "device" and endpoints.device_authorization is None:
            raise AuthError(
                "The authority advertises no device authorization endpoint; set "
                "EDFS_MCP_DEVICE_AUTHORIZATION_ENDPOINT or use --flow browser."
            )
        used = "device" if flow != "browser" and endpoints.device_authorization else "browser"
        run: Callable[..., Awaitable[dict[str, Any]]] = _with_device if used == "device" else _with_browser
        try:
            response = await run(setup, endpoints, oauth, presenter)
        except DeviceFlowRefused as exc:
            if flow == "device":
                raise
            presenter.notice(f"{exc} Signing in with the browser instead.")
            used = "browser"
            response = await _with_browser(setup, endpoints, oauth, presenter)
    finally:
        await oauth.aclose()
    tokens = stored_from_response(response, used, now=setup.now())
    person = await who_signed_in(tokens.access_token, endpoints.userinfo, transport=setup.transport)
    tokens = StoredTokens(**{**tokens.__dict__, "name": person.name, "subject": person.subject})
    await anyio.to_thread.run_sync(setup.store.save, setup.key, tokens)
    return tokens


async def logout(setup: SignInSetup) -> tuple[bool, bool]:
    """Forget the tokens; revoke the refresh token where supported. Returns (had tokens, revoked)."""
    tokens = await anyio.to_thread.run_sync(setup.store.load, setup.key)
    revoked = False
    if tokens is not None and tokens.refresh_token:
        endpoints = await setup.endpoints()
        if endpoints.revocation:
            try:
                async with httpx2.AsyncClient(transport=setup.transport, timeout=15) as http:
                    response = await http.post(
                        endpoints.revocation,
                        data={
                            "token": tokens.refresh_token,
                            "token_type_hint": "refresh_token",
                            "client_id": setup.client_id,
                        },
                    )
                revoked = response.status_code == 200
            except httpx2.HTTPError:
                revoked = False
    await anyio.to_thread.run_sync(setup.store.delete, setup.key)
    return tokens is not None, revoked


@dataclass(frozen=True)
class Status:
    signed_in: bool
    name: str | None
    flow: str | None
    expires_in: float | None
    refreshable: bool
    location: str
    problem: str | None


async def status(setup: SignInSetup) -> Status:
    tokens = await anyio.to_thread.run_sync(setup.store.load, setup.key)
    if tokens is None:
        return Status(False, None, None, None, False, setup.store.location, setup.store.problem)
    return Status(
        signed_in=True,
        name=tokens.name,
        flow=tokens.flow,
        expires_in=tokens.expires_at - setup.now(),
        refreshable=tokens.refresh_token is not None,
        location=setup.store.location,
        problem=None,
    )
