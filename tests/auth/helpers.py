"""Shared by the auth tests: a person signed in at the sandbox, tokens in a file store."""

from __future__ import annotations

from pathlib import Path

import httpx2

from edfs_mcp.auth.refresh import stored_from_response
from edfs_mcp.auth.store import FileTokenStore, token_key
from edfs_mcp.sandbox import SandboxServer, seed

SCOPE = "itwin-platform offline_access"


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
