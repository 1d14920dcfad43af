"""OAuth 2.0 Device Authorization Grant (RFC 8628), with authlib's client for the token polls.

authlib has no device-flow client helper: the device authorization is POSTed here, then the
token endpoint is polled with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``,
honouring ``interval``, ``authorization_pending``, ``slow_down`` (+5 s, kept),
``access_denied`` and ``expired_token``.

``DeviceSignIn`` is the one orchestrator of a device sign-in: ``start`` asks for the codes and
shows them through a callback; then ``wait`` polls until the person answers (``edfs-mcp login``),
or ``poll`` makes one poll when it is due (a sign-in started in a tool call, advanced by the calls
that need its token). Its clock and sleep are injectable.

What the authority sends is not trusted to pace us: the interval is kept within 1 to 60 s (anything
invalid — missing, zero, negative, NaN, not a number, absurd — is the default 5 s; see
``poll_interval``), ``slow_down`` adds 5 s within that bound, and the code's lifetime is at most an
hour, so a hostile or broken answer can neither make us hammer the token endpoint nor poll forever.
"""

from __future__ import annotations

import logging
import math
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

__all__ = [
    "DeviceAuthorization",
    "DeviceFlowRefused",
    "DeviceSignIn",
    "code_lifetime",
    "poll_interval",
    "slowed_down",
    "start_device_authorization",
]

DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 1.0
MAX_INTERVAL = 60.0
ABSURD_INTERVAL = 3600.0  # above this it is not a pace but junk: the default applies
SLOW_DOWN_STEP = 5.0
DEFAULT_CODE_LIFETIME = 600.0
MAX_CODE_LIFETIME = 3600.0
# Errors meaning "this client may not use the device grant here": fall back to the browser flow.
# (invalid_client is not one: an unknown client id would fail in the browser just the same.)
REFUSALS = {"unauthorized_client", "unsupported_grant_type", "invalid_grant_type"}


