"""Serving MCP over streamable HTTP, safely.

- Binds 127.0.0.1 unless told otherwise; DNS-rebinding protection on (foreign Host/Origin refused).
- Binding any other address needs ``EDFS_MCP_HTTP_BEARER``: every request must carry it
  (``Authorization: Bearer <secret>``, the scheme in any case, the secret compared in constant
  time), or the server refuses to start.
- Request bodies are capped (tool arguments are small), and so are request headers.
- The bearer only guards this endpoint: it is never sent to Bentley, which gets the server's own
  token (the MCP rule against token passthrough holds by construction).
- ``EDFS_MCP_HTTP_AUTH=oauth`` (``edfs_mcp.remote``) instead makes the endpoint an OAuth protected
  resource with its own authorization server: people sign in with their Bentley account, and every
  call runs as the person whose token it carries. It may bind any address.

One local client's flood must not lock others out nor exhaust the process:

- Sessions (the 2025-11-25 protocol era; 2026-07-28 is sessionless) are capped. At the cap, the
  least recently used idle session is closed to make room, so a flood of ``initialize`` calls
  pushes out its own sessions rather than refusing everyone else's; a client whose session was
  closed gets the standard 404 and initializes again. Idle sessions also expire on their own.
- Connections are capped too. At the cap, the least recently active connection with no request
  in progress (one that sent nothing, half a request, or is kept alive between requests) is
  closed; a connection that does not deliver a whole request within a few seconds is closed.
  The listen backlog and the cap are sized to the open-file limit (raised to the hard limit when
  needed), so the process never runs out of file descriptors, which is what made asyncio write
  an error line per failed ``accept``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import h11
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from edfs_mcp.errors import ConfigError

if TYPE_CHECKING:
    from edfs_mcp.remote import RemoteAuth

__all__ = [
    "BearerGate",
    "BoundedSessionManager",
    "HttpLimits",
    "bearer_matches",
    "http_app",
    "is_loopback",
    "serve_http",
    "transport_security_for",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_SECONDS = 5
# File descriptors kept for the server's own use (event loop, log, sockets to EDFS, the sandbox).
FD_RESERVE = 128


@dataclass(frozen=True)
class HttpLimits:
    """How much one server takes on; the defaults are the settings' defaults."""

    max_sessions: int = 100
    session_idle_seconds: float = 600.0
    max_connections: int = 200
    request_read_seconds: float = 10.0


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
    for extra in extra_hosts:  # a name without a port: as sent on the default port, or with any port
        hosts += [extra] if ":" in extra.rsplit("]", 1)[-1] else [extra, f"{extra}:*"]
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def bearer_matches(authorization: bytes, secret: bytes) -> bool:
    """``Bearer <secret>``: the scheme in any case (RFC 9110 §11.1), the secret in constant time."""
    scheme, _, credentials = authorization.strip().partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.lstrip(b" "), secret)


