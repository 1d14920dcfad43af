"""A real `edfs-mcp serve --transport streamable-http` subprocess on 127.0.0.1, its stderr kept."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

from tests.serving import HEADERS, INITIALIZE, serving_http


@dataclass
class Served:
    url: str
    port: int
    pid: int
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stderr_bytes(self) -> int:
        return self.stderr_path.stat().st_size

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@contextmanager
def http_server(preexec: Callable[[], None] | None = None, **env: str) -> Iterator[Served]:
    """Serve the sandbox with ``env`` (EDFS_MCP_* settings); ``preexec`` runs in the child first."""
    with serving_http(["--sandbox"], env, preexec=preexec) as serving:
        yield Served(serving.url, serving.port, serving.pid, serving.stderr_path)


def initialize(http: httpx2.Client, url: str) -> str:
    """Open a 2025-11-25 session by hand; its id."""
    response = http.post(url, json=INITIALIZE, headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def initialize_many(url: str, count: int) -> list[str]:
    """``initialize`` ``count`` times, one after another on one kept-alive connection (as an
    ``httpx2.Client`` does); their session ids. The standard library's client, for floods: httpx2
    spends several times the CPU per request, and a flood's subject is the server."""
    parts = urlsplit(url)
    body = json.dumps(INITIALIZE).encode()
    opened = []
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        for _ in range(count):
            connection.request("POST", parts.path, body, HEADERS)
            response = connection.getresponse()
            text = response.read()
            assert response.status == 200, text.decode(errors="replace")
            session_id = response.getheader("mcp-session-id")
            assert session_id, response.headers
            opened.append(session_id)
    finally:
        connection.close()
    return opened


def ping(http: httpx2.Client, url: str, session_id: str) -> httpx2.Response:
    headers = {**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    return http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers)
