"""`edfs-mcp serve --transport streamable-http` as a real process on a free loopback port, for tests.

One helper for every test that needs the server over HTTP: a port nobody holds, an environment
with none of the caller's EDFS_MCP_* settings, stderr kept in a file, and a wait until it listens.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness import clean_env, wait_for

__all__ = [
    "HEADERS",
    "INITIALIZE",
    "Serving",
    "free_port",
    "serve_http_command",
    "serving_http",
    "wait_until_listening",
]

START_SECONDS = 30.0
# A 2025-11-25 initialize request, sent by hand, and the headers streamable HTTP wants with it.
INITIALIZE: dict[str, Any] = {
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    """Something listens on ``port``. On Linux this reads the socket table, so the check itself opens
    no connection (tests that count a server's connections must not see a probe); elsewhere it connects."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if tables[0].exists():
        wanted = f":{port:04X}"
        for table in tables:
            lines = table.read_text().splitlines()[1:] if table.exists() else []
            if any(
                fields[1].endswith(wanted) and fields[3] == "0A"
                for fields in (line.split() for line in lines)
            ):
                return True
        return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until_listening(
    port: int, process: subprocess.Popen[bytes], stderr_path: Path | None = None
) -> None:
    """Return once something listens on ``port``; fail if the process died or it took too long."""
    wait_for(
        lambda: process.poll() is not None or _listening(port), f"a server on port {port}", START_SECONDS
    )
    died = process.poll() is not None and not _listening(port)
    assert not died, stderr_path.read_text(errors="replace") if stderr_path else "the server exited"


@dataclass
class Serving:
    port: int
    pid: int
    stderr_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def serve_http_command(port: int, *args: str) -> list[str]:
    """``edfs-mcp serve --transport streamable-http --port <port> *args``, with this interpreter."""
    return [
        sys.executable,
        "-m",
        "edfs_mcp",
        "serve",
        "--transport",
        "streamable-http",
        "--port",
        str(port),
        *args,
    ]


@contextmanager
def serving_http(
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Serving]:
    """``edfs-mcp serve --transport streamable-http --port <port> *args`` with ``env`` (added to a
    clean environment); stopped on exit. ``preexec`` runs in the child before exec."""
    port = port or free_port()
    with tempfile.TemporaryDirectory() as tmp:
        stderr_path = Path(tmp) / "stderr"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                serve_http_command(port, *args),
                env=clean_env(env),
                stderr=stderr,
                preexec_fn=preexec,  # only setrlimit-style calls: no threads to deadlock on before exec
            )
            try:
                wait_until_listening(port, process, stderr_path)
                yield Serving(port, process.pid, stderr_path)
            finally:
                process.terminate()
                process.wait(20)
