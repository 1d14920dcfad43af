"""A real browser for the pages people see: Debian's Chromium, driven by playwright-python.

Playwright's own browser download is not reachable from these machines, so the browser is the
distribution's (``apt-get install chromium``), started with ``executable_path``. It enforces what an
HTTP client does not: ``Origin`` as the Referrer-Policy leaves it, CSP (``form-action`` on the
redirects after a POST too), ``SameSite`` cookies, framing. Outside CI a missing browser skips the
test and says why; in CI (``CI`` set, as ``.ci/run`` does) it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ["ClientRedirect", "chromium", "chromium_path", "client_redirect"]

# Flags for a root CI container with no network beyond loopback: no sandbox (root), and none of
# Chromium's background connections (each would be refused by the closed network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI installs it: see .ci/run)")
    pytest.skip(why)


def chromium_path() -> str:
    """The distribution's Chromium; skips (fails in CI) when it or playwright is missing."""
    found = next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)
    if found is None:
        _unavailable("needs Debian's chromium (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _unavailable("needs playwright-python (the dev extra)")
    assert found is not None
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium with a fresh profile."""
    path = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class ClientRedirect:
    """An MCP client's loopback redirect URI (RFC 8252), listening for real: what reached it."""

    url: str
    _loop: asyncio.AbstractEventLoop
    _arrived: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)

    def deliver(self, query: dict[str, str]) -> None:
        self._loop.call_soon_threadsafe(self._arrived.put_nowait, query)

    async def next(self) -> dict[str, str]:
        """The query of the next request the browser sent to the redirect URI (within 30 s)."""
        async with asyncio.timeout(30):
            return await self._arrived.get()


@contextmanager
def client_redirect(path: str = "/callback") -> Iterator[ClientRedirect]:
    """A redirect URI on 127.0.0.1 that answers as a desktop MCP client does ("you can close this")."""
    loop = asyncio.get_running_loop()
    holder: dict[str, ClientRedirect] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == path:
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                holder["redirect"].deliver(query)
            body = b"<!doctype html><title>Done</title><p>You can close this window.</p>"
            self.send_response(200 if parts.path == path else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["redirect"] = ClientRedirect(f"http://127.0.0.1:{server.server_port}{path}", loop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["redirect"]
    finally:
        server.shutdown()
        server.server_close()
