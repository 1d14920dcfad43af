"""A faithful emulator of the EDFS and iTwins APIs plus an OAuth server, for demos and tests.

The OAuth side signs in service clients (client credentials) and people: device flow with a
browser verification page at ``/device``, authorization code + PKCE with a sign-in page at
``/connect/authorize``, rotating refresh tokens, revocation, discovery and JWKS. People are
``seed.USERS`` (password ``seed.SANDBOX_PASSWORD``); ``SandboxServer(auto_approve=True)`` approves
every sign-in as ``seed.AUTO_APPROVE_USER`` without one.

It imports nothing from the rest of ``edfs_mcp`` so it cannot share the client's mistakes.

    state = SandboxState()                      # seeded; see ``seed`` for IDs, clients and secrets
    app = build_app(state)                      # ASGI: in-process with httpx2.ASGITransport
    with SandboxServer(state=state) as server:  # or on a loopback port: server.base_url
        state.faults.rate_limit(2, retry_after=1)
"""

from __future__ import annotations

from .app import ConnectionDropped, build_app
from .oauth import mint_access_token, verify_access_token
from .server import SandboxServer
from .state import SandboxState

__all__ = [
    "ConnectionDropped",
    "SandboxServer",
    "SandboxState",
    "build_app",
    "mint_access_token",
    "verify_access_token",
]
