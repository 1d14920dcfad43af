"""A real `edfs-mcp serve --transport streamable-http` subprocess on 127.0.0.1, its stderr kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_server(preexec: Callable[[], None] | None = None, **env: str) -> Iterator[Served]:
    """Serve the sandbox with ``env`` (EDFS_MCP_* settings); ``preexec`` runs in the child first."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDFS_MCP_")}
    with tempfile.TemporaryDirectory() as tmp:
        stderr_path = Path(tmp) / "stderr"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edfs_mcp",
                    "serve",
                    "--sandbox",
                    "--transport",
                    "streamable-http",
                    "--port",
                    str(port),
                ],
                env={**clean, **env},
                stderr=stderr,
                preexec_fn=preexec,  # only setrlimit: no threads to deadlock on before exec
            )
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        assert process.poll() is None, stderr_path.read_text()
                        assert time.monotonic() < deadline, "server did not start"
                        time.sleep(0.1)
                yield Served(f"http://127.0.0.1:{port}/mcp", port, process.pid, stderr_path)
            finally:
                process.terminate()
                process.wait(20)


def initialize(http: httpx2.Client, url: str) -> str:
    """Open a 2025-11-25 session by hand; its id."""
    response = http.post(url, json=INITIALIZE, headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def ping(http: httpx2.Client, url: str, session_id: str) -> httpx2.Response:
    headers = {**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    return http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers)


def wait_for(condition: Callable[[], bool], seconds: float = 30, what: str = "condition") -> None:
    """Poll ``condition`` until true or the deadline passes."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
