"""Who you are: token sources the API client asks for bearer tokens.

This package imports neither ``edfs_mcp.api`` nor ``edfs_mcp.tools``.
"""

from edfs_mcp.auth.base import TokenSource
from edfs_mcp.auth.providers import ClientCredentialsSource, StaticTokenSource

__all__ = ["ClientCredentialsSource", "StaticTokenSource", "TokenSource"]
