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

Run as replicas (Kubernetes, a load balancer in front):

- ``/healthz`` answers 200 while the process serves (liveness); ``/readyz`` answers 200 when it can
  take calls: not draining, and the shared state store (Redis, ``EDFS_MCP_REDIS_URL``) answers.
  Neither needs a credential nor says anything secret.
- SIGTERM drains: ``/readyz`` turns 503 and no new connection is accepted, calls in progress get
  ``EDFS_MCP_HTTP_DRAIN_SECONDS`` to finish. A tool call still running then is stopped and answered
  with its outcome in words (``InFlightCalls``: an execute that was sent "may or may not have run"),
  and those answers get ``ANSWER_SECONDS`` to reach their clients before the process exits. (SIGKILL
  leaves nothing to answer with: its clients see the connection close.)
- With shared state, 2025-11-25 requests are served in the SDK's stateless mode (no session to
  route back to, so any replica answers any request); 2026-07-28 is sessionless anyway.
- Every request has an id (``X-Request-Id``, taken from the load balancer when it sends a sane one),
  sent back in the response and carried by the log lines written while serving it.

Long because it assembles the HTTP server's protections (bearer gate, request ids, probes, answers
during a state outage, session and connection caps, draining with in-flight answers), each a small
class used only here and in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import h11
import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from edfs_mcp import messages
from edfs_mcp.api import sent_writes
from edfs_mcp.errors import ConfigError
from edfs_mcp.listening import http_url, is_loopback, listening_socket
from edfs_mcp.logs import request_id_var, say

if TYPE_CHECKING:
    from edfs_mcp.remote import RemoteAuth

