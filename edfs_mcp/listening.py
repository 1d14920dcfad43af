"""The socket an HTTP server of ours listens on, bound before the server runs.

uvicorn binds inside its event loop and, when it cannot, logs the OS error and ends the process with
a code of its own; the sandbox's thread just died. Bound here first, a port in use is an exception
the command words in one line (:class:`CannotListen`), and ``port=0`` gives the port the system chose.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from edfs_mcp.errors import EdfsMcpError

__all__ = ["CannotListen", "http_url", "is_loopback", "listening_socket"]


class CannotListen(EdfsMcpError):
    """``host:port`` cannot be listened on: the port is in use, or the address is not this machine's."""

    def __init__(self, host: str, port: int, reason: str, *, in_use: bool) -> None:
        super().__init__(f"cannot listen on {_address(host, port)}: {reason}")
        self.host, self.port, self.in_use = host, port, in_use


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listening_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening (``port`` 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn binds
    try:
        listener = socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        in_use = exc.errno == errno.EADDRINUSE
        reason = f"port {port} is in use" if in_use else (exc.strerror or str(exc))
        raise CannotListen(host, port, reason, in_use=in_use) from None
    # create_server leaves the socket's proto 0, and so the connections it accepts; asyncio sets
    # TCP_NODELAY only on those whose proto is IPPROTO_TCP. Without it a response written in two parts
    # (headers, then the body) waits for the client's delayed ACK: 40 ms on every kept-alive request.
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=listener.detach())


def http_url(listener: socket.socket, path: str = "") -> str:
    """``http://host:port<path>`` of where ``listener`` listens."""
    host, port = listener.getsockname()[:2]
    return f"http://{_address(str(host), int(port))}{path}"


def is_loopback(host: str) -> bool:
    """``host`` (a name or an address, IPv6 with or without brackets) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
