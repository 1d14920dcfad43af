"""Helpers for the sign-in tests: PKCE pairs, device-flow calls, a movable clock, token claims."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from joserfc import jwt
from joserfc.jwk import KeySet

from edfs_mcp.sandbox import seed

CALLBACK = "http://127.0.0.1:53682/signin-callback"
OFFLINE = "itwin-platform offline_access"


class FakeClock:
    """A stand-in for ``time.time`` that only moves when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pkce() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start_device(http: httpx2.Client, scope: str = OFFLINE, client_id: str = seed.PUBLIC_CLIENT_ID) -> Any:
    response = http.post("/as/device_authz.oauth2", data={"client_id": client_id, "scope": scope})
    assert response.status_code == 200, response.text
    return response.json()


def poll(http: httpx2.Client, device_code: str, client_id: str = seed.PUBLIC_CLIENT_ID) -> httpx2.Response:
    return http.post(
        "/connect/token",
        data={"grant_type": seed.DEVICE_CODE_GRANT, "device_code": device_code, "client_id": client_id},
    )


def verify_page(
    http: httpx2.Client,
    user_code: str,
    action: str = "approve",
    username: str = seed.USER_ADMIN,
    password: str = seed.SANDBOX_PASSWORD,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """Submit the /device form as a person would."""
    form = {"user_code": user_code, "username": username, "password": password, "action": action}
    return http.post("/device", data=form, headers=headers)


def authorize_params(challenge: str, redirect_uri: str = CALLBACK, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": seed.PUBLIC_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": OFFLINE,
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def redirect_query(response: httpx2.Response) -> dict[str, str]:
    """The query of a 302's Location, one value per key."""
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def exchange_code(
    http: httpx2.Client, code: str, verifier: str, redirect_uri: str = CALLBACK, **extra: str
) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": seed.PUBLIC_CLIENT_ID,
        "code_verifier": verifier,
        **extra,
    }
    return http.post("/connect/token", data=data)


def refresh(http: httpx2.Client, token: str, **extra: str) -> httpx2.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": seed.PUBLIC_CLIENT_ID}
    return http.post("/connect/token", data={**data, **extra})


def claims_of(http: httpx2.Client, access_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/.well-known/openid-configuration/jwks").json())
    claims: dict[str, Any] = jwt.decode(access_token, keys, algorithms=["RS256"]).claims
    return claims


def oauth_error(response: httpx2.Response) -> str:
    assert response.headers["content-type"].startswith("application/json"), response.text
    error: str = response.json()["error"]
    return error


def page_text(response: httpx2.Response) -> str:
    """The visible text of a sign-in page, tags and styles removed."""
    body = re.sub(r"<style>.*?</style>", "", response.text, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
