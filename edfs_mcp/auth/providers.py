"""Token sources: a static token, and OAuth client credentials (service apps)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2

from edfs_mcp.errors import AuthError

__all__ = ["ClientCredentialsSource", "StaticTokenSource"]

# Renew this long before expiry, so a token never dies in flight.
REFRESH_LEEWAY_SECONDS = 60.0


class StaticTokenSource:
    """``EDFS_MCP_ACCESS_TOKEN``: used as given, never refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    @property
    def description(self) -> str:
        return "static access token (EDFS_MCP_ACCESS_TOKEN)"

    async def get_token(self) -> str:
        return self._token

    async def reject(self, token: str) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class ClientCredentialsSource:
    """A service app's own identity: ``grant_type=client_credentials``, renewed before expiry.

    One renewal at a time: concurrent callers wait on the lock and reuse the new token.
    """

    def __init__(
        self,
        *,
        token_endpoint: str,
        client_id: str,
        client_secret: str,
        scope: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        # authlib loads here, on first use, not when the server starts.
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        self._token_endpoint = token_endpoint
        self._client_id = client_id
        kwargs: dict[str, Any] = {"timeout": timeout}
        if transport is not None:
            kwargs["transport"] = transport
        self._oauth = AsyncOAuth2Client(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
            **kwargs,
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()

    @property
    def description(self) -> str:
        return f"client credentials (client id {self._client_id})"

    @property
    def expires_at(self) -> float:
        """When the current token expires (epoch seconds); 0 before the first one."""
        return self._expires_at

    def _fresh(self) -> str | None:
        if self._token and time.time() < self._expires_at - REFRESH_LEEWAY_SECONDS:
            return self._token
        return None

    async def get_token(self) -> str:
        token = self._fresh()
        if token:
            return token
        async with self._lock:
            token = self._fresh()
            if token:
                return token
            return await self._fetch()

    async def _fetch(self) -> str:
        from authlib.integrations.base_client.errors import OAuthError

        try:
            token = await self._oauth.fetch_token(self._token_endpoint, grant_type="client_credentials")
        except OAuthError as exc:
            # The authority's error code and description carry no secret.
            raise AuthError(
                f"The authority refused the client credentials of {self._client_id!r} "
                f"({exc.error}: {exc.description or 'no description'}). Check EDFS_MCP_CLIENT_ID and "
                "EDFS_MCP_CLIENT_SECRET."
            ) from None
        except httpx2.HTTPError as exc:
            raise AuthError(
                f"Could not reach the token endpoint {self._token_endpoint} ({type(exc).__name__})."
            ) from None
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError(f"The token endpoint {self._token_endpoint} answered without an access_token.")
        expires_in = token.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token = access
        self._expires_at = time.time() + lifetime
        return access

    async def reject(self, token: str) -> bool:
        async with self._lock:
            if self._token == token:
                self._token = None
        return True

    async def aclose(self) -> None:
        await self._oauth.aclose()
