"""The sandbox ASGI app: OAuth, control API, and EDFS + iTwins behind the raw-path router.

Fault injection sits in ``SandboxApp.__call__``, outside Starlette's own middleware, so a forced
429/5xx is sent before anything is processed and a dropped connection is never turned into a 500.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from . import access_control, control, edfs, itwins, oauth, odata, roles, timers
from ._http import TOO_MANY, error_response, rate_limited
from .router import Router, raw_path_of
from .state import SandboxState

_SERVER_ERRORS = {
    500: ("InternalServerError", "The server encountered an internal error."),
    502: ("BadGateway", "The upstream service returned an invalid response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The upstream service did not respond in time."),
}


class ConnectionDropped(httpx2.RemoteProtocolError):
    """Raised in-process (no socket to close) when a request is dropped after processing.

    It is the error an httpx2 client gets from a real dropped connection, so code under test sees
    the same exception in-process as over loopback.
    """


class SandboxApp(Starlette):
    """Starlette plus request recording and fault injection around every HTTP request."""

    def __init__(self, state: SandboxState, router: Router, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = state
        self.api_router = router
        self.state.sandbox = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        method, raw_path = scope["method"], raw_path_of(scope)
        self.sandbox.record_request(method, raw_path)
        decision = self.sandbox.faults.decide(raw_path, method)
        if decision.latency:
            receive, left = await _wait_unless_client_leaves(receive, decision.latency)
            if left:
                # The client gave up (e.g. a cancelled tool call): like a gateway, never run it.
                self.sandbox.count_abandoned()
                return
        if decision.rate_limit is not None:
            retry_after, code = decision.rate_limit
            if code is None:
                found = self.api_router.match(method, raw_path)
                code = found[0].rate_code if found else TOO_MANY[0]
            await rate_limited(retry_after, code)(scope, receive, send)
        elif decision.server_error is not None:
            status = decision.server_error
            code, message = _SERVER_ERRORS.get(status, ("ServerError", "The request failed."))
            await error_response(status, code, message)(scope, receive, send)
        elif decision.drop:
            await super().__call__(scope, receive, _discard)
            await _drop_connection(send)
        elif decision.slow_body:
            await super().__call__(scope, receive, _slow_sender(send, decision.slow_body))
        else:
            await super().__call__(scope, receive, send)


async def _wait_unless_client_leaves(receive: Receive, seconds: float) -> tuple[Receive, bool]:
    """Sleep ``seconds`` unless the client disconnects first; the request body is kept for the app."""
    body: list[Message] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return receive, True
        body.append(message)
        if not message.get("more_body"):
            break
    try:
        message = await asyncio.wait_for(receive(), seconds)
    except TimeoutError:
        pass
    else:
        if message["type"] == "http.disconnect":
            return receive, True

    async def replay() -> Message:
        return body.pop(0) if body else await receive()

    return replay, False


def _slow_sender(send: Send, delay: float) -> Send:
    """Headers at once, the body ``delay`` seconds later: a client's read timeout can fire mid-response."""

    async def slow(message: Message) -> None:
        if message["type"] == "http.response.body":
            await asyncio.sleep(delay)
        await send(message)

    return slow


async def _discard(message: Message) -> None:
    """The response of a request that will be dropped goes nowhere."""


async def _drop_connection(send: Send) -> None:
    """Close the client connection without a response.

    Under uvicorn, ``send`` is a method of the request cycle that owns the socket transport: closing
    it gives the client a clean EOF with no status line ("server disconnected without sending a
    response"). Returning only once uvicorn has noticed keeps it from logging an error or writing a 500.
    With no transport (in-process ``ASGITransport``), ``ConnectionDropped`` reaches the client instead.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise ConnectionDropped("the sandbox dropped the connection after processing the request")
    transport.close()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)


def build_app(state: SandboxState | None = None) -> Starlette:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its ``SandboxState``."""
    state = SandboxState() if state is None else state
    router = Router(
        [
            *edfs.operations(),
            *timers.operations(),
            *odata.operations(),
            *roles.operations(),
            *itwins.operations(),
            *access_control.operations(),
        ]
    )

    async def api(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = await router(Request(scope, receive))
        await response(scope, receive, send)

    app = SandboxApp(state, router, routes=[*oauth.routes(state), *control.routes(state)])
    # Everything that is not OAuth or control goes to the raw-path router, whatever its decoded path
    # looks like (a Mount's regex would not match a decoded newline); no slash-redirect guessing.
    app.router.default = api
    app.router.redirect_slashes = False
    return app
