"""What every token source shares: a cached token renewed before it expires, one renewal at a time.

In the shape of globus-sdk's ``RenewingAuthorizer``: ``RenewingTokenSource`` owns the cached access
token, its expiry, the leeway (renew this long before expiry, so a token never dies in flight), one
lock (concurrent callers wait for the renewal in flight and reuse its token), ``get_token`` and
``reject``. A subclass says only how to get a new token (``_renew``): the static token returns
itself, a service app asks for client credentials, a person's source reads, refreshes or signs in,
and the team server's person (``edfs_mcp.remote.people``) reads their sealed record or refreshes it.
No source starts a task of its own: a renewal runs in the call that needs it.

``token_lifetime`` is the one reading of an authority's ``expires_in``.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import anyio

__all__ = [
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "REFRESH_LEEWAY_SECONDS",
    "Clock",
    "Renewal",
    "RenewingTokenSource",
    "token_expiry",
    "token_lifetime",
]

Clock = Callable[[], float]

# Renew this long before expiry, so a token never dies in flight.
REFRESH_LEEWAY_SECONDS = 60.0
DEFAULT_LIFETIME = 3600.0
MAX_LIFETIME = 24 * 3600.0  # an absurd expires_in is not believed


def token_lifetime(expires_in: object) -> float:
    """Seconds an access token lives, for the ``expires_in`` an authority sent.

    A positive, finite number up to a day is used as sent; anything else (missing, a string, a
    bool, NaN, zero, negative, over a day) is the default hour.
    """
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return DEFAULT_LIFETIME
    try:
        seconds = float(expires_in)
    except OverflowError:  # an integer too big for a float
        return DEFAULT_LIFETIME
    return seconds if math.isfinite(seconds) and 0 < seconds <= MAX_LIFETIME else DEFAULT_LIFETIME


def token_expiry(answer: Mapping[str, Any], now: float) -> float:
    """When the access token of a token endpoint's ``answer``, received at ``now``, expires."""
    return now + token_lifetime(answer.get("expires_in"))


@dataclass(frozen=True)
class Renewal:
    """A new access token and when it expires (epoch seconds, by the source's clock)."""

    access_token: str
    expires_at: float

    def __repr__(self) -> str:  # the token is a credential
        return f"Renewal(expires_at={self.expires_at!r})"


class RenewingTokenSource(ABC):
    """A ``TokenSource`` that caches its token and renews it ``REFRESH_LEEWAY_SECONDS`` before expiry.

    ``now``: the clock expiry is read against (tests pass a fake one). Subclasses implement
    ``_renew`` (called under the lock, only when the cached token is missing, refused or about to
    expire); ``renews = False`` for a source that can never get another token.
    """

    renews: ClassVar[bool] = True

    def __init__(self, *, now: Clock = time.time) -> None:
        self._now = now
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()

    @property
    def expires_at(self) -> float:
        """When the cached token expires (epoch seconds); 0 before the first one."""
        return self._expires_at

    def _lasts(self, expires_at: float) -> bool:
        """The one freshness rule: a token expiring at ``expires_at`` has more than the leeway left
        (subclasses read it for tokens they find in a store, too)."""
        return self._now() < expires_at - REFRESH_LEEWAY_SECONDS

    def _fresh(self) -> str | None:
        token = self._access_token
        return token if token is not None and self._lasts(self._expires_at) else None

    async def get_token(self) -> str:
        """The cached token while it has more than the leeway left; else one renewal for all callers."""
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()  # renewed while we waited for the lock
            if token is not None:
                return token
            renewal = await self._renew()
            self._access_token, self._expires_at = renewal.access_token, renewal.expires_at
            return renewal.access_token

    async def reject(self, token: str) -> bool:
        """The API refused ``token`` (401): drop it, so the next ``get_token`` renews.

        True when a retry may get another token (False for a source that never renews).
        """
        async with self._lock:
            renews = await self._refused(token)
            if self._access_token == token:
                self._access_token = None
        return renews

    async def _refused(self, token: str) -> bool:
        """A hook for sources that must remember refused tokens (called under the lock, so no renewal
        runs meanwhile); says whether a retry may get another token (``renews`` here)."""
        return self.renews

    @abstractmethod
    async def _renew(self) -> Renewal:
        """A new token (under the lock: one renewal in flight)."""

    async def aclose(self) -> None:
        """Release what the source holds (an HTTP client); nothing here."""
        return None
