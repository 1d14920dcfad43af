"""edfs-mcp: a Model Context Protocol server for Bentley iTwin EDFS.

The public names are few; everything else lives in modules named for their one job.
Heavy imports (the MCP SDK, the API client) load on first use of their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edfs_mcp._version import __version__
from edfs_mcp.errors import (
    AnswerRefused,
    ApiError,
    AuthError,
    ConfigError,
    Conflict,
    DeadlineExceeded,
    EdfsMcpError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    SignInRequired,
    Unauthorized,
)

if TYPE_CHECKING:
    from edfs_mcp.api import EdfsClient
    from edfs_mcp.config import Settings
    from edfs_mcp.server import build_server

__all__ = [
    "AnswerRefused",
    "ApiError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "DeadlineExceeded",
    "EdfsClient",
    "EdfsMcpError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "NotSent",
    "OutcomeUnknown",
    "RateLimited",
    "ResponseTooLarge",
    "ServerError",
    "Settings",
    "SignInRequired",
    "Unauthorized",
    "__version__",
    "build_server",
]

_LAZY = {"EdfsClient": "edfs_mcp.api", "Settings": "edfs_mcp.config", "build_server": "edfs_mcp.server"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edfs_mcp' has no attribute {name!r}")
