"""Client ID Metadata Documents: used when safe, never fetched from where they must not be."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from edfs_mcp.remote.cimd import MAX_BYTES, CimdError, CimdFetcher
from edfs_mcp.sandbox import SandboxServer
from tests.remote.harness import CLIENT_REDIRECT, Browser, authorize_url, exchange, in_process, mcp_ping, pkce

pytestmark = pytest.mark.anyio


@contextmanager
def document_server(body: bytes | None = None) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server answering every GET with a metadata document; the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            port = cast(tuple[str, int], self.server.server_address)[1]
            url = f"http://127.0.0.1:{port}{self.path}"
            document = (
                body
                or json.dumps(
                    {
                        "client_id": url,
                        "client_name": "Metadata document client",
                        "redirect_uris": [CLIENT_REDIRECT],
                        "token_endpoint_auth_method": "none",
                    }
                ).encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


async def test_a_metadata_document_client_signs_in_against_the_sandbox(sandbox: SandboxServer) -> None:
    with in_process(sandbox) as server, document_server() as (docs, asked):
        client_id = f"{docs}/mcp-client.json"
        verifier, challenge = pkce()
        browser = Browser()
        try:
            reached = await browser.go(authorize_url(server.base, client_id, challenge))
        finally:
            await browser.aclose()
        assert asked == ["/mcp-client.json"]
        assert any("/consent" in url for url in browser.seen)
        code = parse_qs(urlsplit(reached).query)["code"][0]
        async with httpx2.AsyncClient(timeout=30) as http:
            tokens = await exchange(http, server.base, client_id, code, verifier)
            assert tokens.status_code == 200, tokens.text
            assert (await mcp_ping(http, server.url, tokens.json()["access_token"])).status_code == 200


async def test_loopback_http_only_against_the_sandbox() -> None:
    with document_server() as (docs, asked):
        with pytest.raises(CimdError, match="https"):
            await CimdFetcher(allow_loopback=False).fetch(f"{docs}/client.json")
        with pytest.raises(CimdError, match="non-public"):
            await CimdFetcher(allow_loopback=False).fetch(
                docs.replace("http://", "https://") + "/client.json"
            )
        assert asked == []  # refused before any connection
        assert (await CimdFetcher(allow_loopback=True).fetch(f"{docs}/client.json")).client_name


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "fd00::5",
        "::ffff:10.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
    ],
)
async def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(address: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", address]  # one public address does not make a private one safe

    with pytest.raises(CimdError, match="non-public"):
        await CimdFetcher(resolver=resolver).fetch("https://client.example/metadata.json")


@pytest.mark.parametrize(
    "url",
    [
        "http://client.example/metadata.json",
        "https://client.example/",
        "https://user:pw@client.example/metadata.json",
        "https://client.example/metadata.json#frag",
        "ftp://client.example/metadata.json",
    ],
)
async def test_only_plain_https_urls_with_a_path(url: str) -> None:
    with pytest.raises(CimdError):
        await CimdFetcher().fetch(url)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (b"x" * (MAX_BYTES + 1), "larger"),
        (b"not json", "JSON"),
        (
            json.dumps(
                {"client_id": "https://other.example/c.json", "redirect_uris": [CLIENT_REDIRECT]}
            ).encode(),
            "own URL",
        ),
    ],
)
async def test_documents_that_are_too_big_or_not_their_own_are_refused(document: bytes, why: str) -> None:
    with document_server(document) as (docs, _), pytest.raises(CimdError, match=why):
        await CimdFetcher(allow_loopback=True).fetch(f"{docs}/client.json")


async def test_a_document_that_never_comes_is_given_up() -> None:
    import socket

    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(CimdError, match="no whole answer"):
            await CimdFetcher(allow_loopback=True, timeout=0.5).fetch(f"http://127.0.0.1:{port}/client.json")
