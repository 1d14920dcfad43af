"""edfs-mcp serve, with one change for a diagnostic figure: the answer body is read into one growing
buffer instead of a list of pieces joined at the end.

``edfs_mcp.api._body.read_capped`` keeps every piece, then ``b"".join``s them: for the moment of
the join the body is held twice. This script replaces it, in this process only, with the same
reading into an ``io.BytesIO`` whose ``getvalue()`` hands its buffer over without a copy, to
measure what that change would save. Everything else is the real server.
"""

from __future__ import annotations

import io
import sys

import anyio.lowlevel
import httpx2

from edfs_mcp.api import _body, _http
from edfs_mcp.cli import main


async def read_into_one_buffer(
    response: httpx2.Response, limit: int, *, keep_prefix: bool
) -> tuple[bytes, bool]:
    decoder = _body._decoder_for(response.headers)
    declared = _body._declared_length(response.headers)
    if not keep_prefix and isinstance(decoder, _body._Identity) and declared is not None and declared > limit:
        return b"", False
    buffer = io.BytesIO()
    async for raw in response.aiter_raw():
        for piece in decoder.pieces(raw):
            if buffer.tell() + len(piece) > limit:
                buffer.write(piece[: limit - buffer.tell()])
                return (buffer.getvalue() if keep_prefix else b""), False
            buffer.write(piece)
            if len(piece) >= _body.STEP:
                await anyio.lowlevel.checkpoint()
    tail = decoder.flush()
    if buffer.tell() + len(tail) > limit:
        buffer.write(tail[: limit - buffer.tell()])
        return (buffer.getvalue() if keep_prefix else b""), False
    buffer.write(tail)
    return buffer.getvalue(), True


if __name__ == "__main__":
    _http.read_capped = read_into_one_buffer  # type: ignore[assignment]
    sys.exit(main(["serve", *sys.argv[1:]]))
