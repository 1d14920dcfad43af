"""OAuth 2.0 Device Authorization Grant (RFC 8628), with authlib's client for the token polls.

authlib has no device-flow client helper: the device authorization is POSTed here, then the
token endpoint is polled with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``,
honouring ``interval``, ``authorization_pending``, ``slow_down`` (+5 s, kept),
``access_denied`` and ``expired_token``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from edfs_mcp.errors import AuthError

logger = logging.getLogger("edfs_mcp.auth")

__all__ = ["DeviceAuthorization", "DeviceFlowRefused", "poll_for_token", "start_device_authorization"]

DEFAULT_INTERVAL = 5.0
SLOW_DOWN_STEP = 5.0
# Errors meaning "this client may not use the device grant here": fall back to the browser flow.
# (invalid_client is not one: an unknown client id would fail in the browser just the same.)
REFUSALS = {"unauthorized_client", "unsupported_grant_type", "invalid_grant_type"}


class DeviceFlowRefused(AuthError):
    """The authority does not let this client use the device grant."""


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float

    def __repr__(self) -> str:  # the device code is a credential
        return (
            f"DeviceAuthorization(user_code={self.user_code!r}, verification_uri={self.verification_uri!r})"
        )


async def start_device_authorization(
    http: httpx2.AsyncClient, endpoint: str, client_id: str, scope: str
) -> DeviceAuthorization:
    try:
        response = await http.post(endpoint, data={"client_id": client_id, "scope": scope})
    except httpx2.HTTPError as exc:
        raise AuthError(
            f"Could not reach the device authorization endpoint {endpoint} ({type(exc).__name__})."
        ) from None
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "device_code" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        if error in REFUSALS:
            raise DeviceFlowRefused(f"The authority refused the device flow for this client ({error}).")
        raise AuthError(
            f"The device authorization endpoint answered HTTP {response.status_code} "
            f"({error or 'no error code'})."
        )
    try:
        return DeviceAuthorization(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body.get("verification_uri") or body.get("verification_url")),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_at=time.time() + float(body.get("expires_in", 600)),
            interval=float(body.get("interval") or DEFAULT_INTERVAL),
        )
    except (KeyError, TypeError, ValueError):
        raise AuthError("The device authorization answer is missing user_code or verification_uri.") from None


Sleep = Callable[[float], Awaitable[None]]


async def poll_for_token(
    oauth: Any, token_endpoint: str, authorization: DeviceAuthorization, *, sleep: Sleep = anyio.sleep
) -> dict[str, Any]:
    """Poll until the user approves; return the token response. ``oauth``: an AsyncOAuth2Client."""
    interval = authorization.interval
    while True:
        await sleep(interval)
        if time.time() >= authorization.expires_at:
            raise AuthError("The sign-in code expired before it was used. Start the sign-in again.")
        try:
            token = await oauth.fetch_token(
                token_endpoint, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=authorization.device_code
            )
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if exc.error == "access_denied":
                raise AuthError("The sign-in was denied in the browser.") from None
            if exc.error == "expired_token":
                raise AuthError(
                    "The sign-in code expired before it was used. Start the sign-in again."
                ) from None
            if exc.error in REFUSALS:
                raise DeviceFlowRefused(
                    f"The authority refused the device flow for this client ({exc.error})."
                ) from None
            raise AuthError(f"The sign-in failed ({exc.error}).") from None
        except httpx2.HTTPError as exc:
            # A network blip while the person is still typing: keep polling until the code expires.
            logger.info("device flow: token poll failed (%s); retrying", type(exc).__name__)
            continue
        return dict(token)
