"""The real parts of a scaled-out deployment, on loopback and free ports, started and stopped by tests.

- ``redis_server``: a ``redis-server`` from the distribution (append-only file in a temporary
  directory), stoppable and restartable on the same port with its data.
- ``replica``: a real ``edfs-mcp serve --transport streamable-http`` process sharing that Redis.
- ``haproxy``: a real HAProxy in front of the replicas (round robin, routing only to replicas whose
  ``/readyz`` says 200, as a Kubernetes Service does; a refused connection is re-sent to another).

A part that is not installed skips the test on a developer's machine, saying how to get it (like
the Node tools); in CI (``CI`` set, as ``.ci/run`` runs) it fails, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness import clean_env, wait_for
from tests.serving import free_port, serve_http_command

__all__ = ["HAProxy", "RedisServer", "Replica", "haproxy", "redis_server", "replica", "require", "wait_for"]


def require(program: str, package: str) -> str:
    """The path of ``program``, or the test fails saying how to get it."""
    found = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        why = (
            f"{program} is not installed: the scale-out tests run the real one. `.ci/run` installs it "
            f"(apt-get install {package}); on Debian/Ubuntu: sudo apt-get install -y {package}"
        )
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return found


def _answers(port: int, request: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(request)
            return sock.recv(64).startswith(expect)
    except OSError:
        return False


@dataclass
class RedisServer:
    port: int
    directory: Path
    program: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",  # a restart keeps the state, as a production Redis would
                "yes",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        process = self.process

        def up() -> bool:
            assert process.poll() is None, (self.directory / "redis.log").read_text(errors="replace")
            return _answers(self.port, b"PING\r\n", b"+PONG")

        wait_for(up, "redis-server to answer PING")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    program = require("redis-server", "redis-server")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(free_port(), Path(tmp), program)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class Replica:
    """One ``edfs-mcp serve`` process."""

    name: str
    port: int
    stderr_path: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Dies at once, as on a node failure (SIGKILL: no draining)."""
        self.process.kill()
        self.process.wait(20)

    def terminate(self) -> int:
        """SIGTERM, as Kubernetes sends: drains, then exits; its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


@contextmanager
def replica(name: str, env: dict[str, str], directory: Path, port: int | None = None) -> Iterator[Replica]:
    """A real ``edfs-mcp serve --transport streamable-http`` with ``env`` (EDFS_MCP_* only)."""
    port = port or free_port()
    stderr_path = directory / f"{name}.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            serve_http_command(port),
            env=clean_env(env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    running = Replica(name, port, stderr_path, process)
    try:

        def up() -> bool:
            assert process.poll() is None, running.stderr()
            return _answers(port, b"GET /healthz HTTP/1.0\r\n\r\n", b"HTTP/1.1 200")

        wait_for(up, f"replica {name} to answer /healthz", 30)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@dataclass
class HAProxy:
    port: int
    stats_port: int
    config_path: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    backends: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API (its admin socket); its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.config_path.parent / "admin.sock"))
            sock.sendall(line.encode() + b"\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        return answer.decode(errors="replace")

    def take_out(self, name: str) -> None:
        """Send ``name`` no new requests, as Kubernetes takes a terminating pod out of its Service
        before it sends SIGTERM (the Deployment's preStop pause)."""
        answer = self.command(f"set server replicas/{name} state drain")
        assert answer.strip() == "", answer

    def put_back(self, name: str) -> None:
        """Route to ``name`` again once its health checks pass."""
        answer = self.command(f"set server replicas/{name} state ready")
        assert answer.strip() == "", answer


HAPROXY_CONFIG = """\
global
    maxconn 512
    stats socket {admin} level admin

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # Longer than a client keeps an idle connection (httpx: 5 s), so the client always closes first:
    # at 5 s against 5 s, a request on a connection HAProxy was closing met no answer at all.
    timeout http-keep-alive 30s
    # A check's whole answer may take this long (unset, it would be 'inter': a busy replica's
    # /readyz, which asks Redis, would mark it down).
    timeout check 2s
    option http-server-close
    retries 2
    option redispatch

frontend mcp
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    http-response set-header X-Served-By %s
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 2 rise 2
{servers}
"""


@contextmanager
def haproxy(backends: list[int], directory: Path, port: int | None = None) -> Iterator[HAProxy]:
    """A real HAProxy on a loopback port, round robin over ``backends`` (ports), checking /readyz;
    each answer says which replica gave it (``X-Served-By: r0``, ``r1``...)."""
    program = require("haproxy", "haproxy")
    port = port or free_port()
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check" for i, p in enumerate(backends))
    config = directory / "haproxy.cfg"
    admin = directory / "admin.sock"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers, admin=admin))
    check = subprocess.run([program, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    log_path = directory / "haproxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([program, "-db", "-f", str(config)], stdout=log, stderr=log)
    running = HAProxy(port, 0, config, process, log_path, backends)
    try:

        def up() -> bool:
            assert process.poll() is None, running.log()
            return _answers(port, b"GET /healthz HTTP/1.0\r\n\r\n", b"HTTP/1.1 200")

        wait_for(up, "haproxy to answer /healthz through a replica")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
