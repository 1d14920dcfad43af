"""Reading a response body within a byte cap, counted after decompression, while it streams.

httpx2 would inflate gzip without a bound on the output of one network read (a 64 KiB read of a
gzip bomb becomes ~64 MiB at once). Here the raw bytes are inflated in steps of at most
``STEP`` bytes, so memory stays near the cap whatever the body claims or contains.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

import anyio.lowlevel
import httpx2

from edfs_mcp.errors import EdfsMcpError

__all__ = ["ACCEPT_ENCODING", "ERROR_BODY_LIMIT", "UndecodableBody", "read_capped"]

# What we ask for, and so all we decode; anything else is a server fault.
ACCEPT_ENCODING = "gzip, deflate"
# Error answers (4xx/5xx) only need code, message and the first details.
ERROR_BODY_LIMIT = 64 * 1024
# Largest piece inflated at once: a bomb yields many small pieces, each a chance to stop.
STEP = 256 * 1024


class UndecodableBody(EdfsMcpError):
    """The body's Content-Encoding is not one we asked for, or its compressed data is corrupt."""


class _Identity:
    def pieces(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> bytes:
        return b""


_WBITS = {"gzip": zlib.MAX_WBITS | 16, "zlib": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS}


class _Zlib:
    """gzip (one member or several, RFC 1952), or deflate (zlib-wrapped as RFC 9110 says, or raw as
    some servers send it). Bytes after the end of a deflate stream, or a gzip or zlib stream cut
    short, make a corrupt body: never skipped, never waited on."""

    def __init__(self, encoding: str) -> None:
        self._kind = "zlib" if encoding == "deflate" else "gzip"
        self._inflater = zlib.decompressobj(_WBITS[self._kind])
        self._started = False

    def pieces(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self._inflater.eof and data:
                if self._kind != "gzip":
                    raise UndecodableBody("corrupt compressed body: data after the end of the stream")
                self._inflater = zlib.decompressobj(_WBITS["gzip"])  # the next member
            try:
                out = self._inflater.decompress(data, STEP)
            except zlib.error as exc:
                if self._kind == "zlib" and not self._started:
                    # Not zlib-wrapped: start over as raw deflate.
                    self._kind = "raw"
                    self._inflater = zlib.decompressobj(_WBITS["raw"])
                    continue
                raise UndecodableBody(f"corrupt compressed body: {exc}") from None
            self._started = True
            # At the end of a stream the bytes after it are in unused_data; unconsumed_tail then
            # repeats them and never shrinks (looping on it spun the event loop for good).
            data = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
            if out:
                yield out
            if len(out) < STEP and not data:
                return

    def flush(self) -> bytes:
        try:
            tail = self._inflater.flush()
        except zlib.error as exc:
            raise UndecodableBody(f"corrupt compressed body: {exc}") from None
        # Raw deflate has no trailer: some servers end it without a final block.
        if self._started and not self._inflater.eof and self._kind != "raw":
            raise UndecodableBody("corrupt compressed body: it ends before the end of its stream")
        return tail


def _decoder_for(headers: httpx2.Headers) -> _Identity | _Zlib:
    encodings = [
        value.strip().lower()
        for value in headers.get_list("content-encoding", split_commas=True)
        if value.strip().lower() not in ("", "identity")
    ]
    if not encodings:
        return _Identity()
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _Zlib("deflate" if encodings[0] == "deflate" else "gzip")
    raise UndecodableBody(f"unsupported Content-Encoding {', '.join(encodings)!r}")


def _declared_length(headers: httpx2.Headers) -> int | None:
    try:
        return int(headers.get("content-length", ""))
    except ValueError:
        return None


async def read_capped(response: httpx2.Response, limit: int, *, keep_prefix: bool) -> tuple[bytes, bool]:
    """(body, complete): at most ``limit`` decoded bytes of a streamed ``response``.

    ``complete`` is False when the body is longer than ``limit``; reading stops there. With
    ``keep_prefix`` the first ``limit`` bytes are returned; without it, ``b""`` (and an uncompressed
    body whose Content-Length is over the limit is not read at all).
    Raises UndecodableBody; transport errors propagate as httpx2 raises them.
    """
    decoder = _decoder_for(response.headers)
    declared = _declared_length(response.headers)
    if not keep_prefix and isinstance(decoder, _Identity) and declared is not None and declared > limit:
        return b"", False
    # One growing buffer, handed over by getvalue() without a copy: a list of pieces joined at the
    # end would hold the whole body twice for a moment (the 100 000-row answer: 2.24x vs 1.38x).
    buffer = io.BytesIO()
    async for raw in response.aiter_raw():
        for piece in decoder.pieces(raw):
            if buffer.tell() + len(piece) > limit:
                buffer.write(piece[: limit - buffer.tell()])
                return (buffer.getvalue() if keep_prefix else b""), False
            buffer.write(piece)
            if len(piece) >= STEP:
                await anyio.lowlevel.checkpoint()  # a long inflation lets other calls run
    tail = decoder.flush()
    if buffer.tell() + len(tail) > limit:
        buffer.write(tail[: limit - buffer.tell()])
        return (buffer.getvalue() if keep_prefix else b""), False
    buffer.write(tail)
    return buffer.getvalue(), True
