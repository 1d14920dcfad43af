"""Signing a person in at Bentley IMS as a confidential web app: authorization code + PKCE + secret.

The callback is ``<EDFS_MCP_PUBLIC_URL>/auth/callback``, registered with the app on
developer.bentley.com. Bentley's tokens stay on this server: they are sealed into the person's
record (``people``) and never handed to an MCP client. The OAuth client, PKCE, "who signed in" and
the refresh-token rule are the local sign-in's (``edfs_mcp.auth.oauth``); only the secret differs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from edfs_mcp.auth import token_expiry
from edfs_mcp.auth.discovery import Endpoints, discover
from edfs_mcp.auth.oauth import fetch_token, kept_refresh_token, oauth_client, who_signed_in
from edfs_mcp.config import userinfo_endpoint_of
from edfs_mcp.errors import AuthError
from edfs_mcp.state.stores import Clock

__all__ = ["BentleyTokens", "BentleyWebApp"]


@dataclass(frozen=True)
class BentleyTokens:
    access_token: str
    refresh_token: str | None
    expires_at: float
    subject: str
    name: str

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> BentleyTokens | None:
        try:
            data = json.loads(raw)
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=data.get("refresh_token"),
                expires_at=float(data["expires_at"]),
                subject=str(data["subject"]),
                name=str(data.get("name") or data["subject"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


class BentleyWebApp:
    """The server's own Bentley app; one per process, shared by every person's sign-in."""

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        client_secret: str,
        scope: str,
        redirect_uri: str,
        clock: Clock = time.time,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._authority = authority.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.redirect_uri = redirect_uri
        self._clock = clock
        self._transport = transport
        self._timeout = timeout
        self._endpoints: Endpoints | None = None
        self._lock = anyio.Lock()

    async def endpoints(self) -> Endpoints:
        async with self._lock:
            if self._endpoints is None:
                self._endpoints = await discover(
                    self._authority, transport=self._transport, timeout=self._timeout
                )
            return self._endpoints

    async def authorize_url(self, *, state: str, verifier: str) -> str:
        endpoints = await self.endpoints()
        async with self._oauth() as oauth:
            url: str = oauth.create_authorization_url(
                endpoints.authorization, redirect_uri=self.redirect_uri, state=state, code_verifier=verifier
            )[0]
        return url

    def _oauth(self) -> Any:
        return oauth_client(
            self.client_id,
            client_secret=self._secret,
            auth_method="client_secret_basic",
            scope=self.scope,
            transport=self._transport,
            timeout=self._timeout,
        )

    async def _token_request(self, what: str, **form: str) -> dict[str, Any]:
        endpoints = await self.endpoints()
        async with self._oauth() as oauth:
            return await fetch_token(oauth, endpoints.token, refused=f"the {what}", **form)

    async def _tokens(self, token: dict[str, Any], previous: BentleyTokens | None) -> BentleyTokens:
        access = str(token["access_token"])
        userinfo = (await self.endpoints()).userinfo or userinfo_endpoint_of(self._authority)
        person = await who_signed_in(access, userinfo, transport=self._transport, timeout=self._timeout)
        if person.subject is None:
            raise AuthError("Bentley's answer does not say who signed in (no subject).")
        if previous is not None and person.subject != previous.subject:
            raise AuthError("Bentley answered a refresh with another person's token.")
        return BentleyTokens(
            access_token=access,
            refresh_token=kept_refresh_token(token, previous.refresh_token if previous else None),
            expires_at=token_expiry(token, self._clock()),
            subject=person.subject,
            name=person.name or person.subject,
        )

    async def exchange(self, code: str, verifier: str) -> BentleyTokens:
        token = await self._token_request(
            "sign-in",
            grant_type="authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=verifier,
        )
        return await self._tokens(token, None)

    async def refresh(self, current: BentleyTokens) -> BentleyTokens:
        if not current.refresh_token:
            raise AuthError("The Bentley sign-in has no refresh token.")
        token = await self._token_request(
            "refresh of the sign-in", grant_type="refresh_token", refresh_token=current.refresh_token
        )
        return await self._tokens(token, current)
