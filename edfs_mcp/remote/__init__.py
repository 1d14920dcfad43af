"""Remote use: an MCP server people sign in to with their Bentley account (MCP authorization).

With ``EDFS_MCP_HTTP_AUTH=oauth`` the streamable HTTP server is an OAuth protected resource
(RFC 9728 metadata, ``WWW-Authenticate`` challenges, audience-bound tokens) and runs the
authorization server MCP clients use (RFC 8414 metadata, ``/authorize``, ``/token``, ``/revoke``,
RFC 7591 registration, Client ID Metadata Documents), built on the MCP SDK's auth routes. Bentley
IMS offers MCP clients neither registration nor metadata documents, so the server signs the person
in at Bentley itself as a confidential web app (the OAuth-proxy pattern):

    MCP client ──/authorize──▶ consent page ──approve──▶ Bentley sign-in ──▶ /auth/callback
        ◀──── code (ours) ─────────────────────────────────────────────────────────┘
    MCP client ──/token──▶ our access + refresh tokens (never Bentley's)
    MCP client ──/mcp + our token──▶ tools run with that person's Bentley token

- ``provider``: the SDK's ``OAuthAuthorizationServerProvider``: clients, codes, tokens, revocation.
- ``pages``: the consent page and the Bentley callback.
- ``upstream``: the Bentley web app (authorization code + PKCE + client secret, refresh).
- ``people``: each person's Bentley tokens, sealed (AES-GCM), and the per-person token source.
- ``cimd``: Client ID Metadata Documents, fetched with SSRF guards.
- ``edfs_mcp.state.stores``: the small key-value interface every piece keeps its state behind
  (in memory, or in Redis: ``edfs_mcp.state.redis_store``).
- ``app``: all of it assembled for ``http_transport``.
"""

from __future__ import annotations

from edfs_mcp.remote.app import CALLBACK_PATH, RemoteAuth, build_remote_auth, public_base

__all__ = ["CALLBACK_PATH", "RemoteAuth", "build_remote_auth", "public_base"]