__all__ = [
    "BearerGate",
    "BoundedSessionManager",
    "HttpLimits",
    "InFlightCalls",
    "Lifecycle",
    "Probes",
    "RequestIds",
    "StateOutage",
    "bearer_matches",
    "http_app",
    "serve_http",
    "transport_security_for",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_SECONDS = 5
# File descriptors kept for the server's own use (event loop, log, sockets to EDFS, the sandbox).
FD_RESERVE = 128
# After the drain, how long the answers of the calls it stopped get to reach their clients.
ANSWER_SECONDS = 3.0


@dataclass(frozen=True)
class HttpLimits:
    """How much one server takes on; the defaults are the settings' defaults."""

    max_sessions: int = 100
    session_idle_seconds: float = 600.0
    max_connections: int = 200
    request_read_seconds: float = 10.0
    drain_seconds: float = 25.0
    stateless: bool = False  # 2025-11-25 without sessions: any replica answers any request


class InFlightCalls:
    """The tool calls this process is running (an MCP server middleware), so that a drain can end them
    with words rather than a closed connection.

    :meth:`stop` cancels each; the call then returns an error result saying what became of it, built
    from its own write journal (``api.sent_writes``, which nests inside the one of
    ``tools._outcome``): nothing was sent, a write was sent and may or may not have run, or EDFS
    accepted it. The result goes back to the client like any other answer.
    """

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()

    def __len__(self) -> int:
        return len(self._scopes)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        with sent_writes() as journal, anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                return await call_next(ctx)
            finally:
                self._scopes.discard(scope)
        # Only our stop() cancels this scope: a client's cancellation or the server's own shutdown
        # cancels an enclosing scope, and then this line is never reached.
        last = journal.writes[-1] if journal.writes else None
        logger.warning(
            "stopped a tool call at the end of the drain (%s)",
            f"after sending {last.operation.key}" if last is not None else "nothing sent",
        )
        if last is None:
            text = messages.call_stopped_by_shutdown(None, None)
        else:
            text = messages.call_stopped_by_shutdown(last.operation, last.status)
        # An error result in our words alone, as tools._outcome makes them.
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    def stop(self) -> int:
        """Cancel every tool call in progress; how many there were."""
        for scope in list(self._scopes):
            scope.cancel()
        return len(self._scopes)


class Lifecycle:
    """Whether this process takes new calls: ready, or draining after SIGTERM; and the calls it runs."""

    def __init__(self, ready: Callable[[], Awaitable[str | None]] | None = None) -> None:
        self._ready = ready
        self.draining = False
        self.calls = InFlightCalls()

    async def not_ready(self) -> str | None:
        """None when ready; else why not, in words."""
        if self.draining:
            return "draining: stopping after the calls in progress"
        return await self._ready() if self._ready is not None else None


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Probes:
    """``/healthz`` (the process serves) and ``/readyz`` (it takes calls), before any credential check."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self._app = app
        self._lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            path = scope.get("path")
            if path == HEALTH_PATH:
                await _plain(send, 200, "ok")
                return
            if path == READY_PATH:
                try:
                    problem = await self._lifecycle.not_ready()
                except Exception:  # a probe never fails by raising
                    logger.exception("readiness check failed")
                    problem = "the readiness check failed"
                await _plain(send, 503 if problem else 200, problem or "ready")
                return
        await self._app(scope, receive, send)


class StateOutage:
    """A request that needed the shared state store while it was down is answered in words instead
    of a bare 500. An MCP request (``POST /mcp``, whose token could not be checked) gets a JSON-RPC
    answer the client shows: a ``tools/call`` an error result, any other request an error, each
    saying what is wrong, that nothing ran and when to try again. Anything else (the sign-in
    endpoints, a notification) gets 503, an OAuth error body and ``Retry-After``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from edfs_mcp.state.stores import StateStoreUnavailable

        started = False
        read = bytearray()  # what the app read of the body before the store failed it
        ended = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def reading() -> Message:
            nonlocal ended
            message = await receive()
            if message["type"] != "http.request":
                ended = True  # the client went away
            elif len(read) <= MAX_REQUEST_BODY_BYTES:
                read.extend(message.get("body", b""))
                ended = not message.get("more_body", False)
            return message

        try:
            await self._app(scope, reading, watch)
        except StateStoreUnavailable as exc:
            if started or scope["type"] != "http":
                raise
            logger.warning("%s", exc)
            if scope.get("path") == MCP_PATH and scope.get("method") == "POST":
                while not ended and len(read) <= MAX_REQUEST_BODY_BYTES:
                    await reading()
                answer = outage_answer(bytes(read), str(exc))
                if answer is not None:
                    await _json(send, 200, answer)
                    return
            body = json.dumps(
                {"error": "temporarily_unavailable", "error_description": f"edfs-mcp: {exc}; try again"}
            ).encode()
            await _json(send, 503, body)


OUTAGE_RETRY_SECONDS = messages.SIGN_IN_OUTAGE_RETRY_SECONDS  # Retry-After while Redis does not answer


def outage_answer(body: bytes, problem: str) -> bytes | None:
    """The JSON-RPC answer to the request(s) in ``body`` when the state store is down: a
    ``tools/call`` gets an error result (the model reads it), another request an error; None when
    ``body`` holds no request to answer (a notification, not JSON)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    text = messages.sign_in_store_down(problem)
    answers = []
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if not isinstance(message, dict) or "method" not in message or message.get("id") is None:
            continue
        if message["method"] == "tools/call":
            result = CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
            answer: dict[str, Any] = {
                "result": result.model_dump(by_alias=True, mode="json", exclude_none=True)
            }
        else:
            answer = {
                "error": {"code": -32000, "message": text, "data": {"retry_after": OUTAGE_RETRY_SECONDS}}
            }
        answers.append({"jsonrpc": "2.0", "id": message["id"], **answer})
    if not answers:
        return None
    return json.dumps(answers if isinstance(parsed, list) else answers[0]).encode()


async def _json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(OUTAGE_RETRY_SECONDS).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestIds:
    """Each HTTP request gets an id: the one the load balancer sent when sane, else a new one. It is
    sent back as ``X-Request-Id`` and carried by the log lines written while serving the request."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _SANE_REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())]}
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


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
    lifecycle: Lifecycle | None = None,
) -> ASGIApp:
    """The ASGI app: MCP at ``/mcp`` with bounded sessions, behind the bearer gate when there is one,
    or (``remote``) behind our own tokens, with the authorization server's routes beside it; the
    probes before both, and a request id around everything."""
    lifecycle = lifecycle or Lifecycle(remote.ready if remote is not None else None)
    if lifecycle.calls not in server.middleware:
        server.middleware.append(lifecycle.calls)
    return RequestIds(Probes(_mcp_app(server, host, bearer, extra_hosts, limits, remote), lifecycle))


