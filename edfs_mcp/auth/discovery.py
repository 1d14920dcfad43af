"""The authority's endpoints, from OIDC discovery with Bentley's documented paths as fallback.

The paths themselves are decided in ``edfs_mcp.config`` (``token_endpoint_of`` and its neighbours).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx2

from edfs_mcp.config import authorization_endpoint_of, token_endpoint_of

__all__ = ["Endpoints", "discover"]

logger = logging.getLogger("edfs_mcp.auth")


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    token: str
    authorization: str
    device_authorization: str | None
    revocation: str | None
    userinfo: str | None


def _url(document: dict[str, object], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


async def discover(
    authority: str,
    *,
    configured_device_endpoint: str | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    timeout: float = 15.0,  # noqa: ASYNC109 - the HTTP client's timeout, not a cancel scope
) -> Endpoints:
    """Read ``/.well-known/openid-configuration``; missing pieces fall back to /connect/*.

    The device endpoint is the advertised one, else the configured one, else None (no device flow).
    """
    authority = authority.rstrip("/")
    document: dict[str, object] = {}
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=timeout) as http:
            response = await http.get(f"{authority}/.well-known/openid-configuration")
        if response.status_code == 200:
            body = response.json()
            document = body if isinstance(body, dict) else {}
    except (httpx2.HTTPError, ValueError) as exc:
        logger.info(
            "OIDC discovery at %s failed (%s); using /connect/* defaults", authority, type(exc).__name__
        )
    return Endpoints(
        issuer=str(document.get("issuer") or authority),
        token=_url(document, "token_endpoint") or token_endpoint_of(authority),
        authorization=_url(document, "authorization_endpoint") or authorization_endpoint_of(authority),
        device_authorization=_url(document, "device_authorization_endpoint") or configured_device_endpoint,
        revocation=_url(document, "revocation_endpoint"),
        userinfo=_url(document, "userinfo_endpoint"),
    )
