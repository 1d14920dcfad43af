"""Token sources: a static token, and OAuth client credentials (service apps).

Both are ``RenewingTokenSource``s (``edfs_mcp.auth.renewing``): the cache, the leeway, the lock and
``reject`` live there; each says only how it gets a token.
"""

from __future__ import annotations

import math
import time
from typing import ClassVar

import httpx2

from edfs_mcp.auth.oauth import fetch_token, oauth_client
from edfs_mcp.auth.renewing import Clock, Renewal, RenewingTokenSource, token_expiry

__all__ = ["ClientCredentialsSource", "StaticTokenSource"]


class StaticTokenSource(RenewingTokenSource):
    """``EDFS_MCP_ACCESS_TOKEN``: used as given, never renewed (a refused token is not retried)."""

    renews: ClassVar[bool] = False

    def __init__(self, token: str, *, now: Clock = time.time) -> None:
        super().__init__(now=now)
        self._static = token

    async def _renew(self) -> Renewal:
        return Renewal(self._static, math.inf)  # its expiry is not ours to know: never stale


class ClientCredentialsSource(RenewingTokenSource):
    """A service app's own identity: ``grant_type=client_credentials``, renewed before expiry."""

    def __init__(
        self,
        *,
        token_endpoint: str,
        client_id: str,
        client_secret: str,
        scope: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        now: Clock = time.time,
    ) -> None:
        super().__init__(now=now)
        self._token_endpoint = token_endpoint
        self._client_id = client_id
        self._oauth = oauth_client(
            client_id,
            client_secret=client_secret,
            auth_method="client_secret_post",
            scope=scope,
            transport=transport,
            timeout=timeout,
        )

    async def _renew(self) -> Renewal:
        token = await fetch_token(
            self._oauth,
            self._token_endpoint,
            refused=f"the client credentials of {self._client_id!r}",
            hint="Check EDFS_MCP_CLIENT_ID and EDFS_MCP_CLIENT_SECRET.",
            grant_type="client_credentials",
        )
        access = token["access_token"]
        return Renewal(access, token_expiry(token, self._now()))

    async def aclose(self) -> None:
        await self._oauth.aclose()
