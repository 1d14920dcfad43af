"""A request body read whole and bounded before a page's endpoint sees any of it.

The pages edfs-mcp serves (the team sign-in's consent and OAuth endpoints in ``remote``, the set-up
form of ``system_page``) take small forms only; a larger body is refused before it is parsed.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_FORM_BYTES", "BoundedBody", "replaying"]

MAX_FORM_BYTES = 64 * 1024


class BoundedBody:
    """The whole request body, at most ``MAX_FORM_BYTES``, read before the endpoint sees any of it.

    Every body these endpoints take (a consent form, a registration, a token or revocation request, a
    system's credentials) is small; a larger one is answered 413 without being parsed, and nothing of
    it is kept."""

    def __init__(self, app: ASGIApp, limit: int = MAX_FORM_BYTES) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        too_large = not declared.isdigit() or int(declared) > self._limit
        body, more = bytearray(), not too_large
        while more:
            message = await receive()
            body += message.get("body", b"")
            too_large = len(body) > self._limit
            more = message.get("more_body", False) and not too_large
        if too_large:
            del body
            refusal = PlainTextResponse(
                f"Request body too large: at most {self._limit // 1024} KiB.\n", status_code=413
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, replaying(bytes(body), receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (already read) as the whole request body."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
