"""Who you are: token sources the API client asks for bearer tokens.

Every source is a ``RenewingTokenSource`` (``edfs_mcp.auth.renewing``): a static token, a service
app's client credentials, and a person's sign-in (``edfs_mcp.auth.user``).

This package imports neither ``edfs_mcp.api`` nor ``edfs_mcp.tools``.
"""

from edfs_mcp.auth.base import TokenSource
from edfs_mcp.auth.providers import ClientCredentialsSource, StaticTokenSource
from edfs_mcp.auth.renewing import REFRESH_LEEWAY_SECONDS, RenewingTokenSource, token_expiry, token_lifetime

__all__ = [
    "REFRESH_LEEWAY_SECONDS",
    "ClientCredentialsSource",
    "RenewingTokenSource",
    "StaticTokenSource",
    "TokenSource",
    "token_expiry",
    "token_lifetime",
]
