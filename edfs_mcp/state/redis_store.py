"""State in Redis (``EDFS_MCP_REDIS_URL``), shared by every replica.

:class:`RedisStore` is the :class:`~edfs_mcp.state.stores.KeyValueStore` of several processes:
registered clients, pending sign-ins, codes, tokens, consents and each person's sealed Bentley
tokens live in Redis, so a token issued by one replica works on any other and a replica that dies
or is upgraded signs nobody out. Values are what the in-memory store keeps (sealed where they are
secret, with ``EDFS_MCP_STATE_KEY``): Redis never sees a Bentley token in the clear.

Each operation is one Redis command (``SET PX``, ``SET NX PX``, ``GET``, ``GETDEL``, ``DEL``,
``SMEMBERS``, ``ZREM``), one ``MULTI`` (``SADD`` + ``PEXPIRE``, ``SET NX PX`` + ``INCR``, ``ZADD`` +
``PEXPIRE``) or one script (the trim of an ordered set), so each is atomic across replicas.

:meth:`RedisStore.lock` is the refresh lock across replicas (a token-owned key, ``SET NX PX``,
released by a script only by its owner), so a person's Bentley refresh token, which Bentley
rotates, is spent once whichever replica needs it.

When Redis cannot be reached, every operation raises :class:`StateStoreUnavailable`, whose words
say so (without the URL's password), within a few seconds: connecting gets ``CONNECT_SECONDS``,
each command ``COMMAND_SECONDS`` (a Redis that accepts connections but does not answer, stopped or
overloaded, costs a call no more), and nothing is retried against a Redis that timed out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError

from edfs_mcp.state.stores import StateStoreUnavailable

__all__ = ["RedisStore", "StateStoreUnavailable", "pooled_client", "redis_location"]

PREFIX = "edfs-mcp:"
LOCK_SECONDS = 120.0  # longest a refresh may hold the lock (a refresh that dies frees it by then)
CONNECT_SECONDS = 2.0
COMMAND_SECONDS = 3.0  # a command's answer; a whole result (megabytes) is well within it on a LAN
POOL_WAIT_SECONDS = 5.0  # a command past MAX_CONNECTIONS waits this long for a free connection
MAX_CONNECTIONS = 64  # per client (each replica has one for its state, one for its results)

# Drop the members scored under ARGV[1], then the lowest beyond the ARGV[2] highest; those, lowest first.
_TRIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if excess <= 0 then return {} end
local dropped = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return dropped
"""


def pooled_client(url: str, **options: Any) -> redis.Redis:
    """A client of ``url`` whose connections are bounded (``MAX_CONNECTIONS``): a command past the bound
    waits for a free connection (up to ``POOL_WAIT_SECONDS``) instead of failing at once, so a burst of
    calls on one replica queues at its pool rather than erroring. A command that times out is not
    sent again (it would wait as long again)."""
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_connect_timeout=CONNECT_SECONDS,
        socket_timeout=COMMAND_SECONDS,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        **options,
    )
    return redis.Redis.from_pool(pool)


def redis_location(url: str) -> str:
    """``host:port`` (or the socket path) of a Redis URL, never its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 6379}"


class RedisStore:
    """:class:`~edfs_mcp.state.stores.KeyValueStore` in Redis; keys are prefixed with ``prefix``."""

    durable = True

    def __init__(self, client: redis.Redis, *, location: str, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix
        self.location = location

    @classmethod
    def from_url(cls, url: str, *, prefix: str = PREFIX) -> RedisStore:
        return cls(pooled_client(url, decode_responses=True), location=redis_location(url), prefix=prefix)

    def _key(self, key: str) -> str:
        return self._prefix + key

    @staticmethod
    def _ms(ttl: float | None) -> int | None:
        return None if ttl is None else max(1, int(ttl * 1000))

    @contextlib.contextmanager
    def _reaching(self) -> Any:
        try:
            yield
        except (RedisError, OSError) as exc:
            raise StateStoreUnavailable(self.location, type(exc).__name__) from None

    async def put(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._reaching():
            await self._redis.set(self._key(key), value, px=self._ms(ttl))

    async def put_new(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._reaching():
            return bool(await self._redis.set(self._key(key), value, px=self._ms(ttl), nx=True))

    async def get(self, key: str) -> str | None:
        with self._reaching():
            value = await self._redis.get(self._key(key))
        return value if isinstance(value, str) else None

    async def take(self, key: str) -> str | None:
        with self._reaching():
            value = await self._redis.getdel(self._key(key))
        return value if isinstance(value, str) else None

    async def delete(self, key: str) -> None:
        with self._reaching():
            await self._redis.delete(self._key(key))

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        full = self._key(key)
        with self._reaching():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.sadd(full, member)
                if ttl is None:
                    pipe.persist(full)
                else:
                    pipe.pexpire(full, self._ms(ttl) or 1)
                await pipe.execute()

    async def members(self, key: str) -> set[str]:
        with self._reaching():
            found = await self._redis.smembers(self._key(key))
        return {str(member) for member in found}

    async def count(self, key: str, ttl: float) -> int:
        full = self._key(key)
        with self._reaching():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(full, 0, px=self._ms(ttl), nx=True)
                pipe.incr(full)
                _, counted = await pipe.execute()
        return int(counted)

    async def rank(self, key: str, member: str, score: float, ttl: float | None = None) -> None:
        full = self._key(key)
        with self._reaching():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(full, {member: score})
                if ttl is None:
                    pipe.persist(full)
                else:
                    pipe.pexpire(full, self._ms(ttl) or 1)
                await pipe.execute()

    async def unrank(self, key: str, member: str) -> bool:
        with self._reaching():
            return bool(await self._redis.zrem(self._key(key), member))

    async def trim_ranked(self, key: str, *, below: float, keep: int) -> list[str]:
        with self._reaching():
            dropped = await self._redis.eval(_TRIM, 1, self._key(key), repr(below), keep)
        return [str(member) for member in dropped]

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, hold: float = LOCK_SECONDS) -> AsyncIterator[None]:
        """Held by one caller across all replicas at a time; waits up to ``hold`` seconds for it."""
        lock = self._redis.lock(self._key("lock:" + name), timeout=hold, blocking_timeout=hold, sleep=0.05)
        with self._reaching():
            acquired = await lock.acquire()
        if not acquired:
            raise StateStoreUnavailable(self.location, f"the lock {name!r} stayed held for {hold:g} s")
        try:
            yield
        finally:
            with contextlib.suppress(LockError, RedisError, OSError):
                await lock.release()  # expired or Redis gone: it frees itself when its time ends

    async def ping(self) -> bool:
        """Redis answers (readiness)."""
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()
