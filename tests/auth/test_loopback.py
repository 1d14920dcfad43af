"""The browser sign-in's loopback listener, over a real socket on 127.0.0.1.

Each answer carries a proper status line (code and its standard reason phrase); only the answer to
this sign-in (right path, GET, the state we sent) is taken, and then the code is exchanged.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from edfs_mcp.auth.loopback import LoopbackRedirect, sign_in_with_browser
from edfs_mcp.errors import AuthError

pytestmark = pytest.mark.anyio

PATH = "/signin-callback"


class FakeOAuth:
    """authlib's client as the flow uses it: makes the authorize URL, exchanges the code."""

    def __init__(self) -> None:
        self.state = ""
        self.port = 0
        self.url_shown = anyio.Event()
        self.exchanged: list[dict[str, Any]] = []

    def create_authorization_url(self, endpoint: str, **params: str) -> tuple[str, str]:
        self.state = params["state"]
        self.port = int(params["redirect_uri"].split(":")[2].split("/")[0])
        return f"{endpoint}?state={self.state}", self.state

    async def fetch_token(self, endpoint: str, **params: str) -> dict[str, Any]:
        self.exchanged.append(params)
        return {"access_token": "access", "expires_in": 3600}


async def _sign_in(oauth: FakeOAuth) -> Any:
    """The browser sign-in on a free loopback port, against an authority that is never reached."""
    return await sign_in_with_browser(
        oauth,
        authorization_endpoint="http://authority.invalid/connect/authorize",
        token_endpoint="http://authority.invalid/connect/token",
        redirect=LoopbackRedirect(f"http://127.0.0.1:0{PATH}"),
        show_url=lambda url: oauth.url_shown.set(),
    )


async def _exchange(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send raw bytes, read until the listener closes; the status line, headers and body."""
    received = b""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(request)
        try:
            while True:
                received += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


async def _with_listener(requests: list[bytes]) -> tuple[list[tuple[str, dict[str, str], bytes]], Any]:
    """Run a browser sign-in on a free port, send ``requests`` (``{state}`` filled in), then the
    right answer; what each request got, and what the sign-in returned."""
    oauth = FakeOAuth()
    answers: list[tuple[str, dict[str, str], bytes]] = []
    outcome: list[Any] = []

    async def run() -> None:
        outcome.append(await _sign_in(oauth))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await oauth.url_shown.wait()
        for request in [
            *requests,
            b"GET " + PATH.encode() + b"?code=the-code&state={state} HTTP/1.1\r\n\r\n",
        ]:
            answers.append(await _exchange(oauth.port, request.replace(b"{state}", oauth.state.encode())))
    assert oauth.exchanged and oauth.exchanged[0]["code"] == "the-code"
    return answers, outcome[0]


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (b"GET " + PATH.encode() + b"?code=c&state=forged HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (
            b"GET " + PATH.encode() + b"?code=c&state=%C3%A9t%C3%A9 HTTP/1.1\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (b"GET " + PATH.encode() + b"?code=c HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (
            b"POST " + PATH.encode() + b"?code=c&state={state} HTTP/1.1\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (b"hello\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"GET http://[::1 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ],
    ids=["other-path", "forged-state", "non-ascii-state", "no-state", "post", "not-http", "bad-url"],
)
async def test_a_request_that_is_not_the_answer_gets_its_status_and_is_ignored(
    request_bytes: bytes, status_line: str
) -> None:
    answers, token = await _with_listener([request_bytes])
    (status, headers, body), (done, _, _) = answers
    assert status == status_line
    assert int(headers["content-length"]) == len(body) and headers["connection"] == "close"
    if "405" in status:
        assert headers["allow"] == "GET"
    assert done == "HTTP/1.1 200 OK"  # the listener still took the real answer afterwards
    assert token["access_token"] == "access"


async def test_the_answer_gets_200_ok_and_the_code_is_exchanged() -> None:
    answers, token = await _with_listener([])
    (status, headers, body) = answers[0]
    assert status == "HTTP/1.1 200 OK" and b"Signed in" in body
    assert headers["content-type"].startswith("text/html")
    assert token == {"access_token": "access", "expires_in": 3600}


async def test_an_error_from_the_authority_is_a_clear_auth_error() -> None:
    oauth = FakeOAuth()
    statuses: list[str] = []

    async def answer() -> None:
        await oauth.url_shown.wait()
        request = f"GET {PATH}?error=access_denied&state={oauth.state} HTTP/1.1\r\n\r\n".encode()
        statuses.append((await _exchange(oauth.port, request))[0])

    refused: list[AuthError] = []
    async with anyio.create_task_group() as group:
        group.start_soon(answer)
        try:
            await _sign_in(oauth)
        except AuthError as exc:
            refused.append(exc)
    assert len(refused) == 1 and "access_denied" in str(refused[0])
    assert statuses == ["HTTP/1.1 200 OK"] and oauth.exchanged == []