def _seconds(value: object) -> float | None:
    """A finite, positive number of seconds, or None (bools, non-numbers, NaN, infinities, <= 0)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def poll_interval(value: object) -> float:
    """The pause between polls for the ``interval`` an authority sent: 1 to 60 s, else the default 5 s.

    A number within 1 to 60 s is used as is; one below or above is the nearest bound (0.001 -> 1,
    90 -> 60); anything invalid (missing, zero, negative, NaN, infinite, not a number, over an hour)
    is the default.
    """
    seconds = _seconds(value)
    if seconds is None or seconds > ABSURD_INTERVAL:
        return DEFAULT_INTERVAL
    return min(max(seconds, MIN_INTERVAL), MAX_INTERVAL)


def slowed_down(interval: float) -> float:
    """The interval after a ``slow_down``: 5 s more, still at most 60 s."""
    return min(poll_interval(interval) + SLOW_DOWN_STEP, MAX_INTERVAL)


def code_lifetime(value: object) -> float:
    """How long to keep polling for the ``expires_in`` sent: at most an hour; invalid is 10 minutes."""
    seconds = _seconds(value)
    return DEFAULT_CODE_LIFETIME if seconds is None else min(seconds, MAX_CODE_LIFETIME)


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
    http: httpx2.AsyncClient,
    endpoint: str,
    client_id: str,
    scope: str,
    *,
    now: Callable[[], float] = time.time,
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
        error = _error_code(body.get("error") if isinstance(body, dict) else None)
        if error in REFUSALS:
            raise DeviceFlowRefused(f"The authority refused the device flow for this client ({error}).")
        raise AuthError(
            f"The device authorization endpoint answered HTTP {response.status_code} "
            f"({error or 'no error code'})."
        )
    device_code, user_code = _short_text(body.get("device_code")), _short_text(body.get("user_code"))
    verification_uri = _web_address(body.get("verification_uri") or body.get("verification_url"))
    if device_code is None or user_code is None or verification_uri is None:
        raise AuthError("The device authorization answer is missing user_code or verification_uri.")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=verification_uri,
        verification_uri_complete=_web_address(body.get("verification_uri_complete")),
        expires_at=now() + code_lifetime(body.get("expires_in")),
        interval=poll_interval(body.get("interval")),
    )


def _error_code(value: object) -> str | None:
    """An OAuth error code (short, ASCII, an identifier), or None: the answer is not trusted."""
    if isinstance(value, str) and len(value) <= 64 and value.isascii() and value.isidentifier():
        return value
    return None


def _short_text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 2048 and value.isprintable() else None


def _web_address(value: object) -> str | None:
    """An http(s) address to show or open, else None (no javascript:, file: or junk)."""
    text = _short_text(value)
    return text if text is not None and text.lower().startswith(("https://", "http://")) else None


Sleep = Callable[[float], Awaitable[None]]
Show = Callable[[DeviceAuthorization], None]
EXPIRED = "The sign-in code expired before it was used. Start the sign-in again."


class DeviceSignIn:
    """One device sign-in, from the codes to the token.

    ``oauth``: an AsyncOAuth2Client for the public app (it makes the token polls). ``now`` and
    ``sleep``: the clock the code's expiry and the poll pace are read on, and how ``wait`` pauses.
    """

    def __init__(
        self,
        oauth: Any,
        token_endpoint: str,
        authorization: DeviceAuthorization,
        *,
        now: Callable[[], float] = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.authorization = authorization
        self.interval = poll_interval(authorization.interval)
        self._oauth = oauth
        self._token_endpoint = token_endpoint
        self._now = now
        self._sleep = sleep
        self._last_poll = now()  # the first poll is due one interval after the codes

    @classmethod
    async def start(
        cls,
        oauth: Any,
        *,
        device_endpoint: str,
        token_endpoint: str,
        client_id: str,
        scope: str,
        show: Show | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        now: Callable[[], float] = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> DeviceSignIn:
        """Ask the authority for the codes and show them (``show``: the terminal, or nothing)."""
        async with httpx2.AsyncClient(transport=transport, timeout=30) as http:
            authorization = await start_device_authorization(http, device_endpoint, client_id, scope, now=now)
        if show is not None:
            show(authorization)
        return cls(oauth, token_endpoint, authorization, now=now, sleep=sleep)

    @property
    def expired(self) -> bool:
        return self._now() >= self.authorization.expires_at

    @property
    def due(self) -> bool:
        """A poll now would respect the interval (and any slow_down)."""
        return self._now() >= self._last_poll + self.interval

    async def wait(self) -> dict[str, Any]:
        """Poll every interval until the person answers; the token response, else AuthError."""
        while True:
            await self._sleep(self.interval)
            token = await self.poll()
            if token is not None:
                return token

    async def poll(self) -> dict[str, Any] | None:
        """One token poll: the token response, or None while the person has not answered yet
        (``slow_down`` lengthens the interval; a network error is retried at the next poll).
        AuthError when the sign-in ended without a token: expired, denied, refused, junk."""
        if self.expired:
            raise AuthError(EXPIRED)
        self._last_poll = self._now()
        try:
            token = await self._oauth.fetch_token(
                self._token_endpoint,
                grant_type=DEVICE_CODE_GRANT_TYPE,
                device_code=self.authorization.device_code,
            )
        except OAuthError as exc:
            error = _error_code(exc.error)
            if error == "authorization_pending":
                return None
            if error == "slow_down":
                self.interval = slowed_down(self.interval)
                return None
            if error == "access_denied":
                raise AuthError("The sign-in was denied in the browser.") from None
            if error == "expired_token":
                raise AuthError(EXPIRED) from None
            if error in REFUSALS:
                raise DeviceFlowRefused(
                    f"The authority refused the device flow for this client ({error})."
                ) from None
            raise AuthError(f"The sign-in failed ({error or 'no error code'}).") from None
        except httpx2.HTTPError as exc:
            # A network blip while the person is still typing: keep polling until the code expires.
            logger.info("device flow: token poll failed (%s); retrying", type(exc).__name__)
            return None
        except (ValueError, TypeError, KeyError):  # an answer that is not a token response
            raise AuthError("The token endpoint's answer to the sign-in could not be read.") from None
        access = token.get("access_token") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            raise AuthError("The token endpoint answered the sign-in without an access token.")
        return dict(token)
