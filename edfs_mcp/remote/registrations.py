"""How many registrations (RFC 7591 ``/register``) the authorization server keeps, and from whom.

Anyone may register a client, unsigned, so registrations are bounded in number as well as in size
(``provider.registration_size_problem``):

- **Per source**: one source (the client's IP address as the app sees it; an IPv6 address counts
  by its /64, which one host or site usually holds whole) may register ``per_source`` clients per
  ``window`` seconds. Past that it is refused with **429** and ``Retry-After`` (the end of the
  window), in the OAuth error shape. Not ``400 invalid_client_metadata``: nothing is wrong with the
  metadata, and that code tells a client to change its request or give up, where 429 says the same
  request will work later (RFC 6585 §4; RFC 7591 §3.2.2's list of codes is not exhaustive). Behind
  a reverse proxy the source is the address it forwards (``X-Forwarded-For``) when uvicorn trusts
  the proxy (``FORWARDED_ALLOW_IPS``, by default loopback only); else every request comes from
  the proxy, and the limit is the proxy's.
- **In all**: at most ``unused`` registrations nobody has got a token with are kept; registering
  past that forgets the oldest of them. A client that got tokens is out of the count, kept (90
  days from its last tokens), and never forgotten for room: people signed in keep working.

The counters are keyed by a keyed hash of the source (no address is stored) and live one window;
the list of unused registrations is an ordered set (Redis: a sorted set) trimmed on every
registration, so a flood of registrations costs at most ``unused`` records in the store, in this
process or in Redis.
"""

from __future__ import annotations

import ipaddress
import json
import math
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edfs_mcp.errors import EdfsMcpError

__all__ = [
    "RegistrationLimits",
    "RegistrationSource",
    "RegistrationThrottled",
    "registration_source",
    "source_of",
]


@dataclass(frozen=True)
class RegistrationLimits:
    per_source: int = 30  # registrations one source may make per window...
    window: float = 600.0  # ...of this many seconds (a fixed window: 30 per 10 minutes)
    unused: int = 1000  # registrations kept that no token was got with; past it the oldest go


class RegistrationThrottled(EdfsMcpError):
    """This source registered ``limit`` clients in the current window; it may again after ``retry_after``."""

    def __init__(self, limit: int, window: float, retry_after: float) -> None:
        minutes = window / 60
        per = f"{minutes:g} minutes" if minutes >= 1 else f"{window:g} seconds"
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"too many client registrations from this address: at most {limit} in {per}; "
            f"try again in {self.retry_after} s"
        )


# The source of the registration being served, set by RegistrationSource (None: not over HTTP).
registration_source: ContextVar[str | None] = ContextVar("registration_source", default=None)


def source_of(scope: Scope) -> str:
    """The address a request comes from as limits count it: IPv4 whole, IPv6 by its /64."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host or "unknown"  # a unix socket, a test transport
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RegistrationSource:
    """``/register``: says where the registration comes from (``registration_source``), and answers
    429 with ``Retry-After`` when the provider refuses it for that (:class:`RegistrationThrottled`)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        token = registration_source.set(source_of(scope))
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watch)
        except RegistrationThrottled as refused:
            if started:
                raise
            body = json.dumps({"error": "temporarily_unavailable", "error_description": str(refused)})
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(refused.retry_after).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
        finally:
            registration_source.reset(token)
