"""A real HTTP/1.1 server on 127.0.0.1 whose answers a test writes byte by byte: huge, endless,
gzip bombs, trickling, malformed. One request per connection; it counts requests and bytes sent.

    async def answer(request: Request, out: Out) -> None:
        await out.head(429, {"Retry-After": "NaN"})
    async with hostile(answer) as server:
        ...server.url, server.requests, server.sent
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    requests: list[Request] = field(default_factory=list)
    sent: int = 0  # body bytes written, all connections
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)  # a client closed mid-answer


class Out:
    """Writes one answer; every write waits for the socket (so a client that stops reading stalls it)."""

    def __init__(self, server: Server, writer: asyncio.StreamWriter) -> None:
        self._server = server
        self._writer = writer

    async def raw(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def head(
        self, status: int, headers: dict[str, str] | None = None, body: bytes | None = b""
    ) -> None:
        """Status line and headers; with ``body`` (not None) a Content-Length and the body too."""
        lines = [f"HTTP/1.1 {status} X", "Connection: close"]
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        lines += [f"{name}: {value}" for name, value in headers.items()]
        await self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if body:
            await self.body(body)

    async def body(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            piece = data[start : start + CHUNK]
            await self.raw(piece)
            self._server.sent += len(piece)

    async def chunk(self, data: bytes) -> None:
        """One chunk of a ``Transfer-Encoding: chunked`` body."""
        await self.raw(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self._server.sent += len(data)


Answer = Callable[[Request, Out], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


@asynccontextmanager
async def hostile(answer: Answer) -> AsyncIterator[Server]:
    server: Server | None = None
    connections: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert server is not None
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            request = await _read_request(reader)
            server.requests.append(request)
            await answer(request, Out(server, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            server.hung_up.set()
        finally:
            connections.discard(task)
            writer.close()
            with suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = Server(url=f"http://127.0.0.1:{port}")
    try:
        yield server
    finally:
        listener.close()
        for task in list(connections):  # answers still streaming to nobody
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await listener.wait_closed()


def gzip_of_zeros(size: int, wbits: int = zlib.MAX_WBITS | 16) -> bytes:
    """``size`` zero bytes, compressed (gzip by default; zlib or raw deflate by ``wbits``): a bomb,
    about 1000:1. Made in about a second for 2 GiB: after a full flush the compressor starts afresh,
    so every MiB of zeros compresses to the same bytes, compressed once and repeated (compressing
    2 GiB took 12 s, and a loaded CI machine ran the test past its guard)."""
    whole, rest = divmod(size, ZEROS)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(ZEROS)
    block = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
    body = block * whole + raw.compress(bytes(rest)) + raw.flush()
    if wbits < 0:
        return body
    if wbits > zlib.MAX_WBITS:  # gzip: header, deflate, CRC-32 and size mod 2**32 (RFC 1952)
        crc = 0
        for _ in range(whole):
            crc = zlib.crc32(zeros, crc)
        crc = zlib.crc32(bytes(rest), crc)
        return GZIP_HEADER + body + struct.pack("<II", crc, size & 0xFFFFFFFF)
    adler = 1  # zlib: header, deflate, Adler-32 (RFC 1950)
    for _ in range(whole):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + body + struct.pack(">I", zlib.adler32(bytes(rest), adler))


ZEROS = 1 << 20
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no name, no time, best, Unix


def compressed(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()
