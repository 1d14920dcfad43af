"""Shared by the auth tests: a person signed in at the sandbox, tokens in a file store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx2

from edfs_mcp.auth.discovery import Endpoints
from edfs_mcp.auth.refresh import stored_from_response
from edfs_mcp.auth.store import FileTokenStore, token_key
from edfs_mcp.config import token_endpoint_of
from edfs_mcp.sandbox import SandboxServer, seed

SCOPE = "itwin-platform offline_access"


def endpoints_at(base: str, device_authorization: str | None = None) -> Callable[[], Awaitable[Endpoints]]:
    """The sandbox's endpoints at ``base``, as discovery finds them, without asking it."""
    endpoints = Endpoints(
        issuer=base,
        token=token_endpoint_of(base),
        authorization=f"{base}/connect/authorize",
        device_authorization=device_authorization,
        revocation=None,
        userinfo=None,
    )

    async def discovered() -> Endpoints:
        return endpoints

    return discovered


def sign_in(sandbox: SandboxServer, directory: Path) -> None:
    """A person signs in (device flow, approved on the page); the tokens go into the store."""
    with httpx2.Client(base_url=sandbox.base_url, timeout=30) as http:
        device = http.post(
            "/as/device_authz.oauth2", data={"client_id": seed.PUBLIC_CLIENT_ID, "scope": SCOPE}
        ).json()
        approved = http.post(
            "/device",
            data={
                "user_code": device["user_code"],
                "username": seed.USER_ADMIN,
                "password": seed.SANDBOX_PASSWORD,
                "action": "approve",
            },
        )
        assert approved.status_code == 200, approved.text
        token = http.post(
            "/connect/token",
            data={
                "grant_type": seed.DEVICE_CODE_GRANT,
                "device_code": device["device_code"],
                "client_id": seed.PUBLIC_CLIENT_ID,
            },
        )
        assert token.status_code == 200, token.text
    key = token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)
    FileTokenStore(directory).save(key, stored_from_response(token.json(), "device"))