class BearerGate:
    """ASGI middleware: HTTP requests need ``Authorization: Bearer <secret>``."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self._app = app
        self._secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not bearer_matches(given, self._secret):
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


def _session_id(scope: Scope) -> str | None:
    name = MCP_SESSION_ID_HEADER.encode()
    return next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == name), None)


class BoundedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager, where a new session at the cap closes the least recently used idle one.

    Idle: no request in progress. A session whose only request in progress is its standalone GET
    stream (a client listening for server messages) goes only when no session is wholly idle.
    When every session is busy, the SDK answers 503 as before. A closed session's ID answers 404
    at once, and its task and buffers are released.
    """

    def __init__(self, app: Any, *, max_sessions: int, session_idle_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, max_sessions=max_sessions, session_idle_timeout=session_idle_timeout, **kwargs)
        self._cap = max_sessions
        self._recent: OrderedDict[str, None] = OrderedDict()  # least recently used first
        self._calls: dict[str, int] = {}  # requests in progress, the GET stream aside
        self._streams: dict[str, int] = {}  # open GET streams
        self.evicted = 0

    def _touch(self, session_id: str) -> None:
        if session_id in self._server_instances:
            self._recent[session_id] = None
            self._recent.move_to_end(session_id)

    @staticmethod
    def _count(counts: dict[str, int], session_id: str, step: int) -> None:
        value = counts.get(session_id, 0) + step
        if value > 0:
            counts[session_id] = value
        else:
            counts.pop(session_id, None)

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _session_id(scope)
        if session_id is None or session_id not in self._server_instances:
            await super()._handle_stateful_request(scope, receive, send)
            return
        counts = self._streams if scope.get("method") == "GET" else self._calls
        self._touch(session_id)
        self._count(counts, session_id, 1)
        try:
            await super()._handle_stateful_request(scope, receive, send)
        finally:
            self._count(counts, session_id, -1)
            self._touch(session_id)

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        if len(self._server_instances) >= self._cap:
            victim = self._least_recently_used_idle()
            if victim is not None:
                self._evict(victim)
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            # Busy until its opening request is answered (see _serve_opening_request).
            self._count(self._calls, transport.mcp_session_id, 1)
            self._touch(transport.mcp_session_id)
        return transport

    async def _serve_opening_request(
        self, http_transport: StreamableHTTPServerTransport, scope: Scope, receive: Receive, send: Send
    ) -> None:
        session_id = http_transport.mcp_session_id
        try:
            await super()._serve_opening_request(http_transport, scope, receive, send)
        finally:
            if session_id is not None:
                self._count(self._calls, session_id, -1)
                self._touch(session_id)

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self._forget(session_id)
        await super()._discard_session(session_id, transport)

    def _forget(self, session_id: str) -> None:
        self._recent.pop(session_id, None)
        self._calls.pop(session_id, None)
        self._streams.pop(session_id, None)

    def _least_recently_used_idle(self) -> str | None:
        candidates = [s for s in self._recent if s in self._server_instances and s not in self._calls]
        return next((s for s in candidates if s not in self._streams), None) or next(iter(candidates), None)

    def _evict(self, session_id: str) -> None:
        """Close ``session_id`` now: forgotten at once (its ID answers 404), its task ended by cancelling."""
        transport = self._server_instances.pop(session_id)
        self._session_owners.pop(session_id, None)
        self._forget(session_id)
        self.evicted += 1
        if transport.idle_scope is not None:
            transport.idle_scope.cancel()  # ends serve_loop; the session task then terminates the transport
        elif self._task_group is not None:
            self._task_group.start_soon(transport.terminate)
        logger.warning(
            "streamable HTTP: %d sessions open (EDFS_MCP_HTTP_MAX_SESSIONS): closed the least recently "
            "used idle one; its client gets 404 and starts a new session",
            self._cap,
        )


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap that evicts, and a deadline to send a request.

    ``bounded_protocol`` makes a subclass per server with its own limits and registry.
    """

    max_connections: ClassVar[int] = 200
    read_seconds: ClassVar[float] = 10.0
    recent: ClassVar[OrderedDict[BoundedH11Protocol, None]]  # least recently active first
    evicted: ClassVar[int] = 0
    timed_out: ClassVar[int] = 0

    _read_timer: asyncio.TimerHandle | None = None

    def _awaiting_request(self) -> bool:
        """Nothing of a request is being served: a new, half-sent or kept-alive connection."""
        cycle: Any = self.cycle
        return self.conn.their_state is h11.IDLE and (cycle is None or cycle.response_complete)

    def _evictable(self) -> bool:
        return not self.transport.is_closing() and self._awaiting_request()

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_seconds, self._read_deadline)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def _read_deadline(self) -> None:
        self._read_timer = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            type(self).timed_out += 1
            logger.info("streamable HTTP: closed a connection that sent no whole request in time")
            self._close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cls = type(self)
        cls.recent[self] = None
        self._arm()
        if len(self.connections) > self.max_connections:
            victim = next((c for c in cls.recent if c is not self and c._evictable()), None)
            if victim is not None:  # else uvicorn's limit_concurrency answers this one 503
                cls.evicted += 1
                victim._close()
                logger.warning(
                    "streamable HTTP: %d connections open (EDFS_MCP_HTTP_MAX_CONNECTIONS): closed the "
                    "least recently active one without a request in progress",
                    self.max_connections,
                )

    def _mark_active(self) -> None:
        if self in type(self).recent:
            type(self).recent.move_to_end(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._read_timer is not None and self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # a whole request arrived: serving it has no deadline here
            self._mark_active()  # dribbling half a request does not count as activity

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request, if any, has the same deadline
            self._mark_active()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        type(self).recent.pop(self, None)
        super().connection_lost(exc)


def bounded_protocol(max_connections: int, read_seconds: float) -> type[BoundedH11Protocol]:
    """A protocol class for one server: its own cap, deadline and registry of connections."""

    class ServerBoundedH11Protocol(BoundedH11Protocol):
        pass

    ServerBoundedH11Protocol.max_connections = max_connections
    ServerBoundedH11Protocol.read_seconds = read_seconds
    ServerBoundedH11Protocol.recent = OrderedDict()
    return ServerBoundedH11Protocol


def fd_plan(max_connections: int) -> tuple[int, int]:
    """(connections, listen backlog) that fit the open-file limit, raising the soft limit if it helps.

    One event-loop turn may accept a whole backlog before any of it can be evicted, so the limit
    must hold the connections, twice the backlog, and the server's own files.
    """
    backlog = min(128, max_connections)
    wanted = max_connections + 2 * backlog + FD_RESERVE
    try:
        import resource
    except ImportError:  # Windows: no such limit to plan for
        return max_connections, backlog
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections, backlog
    fitting = max(1, (soft - FD_RESERVE) // 3)
    logger.warning(
        "streamable HTTP: the open-file limit (%d) holds only %d connections: serving at most that many "
        "(EDFS_MCP_HTTP_MAX_CONNECTIONS is %d; raise `ulimit -n` to serve more)",
        soft,
        fitting,
        max_connections,
    )
    return fitting, fitting


def http_app(
    server: MCPServer[Any],
    *,
    host: str,
    bearer: str | None,
    extra_hosts: list[str],
    limits: HttpLimits,
    remote: RemoteAuth | None = None,
) -> Starlette | BearerGate:
    """The ASGI app: MCP at ``/mcp`` with bounded sessions, behind the bearer gate when there is one,
    or (``remote``) behind our own tokens, with the authorization server's routes beside it."""
    if remote is not None:
        extra_hosts = [*extra_hosts, remote.host]
    manager = BoundedSessionManager(
        server._lowlevel_server,
        security_settings=transport_security_for(host, extra_hosts),
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        max_sessions=limits.max_sessions,
        session_idle_timeout=limits.session_idle_seconds,
    )
    mcp_app: ASGIApp = StreamableHTTPASGIApp(manager)
    if remote is None:
        return_app = Starlette(routes=[Route(MCP_PATH, endpoint=mcp_app)], lifespan=lambda _: manager.run())
        return BearerGate(return_app, bearer) if bearer else return_app

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            async with manager.run():
                yield
        finally:
            await remote.aclose()

    return Starlette(
        routes=[Route(MCP_PATH, endpoint=remote.gate(mcp_app)), *remote.routes],
        middleware=remote.middleware(),
        lifespan=lifespan,
    )


def serve_http(
    server: MCPServer[Any],
    *,
    host: str,
    port: int,
    bearer: str | None,
    extra_hosts: list[str],
    log_level: str,
    limits: HttpLimits | None = None,
    remote: RemoteAuth | None = None,
) -> None:
    """Run ``server`` on streamable HTTP at ``/mcp``. Refuses unsafe setups."""
    if not is_loopback(host) and not bearer and remote is None:
        raise ConfigError(
            f"refusing to serve on {host}: only loopback is safe without a credential. "
            "Set EDFS_MCP_HTTP_BEARER to a long random secret that clients must send, "
            "or bind 127.0.0.1."
        )
    import uvicorn

    limits = limits or HttpLimits()
    app = http_app(server, host=host, bearer=bearer, extra_hosts=extra_hosts, limits=limits, remote=remote)
    connections, backlog = fd_plan(limits.max_connections)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        log_config=None,  # uvicorn's records go through our handler: one format, secrets masked, repeats cut
        access_log=False,
        http=bounded_protocol(connections, limits.request_read_seconds),
        ws="none",
        lifespan="on",
        # One above the cap: evictions keep the count at the cap, and uvicorn answers 503 past it.
        limit_concurrency=connections + 1,
        backlog=backlog,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
