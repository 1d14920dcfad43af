"""Client ID Metadata Documents: a client whose ``client_id`` is an https URL describes itself there.

The URL is the MCP client's to choose, and this server fetches it: a server-side request forgery
risk. The guards:

- ``https`` only, with a path, no user info, no fragment, the default port or an explicit one;
  plain ``http`` only to a loopback address and only when ``allow_loopback`` (the sandbox).
- The name is resolved first and **every** address must be public: loopback, private (RFC 1918,
  unique-local), link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
  reserved and unspecified addresses are refused before any connection is made. The request then
  goes to the checked address itself (TLS still verifies the name), so a second DNS answer cannot
  point it elsewhere.
- No redirects; at most ``MAX_BYTES`` read; ``TIMEOUT_SECONDS`` for the whole fetch.
- The document must be JSON whose ``client_id`` is the URL itself, with redirect URIs, for a
  public client (``token_endpoint_auth_method`` ``none``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpx2
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

from edfs_mcp.errors import EdfsMcpError

__all__ = ["CimdError", "CimdFetcher", "is_metadata_url"]

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024
TIMEOUT_SECONDS = 5.0
Resolver = Callable[[str, int], Awaitable[list[str]]]


class CimdError(EdfsMcpError):
    """Why a metadata document was not used (no secret in it: the URL is the client's own)."""


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


async def _resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not (address.is_multicast or address.is_reserved)


@dataclass
class CimdFetcher:
    """Fetches and checks metadata documents. ``resolver`` and ``transport`` are for tests."""

    allow_loopback: bool = False
    resolver: Resolver = _resolve
    transport: httpx2.AsyncBaseTransport | None = None
    scope: str = "edfs"
    timeout: float = TIMEOUT_SECONDS

    def _checked_url(self, url: str) -> tuple[str, str, int]:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise CimdError("its port is not a number") from None
        host = parts.hostname or ""
        if parts.username or parts.password or parts.fragment or not host:
            raise CimdError("it must be a plain https URL (no user info, no fragment)")
        if parts.path in ("", "/"):
            raise CimdError("it must have a path")
        if parts.scheme == "https":
            return host, parts.scheme, port or 443
        if parts.scheme == "http" and self.allow_loopback and _is_loopback_name(host):
            return host, parts.scheme, port or 80
        raise CimdError("it must be an https URL")

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            literal = ipaddress.ip_address(host)
            found = [str(literal)]
        except ValueError:
            try:
                found = await self.resolver(host, port)
            except OSError:
                raise CimdError(f"{host} does not resolve") from None
        if not found:
            raise CimdError(f"{host} does not resolve")
        for text in found:
            address = ipaddress.ip_address(text)
            if _public(address):
                continue
            if self.allow_loopback and address.is_loopback:
                continue
            raise CimdError(f"{host} resolves to a non-public address; refused")
        return found

    async def fetch(self, url: str) -> OAuthClientInformationFull:
        host, scheme, port = self._checked_url(url)
        addresses = await self._addresses(host, port)
        pinned = addresses[0]
        target = f"[{pinned}]" if ":" in pinned else pinned
        parts = urlsplit(url)
        pinned_url = f"{scheme}://{target}:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        body = bytearray()
        try:
            with anyio.fail_after(self.timeout):
                async with httpx2.AsyncClient(
                    transport=self.transport, follow_redirects=False, timeout=self.timeout, trust_env=False
                ) as http:
                    request = http.build_request(
                        "GET",
                        pinned_url,
                        headers={"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "application/json"},
                        extensions={"sni_hostname": host},
                    )
                    response = await http.send(request, stream=True)
                    try:
                        if response.status_code != 200:
                            raise CimdError(f"it answered HTTP {response.status_code}")
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) > MAX_BYTES:
                                raise CimdError(f"the document is larger than {MAX_BYTES} bytes")
                    finally:
                        await response.aclose()
        except TimeoutError:
            raise CimdError(f"no whole answer within {self.timeout:g} s") from None
        except httpx2.HTTPError as exc:
            raise CimdError(f"it could not be fetched ({type(exc).__name__})") from None
        return self._parse(url, bytes(body))

    def _parse(self, url: str, body: bytes) -> OAuthClientInformationFull:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise CimdError("the document is not JSON") from None
        if not isinstance(document, dict):
            raise CimdError("the document is not a JSON object")
        if document.get("client_id") != url:
            raise CimdError("its client_id is not the document's own URL")
        if "client_secret" in document or "client_secret_expires_at" in document:
            raise CimdError("a metadata document may not carry a client secret")
        method = document.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise CimdError(f"token_endpoint_auth_method {method!r} is not supported here (only none)")
        try:
            client = OAuthClientInformationFull.model_validate(
                {
                    **{k: v for k, v in document.items() if k in _KEPT},
                    "client_id": url,
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "scope": self.scope,
                }
            )
        except ValidationError:
            raise CimdError("the document's fields are not valid client metadata") from None
        if not client.redirect_uris:
            raise CimdError("the document lists no redirect_uris")
        return client


_KEPT = ("redirect_uris", "client_name", "client_uri", "logo_uri", "contacts", "tos_uri", "policy_uri")


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