def _mcp_app(
    server: MCPServer[Any],
    host: str,
    bearer: str | None,
    extra_hosts: list[str],
    limits: HttpLimits,
    remote: RemoteAuth | None,
) -> Starlette | BearerGate:
    if remote is not None:
        extra_hosts = [*extra_hosts, remote.host]
    manager = BoundedSessionManager(
        server._lowlevel_server,
        security_settings=transport_security_for(host, extra_hosts),
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        max_sessions=limits.max_sessions,
        session_idle_timeout=limits.session_idle_seconds,
        stateless=limits.stateless,
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
        middleware=[Middleware(StateOutage), *remote.middleware()],
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
    """Run ``server`` on streamable HTTP at ``/mcp``. Refuses unsafe setups; CannotListen when the
    address cannot be had."""
    if not is_loopback(host) and not bearer and remote is None:
        raise ConfigError(
            f"refusing to serve on {host}: only loopback is safe without a credential. "
            "Set EDFS_MCP_HTTP_BEARER to a long random secret that clients must send, "
            "or bind 127.0.0.1."
        )
    limits = limits or HttpLimits()
    lifecycle = Lifecycle(remote.ready if remote is not None else None)
    app = http_app(
        server,
        host=host,
        bearer=bearer,
        extra_hosts=extra_hosts,
        limits=limits,
        remote=remote,
        lifecycle=lifecycle,
    )
    connections, backlog = fd_plan(limits.max_connections)
    listener = listening_socket(host, port, backlog=backlog)
    config = uvicorn.Config(
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
        # The drain, then the answers of the calls it stopped; uvicorn cancels what is left after that.
        timeout_graceful_shutdown=math.ceil(limits.drain_seconds + ANSWER_SECONDS),
    )
    DrainingServer(config, lifecycle, limits.drain_seconds).run(sockets=[listener])


class DrainingServer(uvicorn.Server):
    """uvicorn's server; on SIGTERM (or SIGINT) readiness turns 503 before it stops accepting, and the
    calls in progress get ``drain_seconds`` to finish. Tool calls still running then are stopped and
    answered (:class:`InFlightCalls`); uvicorn's own deadline (``timeout_graceful_shutdown``) comes
    ``ANSWER_SECONDS`` later, for those answers to leave."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_seconds: float = 25.0) -> None:
        super().__init__(config)
        self._lifecycle = lifecycle
        self._drain_seconds = drain_seconds

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:  # every mode says where it listens, here (uvicorn's line is INFO)
            say(f"edfs-mcp: listening on {http_url(sockets[0], MCP_PATH)}")

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self._drain_seconds, self._stop_calls)
        try:
            await super().shutdown(sockets)
        finally:
            timer.cancel()

    def _stop_calls(self) -> None:
        stopped = self._lifecycle.calls.stop()
        if stopped:
            logger.warning(
                "drain ended (EDFS_MCP_HTTP_DRAIN_SECONDS=%g): stopping %d tool call(s) in progress; each "
                "is answered with what became of it",
                self._drain_seconds,
                stopped,
            )

    def handle_exit(self, sig: int, frame: Any) -> None:
        if not self._lifecycle.draining:
            self._lifecycle.draining = True
            logger.warning(
                "signal %d: draining, calls in progress get up to %g s (EDFS_MCP_HTTP_DRAIN_SECONDS)",
                sig,
                self.config.timeout_graceful_shutdown or 0,
            )
        super().handle_exit(sig, frame)
