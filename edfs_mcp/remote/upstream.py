"""Signing a person in at Bentley IMS as a confidential web app: authorization code + PKCE + secret.

The callback is ``<EDFS_MCP_PUBLIC_URL>/auth/callback``, registered with the app on
developer.bentley.com. Bentley's tokens stay on this server: they are sealed into the person's
record (``people``) and never handed to an MCP client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx2

from edfs_mcp.auth import token_expiry
from edfs_mcp.auth.discovery import Endpoints, discover
from edfs_mcp.errors import AuthError
from edfs_mcp.state.stores import Clock

__all__ = ["BentleyTokens", "BentleyWebApp", "pkce_challenge"]


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


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


def _claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: the token came straight from the token endpoint over TLS."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


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
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scope,
                "state": state,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoints.authorization}?{query}"

    def _oauth(self) -> Any:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        kwargs: dict[str, Any] = {"timeout": self._timeout}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            **kwargs,
        )

    async def _token_request(self, what: str, **form: str) -> dict[str, Any]:
        from authlib.integrations.base_client.errors import OAuthError

        endpoints = await self.endpoints()
        async with self._oauth() as oauth:
            try:
                token: dict[str, Any] = await oauth.fetch_token(endpoints.token, **form)
            except OAuthError as exc:
                raise AuthError(
                    f"Bentley refused the {what} ({exc.error}: {exc.description or 'no description'})."
                ) from None
            except httpx2.HTTPError as exc:
                raise AuthError(f"Could not reach Bentley's token endpoint ({type(exc).__name__}).") from None
        if not isinstance(token.get("access_token"), str) or not token["access_token"]:
            raise AuthError(f"Bentley answered the {what} without an access token.")
        return token

    async def _tokens(self, token: dict[str, Any], previous: BentleyTokens | None) -> BentleyTokens:
        access = str(token["access_token"])
        claims = _claims(access)
        subject = claims.get("sub")
        name = claims.get("name") or claims.get("email") or claims.get("preferred_username")
        if not isinstance(subject, str) or not subject:
            subject, name = await self._userinfo(access)
        if previous is not None and subject != previous.subject:
            raise AuthError("Bentley answered a refresh with another person's token.")
        refresh: str | None = token.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:  # not rotated: the current one still holds
            refresh = previous.refresh_token if previous is not None else None
        return BentleyTokens(
            access_token=access,
            refresh_token=refresh,
            expires_at=token_expiry(token, self._clock()),
            subject=subject,
            name=str(name or subject),
        )

    async def _userinfo(self, access: str) -> tuple[str, str | None]:
        endpoints = await self.endpoints()
        url = endpoints.userinfo or f"{self._authority}/connect/userinfo"
        try:
            async with httpx2.AsyncClient(transport=self._transport, timeout=self._timeout) as http:
                response = await http.get(url, headers={"Authorization": f"Bearer {access}"})
            info = response.json() if response.status_code == 200 else {}
        except (httpx2.HTTPError, ValueError):
            info = {}
        subject = info.get("sub") if isinstance(info, dict) else None
        if not isinstance(subject, str) or not subject:
            raise AuthError("Bentley's answer does not say who signed in (no subject).")
        name = info.get("name") or info.get("email")
        return subject, str(name) if name else None

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
