"""From settings to a ready EdfsClient: which token source, which transport.

The embedded sandbox runs in-process (an ASGI transport, no port) when no
credentials are configured or ``EDFS_MCP_SANDBOX`` is set. It is imported and built only then,
by the first tool call (the server calls ``open_client`` lazily), never at start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx2

from edfs_mcp.api import EdfsClient, Timeouts
from edfs_mcp.auth import ClientCredentialsSource, StaticTokenSource, TokenSource
from edfs_mcp.config import CredentialSource, Settings, token_endpoint_of

__all__ = ["SANDBOX_BASE_URL", "open_client", "service_token_source"]

logger = logging.getLogger("edfs_mcp.backend")

# In-process requests never leave the process; the name only has to be a valid URL host.
SANDBOX_BASE_URL = "http://sandbox.invalid"


def service_token_source(settings: Settings) -> ClientCredentialsSource:
    """The token source of a service app (EDFS_MCP_CLIENT_ID + EDFS_MCP_CLIENT_SECRET)."""
    assert settings.client_id is not None and settings.client_secret is not None
    return ClientCredentialsSource(
        token_endpoint=settings.token_endpoint,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        scope=settings.scopes,
        timeout=settings.read_timeout,
    )


def open_client(
    settings: Settings,
    *,
    tokens: TokenSource | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> EdfsClient:
    """The API client for ``settings``; with ``tokens``, one that calls as whoever they belong to
    (``EDFS_MCP_HTTP_AUTH=oauth``: one client per person, each with that person's token source).
    ``sleep``: what the retry loop waits with (EdfsClient's; tests pass one that does not really wait)."""
    transport: httpx2.AsyncBaseTransport | None = None
    api_base = settings.api_root
    if tokens is None:
        tokens, transport, api_base = _configured_tokens(settings)
    return EdfsClient(
        api_base=api_base,
        tokens=tokens,
        timeouts=Timeouts(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            long_read=settings.execute_timeout,
            call=settings.call_timeout,
        ),
        max_rate_limit_wait=settings.max_rate_limit_wait,
        max_response_bytes=settings.max_response_bytes,
        transport=transport,
        sleep=sleep,
    )


def _configured_tokens(settings: Settings) -> tuple[TokenSource, httpx2.AsyncBaseTransport | None, str]:
    """The configured credential's token source, with the transport and API base it goes with."""
    source = settings.credential_source()
    if source is CredentialSource.PEOPLE:
        from edfs_mcp.errors import ConfigError

        raise ConfigError("EDFS_MCP_HTTP_AUTH=oauth: each API client belongs to a person signed in over MCP")
    if source is CredentialSource.SANDBOX:
        from edfs_mcp.sandbox import build_app, seed

        logger.info("building the in-process sandbox (first tool call)")
        transport = httpx2.ASGITransport(app=build_app())
        sandbox = ClientCredentialsSource(
            token_endpoint=token_endpoint_of(SANDBOX_BASE_URL),
            client_id=seed.CLIENT_ADMIN_ID,
            client_secret=seed.CLIENT_ADMIN_SECRET,
            scope="itwin-platform",
            transport=transport,
        )
        return sandbox, transport, SANDBOX_BASE_URL
    if source is CredentialSource.USER:
        from edfs_mcp.auth.login import SignInSetup

        return SignInSetup.from_settings(settings).token_source(), None, settings.api_root
    if source is CredentialSource.ACCESS_TOKEN:
        assert settings.access_token is not None
        return StaticTokenSource(settings.access_token.get_secret_value()), None, settings.api_root
    return service_token_source(settings), None, settings.api_root
