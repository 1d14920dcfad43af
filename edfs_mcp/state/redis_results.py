"""Cached results in Redis, so a result made on one replica pages (and answers SQL) on any other.

:class:`RedisResultStore` is :class:`~edfs_mcp.results.ResultStore` with its results in Redis:

- stored compactly: the Arrow columns as an IPC stream compressed with zstd, behind a small JSON
  header (its source, SQL types, row count, a digest of its owner), under ``result:<id>``;
- with the store's TTL (Redis expires them), and bounded in bytes *per person*: the owner's results
  are listed oldest first (``results-of:<owner digest>``, with their sizes), and a new one pushes out
  the oldest past ``max_bytes``;
- a result that is gone says why whichever replica is asked: ``gone:<id>`` remembers "expired"
  (set with the result, outliving it) or "evicted";
- readable only by its owner: another owner's result_id is "unknown".

It talks to Redis with redis-py's asyncio client, so a round trip never holds up the event loop (the
other calls this replica serves go on meanwhile): a put is two or three round trips (the owner's
results and sizes; which are still alive; one MULTI), a read one. Encoding and decoding (zstd over
Arrow) run in a worker thread past ``THREAD_BYTES``.

When Redis does not answer, a put or read raises :class:`~edfs_mcp.results.ResultCacheUnavailable`
(its location, never the URL's password), which the tools turn into words
(``edfs_mcp.messages._state``); the client reconnects by itself once Redis is back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import struct
import time
from collections.abc import Iterator
from typing import Any

import anyio
import redis.asyncio as redis
from redis.exceptions import RedisError

from edfs_mcp.results import ResultCacheUnavailable, ResultGone, ResultStore, StoredResult
from edfs_mcp.state.redis_store import pooled_client, redis_location
from edfs_mcp.tabular import Table

__all__ = ["RedisResultStore"]

PREFIX = "edfs-mcp:"
MAGIC = b"EDFSR1"
_HEADER = struct.Struct(">I")
# Results at least this large are encoded and decoded off the event loop.
THREAD_BYTES = 256 * 1024


def _owner_digest(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


def encode(table: Table, source: str, owner: str) -> bytes:
    """The result as bytes: magic, header length, JSON header, zstd-compressed Arrow IPC stream."""
    import pyarrow as pa

    header = json.dumps(
        {
            "source": source,
            "owner": _owner_digest(owner),
            "types": table.types,
            "row_count": table.row_count,
            "keep_nulls": table.keep_nulls,
            "nbytes": table.nbytes,
        }
    ).encode()
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.arrow.schema, options=options) as writer:
        writer.write_table(table.arrow)
    return MAGIC + _HEADER.pack(len(header)) + header + bytes(sink.getvalue().to_pybytes())


def decode(blob: bytes) -> tuple[dict[str, Any], Table]:
    import pyarrow as pa

    if not blob.startswith(MAGIC):
        raise ValueError("not a cached result")
    start = len(MAGIC) + _HEADER.size
    (length,) = _HEADER.unpack(blob[len(MAGIC) : start])
    header: dict[str, Any] = json.loads(blob[start : start + length])
    arrow = pa.ipc.open_stream(pa.py_buffer(blob[start + length :])).read_all()
    table = Table.from_arrow(
        arrow, header["types"], row_count=header["row_count"], keep_nulls=header["keep_nulls"]
    )
    return header, table


class RedisResultStore(ResultStore):
    """:class:`ResultStore` in Redis, shared by the replicas; ``max_bytes`` is per owner (person)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_seconds: float = 1800.0,
        max_bytes: int = 256 * 1024 * 1024,
        prefix: str = PREFIX,
        location: str = "?",
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, max_bytes=max_bytes)
        self._redis = client
        self._prefix = prefix
        self.location = location

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisResultStore:
        return cls(pooled_client(url), location=redis_location(url), **kwargs)

    def _ms(self, factor: float = 1.0) -> int:
        return max(1, int(self.ttl_seconds * factor * 1000))

    def _k(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    @property
    def bytes_held(self) -> int:
        return 0  # per person, in Redis

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        """One round trip; Redis not answering becomes ResultCacheUnavailable (no password in it)."""
        try:
            yield
        except (RedisError, OSError) as exc:
            raise ResultCacheUnavailable(self.location, _why(exc)) from None

    async def _make_room(self, owner: str, size_bytes: int) -> None:
        """Evict the owner's oldest results until ``size_bytes`` more fit in ``max_bytes``."""
        listed, sizes = self._k("results-of", owner), self._k("result-sizes", owner)
        with self._reaching():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrange(listed, 0, -1)
                pipe.hgetall(sizes)
                ids_raw, sizes_raw = await pipe.execute()
        ids = [i.decode() for i in ids_raw]
        held = {k.decode(): int(v) for k, v in sizes_raw.items()}
        if not ids:
            return
        with self._reaching():
            async with self._redis.pipeline(transaction=False) as alive_pipe:
                for result_id in ids:
                    alive_pipe.exists(self._k("result", result_id))
                alive = await alive_pipe.execute()
        live = [i for i, exists in zip(ids, alive, strict=True) if exists]
        dead = [i for i in ids if i not in live]
        total = sum(held.get(i, 0) for i in live)
        evicted: list[str] = []
        while live and total + size_bytes > self.max_bytes:
            oldest = live.pop(0)
            total -= held.get(oldest, 0)
            evicted.append(oldest)
        if not dead and not evicted:
            return
        with self._reaching():
            async with self._redis.pipeline(transaction=True) as tidy:
                for result_id in dead + evicted:
                    tidy.zrem(listed, result_id)
                    tidy.hdel(sizes, result_id)
                for result_id in evicted:
                    tidy.delete(self._k("result", result_id))
                    tidy.set(self._k("gone", result_id), "evicted", px=self._ms(2))
                await tidy.execute()

    async def put(self, table: Table, source: str, *, owner: str, size_bytes: int) -> StoredResult | None:
        if size_bytes > self.max_bytes:
            return None
        digest = _owner_digest(owner)
        await self._make_room(digest, size_bytes)
        result_id = "r_" + secrets.token_urlsafe(12)
        if size_bytes >= THREAD_BYTES:
            blob = await anyio.to_thread.run_sync(encode, table, source, owner)
        else:
            blob = encode(table, source, owner)
        listed, sizes = self._k("results-of", digest), self._k("result-sizes", digest)
        with self._reaching():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._k("result", result_id), blob, px=self._ms())
                pipe.set(self._k("gone", result_id), "expired", px=self._ms(2))  # what it will be once gone
                pipe.zadd(listed, {result_id: time.time()})
                pipe.hset(sizes, result_id, str(size_bytes))
                pipe.pexpire(listed, self._ms())
                pipe.pexpire(sizes, self._ms())
                await pipe.execute()
        return StoredResult(
            result_id=result_id,
            table=table,
            source=source,
            owner=owner,
            size_bytes=size_bytes,
            expires_at=time.monotonic() + self.ttl_seconds,
        )

    async def get(self, result_id: str, *, owner: str) -> StoredResult:
        with self._reaching():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._k("result", result_id))
                pipe.get(self._k("gone", result_id))
                blob, gone = await pipe.execute()
        if blob is None:
            raise ResultGone(result_id, gone.decode() if gone else "unknown")
        if len(blob) >= THREAD_BYTES:
            header, table = await anyio.to_thread.run_sync(decode, blob)
        else:
            header, table = decode(blob)
        if header["owner"] != _owner_digest(owner):
            raise ResultGone(result_id, "unknown")
        return StoredResult(
            result_id=result_id,
            table=table,
            source=header["source"],
            owner=owner,
            size_bytes=int(header["nbytes"]),
            expires_at=time.monotonic() + self.ttl_seconds,
        )

    def close(self) -> None:
        """The SQL engine stops; the connections to Redis close without waiting (the server's lifespan
        calls this from its end; ``aclose`` waits for them)."""
        super().close()
        pool: Any = self._redis.connection_pool
        for connection in [*pool._available_connections, *pool._in_use_connections]:
            connection._close()

    async def aclose(self) -> None:
        super().close()
        await self._redis.aclose()


def _why(exc: BaseException) -> str:
    """Why Redis did not answer, in a few words that quote no URL."""
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return "no answer in time"
    if "Connection" in type(exc).__name__ or isinstance(exc, OSError):
        return "the connection was refused or lost"
    return type(exc).__name__
