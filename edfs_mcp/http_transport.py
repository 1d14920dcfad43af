"""Serving MCP over streamable HTTP, safely.

- Binds 127.0.0.1 unless told otherwise; DNS-rebinding protection on (foreign Host/Origin refused).
- Binding any other address needs ``EDFS_MCP_HTTP_BEARER``: every request must carry it
  (compared in constant time), or the server refuses to start.
- Request bodies are capped (tool arguments are small).
- The bearer only guards this endpoint: it is never sent to Bentley, which gets the server's own
  token (the MCP rule against token passthrough holds by construction).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from edfs_mcp.errors import ConfigError

__all__ = ["BearerGate", "is_loopback", "serve_http", "transport_security_for"]

MAX_REQUEST_BODY_BYTES = 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_security_for(host: str, extra_hosts: list[str]) -> TransportSecuritySettings:
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    if not is_loopback(host):
        hosts.append(f"{host}:*")
    hosts += [h if ":" in h else f"{h}:*" for h in extra_hosts]
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class BearerGate:
    """ASGI middleware: HTTP requests need ``Authorization: Bearer <secret>``."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self._app = app
        self._expected = f"Bearer {secret}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
        await self._app(scope, receive, send)


def serve_http(
    server: Any, *, host: str, port: int, bearer: str | None, extra_hosts: list[str], log_level: str
) -> None:
    """Run ``server`` (an MCPServer) on streamable HTTP at ``/mcp``. Refuses unsafe setups."""
    if not is_loopback(host) and not bearer:
        raise ConfigError(
            f"refusing to serve on {host}: only loopback is safe without a credential. "
            "Set EDFS_MCP_HTTP_BEARER to a long random secret that clients must send, "
            "or bind 127.0.0.1."
        )
    import uvicorn

    app: ASGIApp = server.streamable_http_app(
        host=host,
        transport_security=transport_security_for(host, extra_hosts),
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
    )
    if bearer:
        app = BearerGate(app, bearer)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False)
