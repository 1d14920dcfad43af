"""The sealed ``requestState`` of 2026-07-28 multi-round requests, under a key every replica shares.

A tool that needs input from the client (``input_required``) may hand the client a ``requestState``
to echo back with its answer; the round that continues may reach any replica. The MCP SDK keeps no
such state in memory: it seals it into the token the client carries (``RequestStateBoundary``:
AES-256-GCM, bound to the method, tool, arguments, principal and server name, with a lifetime). Its
default key is made at start by each process, so state minted by one replica is refused by another
(and by the same one after a restart). :func:`request_state_security` keys it from
``EDFS_MCP_STATE_KEY`` instead (a key derived for this use alone, not the one that seals tokens), so
any replica, and a restarted one, continues a round another began. Nothing is stored: Redis is not
involved.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from mcp.server.request_state import RequestStateSecurity

if TYPE_CHECKING:
    from edfs_mcp.config import Settings

__all__ = ["request_state_key", "request_state_security"]

_LABEL = b"edfs-mcp/request-state/v1"
TTL_SECONDS = 600.0


def request_state_key(state_key: bytes) -> bytes:
    """The request-state key derived from the state key: 32 bytes, for this use alone."""
    return hmac.new(state_key, _LABEL, hashlib.sha256).digest()


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Shared sealing when ``EDFS_MCP_STATE_KEY`` is set (oauth, replicas); None leaves the SDK's
    per-process key (one process: stdio, a single HTTP server)."""
    if settings.state_key is None:
        return None
    return RequestStateSecurity(keys=[request_state_key(settings.oauth_key)], ttl=TTL_SECONDS)
