"""Messages between the server and its SQL process: a JSON header, then an Arrow IPC stream when
the header says one follows (``"arrow": true``). The Arrow stream ends itself (end-of-stream
marker), so a table is written straight to the pipe, never copied into one buffer first."""

from __future__ import annotations

import json
import struct
from typing import IO, Any

__all__ = ["MAX_HEADER_BYTES", "read_arrow", "read_header", "write_arrow", "write_header"]

# A header carries a query (at most 8 000 characters) or an error message: far below this.
MAX_HEADER_BYTES = 1 << 20
_LENGTH = struct.Struct(">I")


def write_header(stream: IO[bytes], header: dict[str, Any]) -> None:
    data = json.dumps(header, ensure_ascii=False).encode()
    stream.write(_LENGTH.pack(len(data)) + data)


def read_header(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next header; None when the other side has closed the pipe."""
    prefix = _read_exactly(stream, _LENGTH.size)
    if prefix is None:
        return None
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER_BYTES:
        raise ValueError(f"header of {length} bytes")
    data = _read_exactly(stream, length)
    if data is None:
        return None
    header: dict[str, Any] = json.loads(data)
    return header


def _read_exactly(stream: IO[bytes], count: int) -> bytes | None:
    parts: list[bytes] = []
    while count:
        part = stream.read(count)
        if not part:
            return None
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def write_arrow(stream: IO[bytes], table: Any) -> None:
    import pyarrow as pa

    with pa.ipc.new_stream(stream, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)


def read_arrow(stream: IO[bytes]) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(stream).read_all()
