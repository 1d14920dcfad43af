"""Words for a person using the server over MCP authorization (``EDFS_MCP_HTTP_AUTH=oauth``)."""

from __future__ import annotations

__all__ = ["remote_sign_in_gone", "remote_sign_in_missing"]


def remote_sign_in_gone() -> str:
    return (
        "Your Bentley sign-in on this server has ended (expired or revoked at Bentley), so nothing was "
        "sent to EDFS. Tell the user to reconnect this MCP server in their client (it opens Bentley's "
        "sign-in again), then repeat the call."
    )


def remote_sign_in_missing() -> str:
    return (
        "This call carries no signed-in person, so nothing was sent to EDFS. Tell the user to connect "
        "this MCP server from their client, which signs them in with their Bentley account."
    )
