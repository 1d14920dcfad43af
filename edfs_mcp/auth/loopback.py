"""Authorization code + PKCE (S256) with a one-shot listener on 127.0.0.1.

Bentley's documented flow for desktop apps (the iTwin CLI's): open the browser at the
authorize endpoint, take the code at the registered loopback redirect URI, check
``state``, exchange the code with the verifier.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edfs_mcp.auth.oauth import fetch_token
from edfs_mcp.errors import AuthError
from edfs_mcp.templates import render

__all__ = ["LoopbackRedirect", "sign_in_with_browser"]


@dataclass(frozen=True)
class LoopbackRedirect:
    """The registered redirect URI, e.g. http://localhost:3301/signin-callback."""

    uri: str

    @property
    def port(self) -> int:
        port = urlsplit(self.uri).port
        return 80 if port is None else port

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path or "/"

    def with_port(self, port: int) -> str:
        parts = urlsplit(self.uri)
        return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()


@dataclass
class _Callback:
    code: str | None = None
    error: str | None = None


async def _serve_once(
    redirect: LoopbackRedirect, expected_state: str, ready: Callable[[int], None]
) -> tuple[_Callback, asyncio.AbstractServer, asyncio.Event]:
    result = _Callback()
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.split()
            try:
                target = urlsplit(parts[1]) if len(parts) == 3 else None
            except ValueError:  # not a URL (an unclosed IPv6 bracket, ...)
                target = None
            if target is None:
                await _respond(writer, 400, "Not understood", "That was not an HTTP request.")
                return
            if target.path != redirect.path:
                await _respond(writer, 404, "Not found", "This address only receives the sign-in answer.")
                return
            if parts[0] != "GET":
                await _respond(writer, 405, "Not accepted", "The sign-in answer comes as a GET request.")
                return
            query = {key: values[0] for key, values in parse_qs(target.query).items()}
            # Constant-time compare: the state is what ties this answer to our request.
            if not hmac.compare_digest(query.get("state", "").encode(), expected_state.encode()):
                await _respond(writer, 400, "Sign-in not accepted", "The answer did not match this sign-in.")
                return
            if "error" in query:
                result.error = query["error"]
                await _respond(writer, 200, "Sign-in cancelled", "You can close this tab.")
            else:
                result.code = query.get("code")
                await _respond(writer, 200, "Signed in", "edfs-mcp is signed in. You can close this tab.")
            done.set()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", redirect.port)
    ready(server.sockets[0].getsockname()[1])
    return result, server, done


async def _respond(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
    """A whole answer: the status line with its standard reason phrase, then a small page."""
    body = render("loopback.html", title=title, text=text).encode()
    allow = "Allow: GET\r\n" if status == HTTPStatus.METHOD_NOT_ALLOWED else ""
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"{allow}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()


async def sign_in_with_browser(
    oauth: Any,
    *,
    authorization_endpoint: str,
    token_endpoint: str,
    redirect: LoopbackRedirect,
    show_url: Callable[[str], None],
    timeout: float = 300.0,  # noqa: ASYNC109 - how long a person has to finish in the browser
) -> dict[str, Any]:
    """Run the flow; ``show_url`` opens or prints the authorize URL.

    ``oauth``: an AsyncOAuth2Client made with ``code_challenge_method="S256"``.
    """
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    bound: list[int] = []
    try:
        callback, server, done = await _serve_once(redirect, state, bound.append)
    except OSError as exc:
        raise AuthError(
            f"Could not listen on 127.0.0.1:{redirect.port} for the sign-in answer ({exc.strerror}). "
            "Close what uses the port or set EDFS_MCP_REDIRECT_URI to another registered redirect."
        ) from None
    # Port 0 in the configured URI means "any free port" (loopback redirects may vary the port, RFC 8252).
    redirect_uri = redirect.uri if redirect.port else redirect.with_port(bound[0])
    try:
        url, _ = oauth.create_authorization_url(
            authorization_endpoint, redirect_uri=redirect_uri, state=state, code_verifier=verifier
        )
        show_url(url)
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except TimeoutError:
            raise AuthError(
                f"No sign-in answer arrived within {timeout:.0f} s. Start the sign-in again."
            ) from None
    finally:
        server.close()
        await server.wait_closed()
    if callback.error or not callback.code:
        raise AuthError(f"The sign-in was not completed in the browser ({callback.error or 'no code'}).")
    return await fetch_token(
        oauth,
        token_endpoint,
        refused="the sign-in code",
        grant_type="authorization_code",
        code=callback.code,
        redirect_uri=redirect_uri,
        code_verifier=verifier,
    )
