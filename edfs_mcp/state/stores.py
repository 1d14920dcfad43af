"""Where state is kept (the remote server's sign-ins, the set-up forms): one small key-value interface.

Everything the authorization server remembers (registered clients, pending sign-ins, codes, tokens,
consents, each person's sealed Bentley tokens) is a value under a key, with an optional time to
live. The interface is the handful of operations Redis has (``SET EX``, ``GET``, ``GETDEL``,
``SET NX``, ``DEL``, ``SADD``/``SMEMBERS``, ``INCR``, a sorted set), so a shared store for several
processes can replace :class:`MemoryStore` without touching the rest.

:class:`MemoryStore` is the embedded default: one process, nothing else to run, and everything is
lost when the process stops (people sign in again). It is bounded: at ``max_entries`` the entries
closest to expiry go first, so a flood of registrations cannot exhaust memory.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from edfs_mcp.errors import EdfsMcpError

__all__ = ["Clock", "KeyValueStore", "MemoryStore", "SharedLocks", "StateStoreUnavailable"]

Clock = Callable[[], float]
Value = str | set[str] | dict[str, float]  # a string, a set, an ordered set (member: score)


class StateStoreUnavailable(EdfsMcpError):
    """Redis, where the replicas keep their shared state, did not answer."""

    def __init__(self, location: str, detail: str) -> None:
        super().__init__(
            f"the shared state store (Redis at {location}, EDFS_MCP_REDIS_URL) cannot be reached: {detail}"
        )
        self.location = location
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.location, self.detail))


class KeyValueStore(Protocol):
    """The operations the remote server needs; each is atomic on its own."""

    async def put(self, key: str, value: str, ttl: float | None = None) -> None:
        """Set ``key``; it disappears after ``ttl`` seconds (never when None)."""

    async def put_new(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Set ``key`` only if absent; True when set."""

    async def get(self, key: str) -> str | None: ...

    async def take(self, key: str) -> str | None:
        """Get and delete at once: of two callers, one gets the value and the other None."""

    async def delete(self, key: str) -> None: ...

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        """Add ``member`` to the set at ``key`` (its life is extended to ``ttl``)."""

    async def members(self, key: str) -> set[str]: ...

    async def count(self, key: str, ttl: float) -> int:
        """Add one to the counter at ``key`` and return it; a new counter lives ``ttl`` seconds
        (counting again does not extend it: a fixed window)."""

    async def rank(self, key: str, member: str, score: float, ttl: float | None = None) -> None:
        """Put ``member`` in the ordered set at ``key`` with ``score`` (the set lives ``ttl`` from now)."""

    async def unrank(self, key: str, member: str) -> bool:
        """Take ``member`` out of the ordered set at ``key``; True when it was there."""

    async def trim_ranked(self, key: str, *, below: float, keep: int) -> list[str]:
        """Drop the members scored under ``below``, then the lowest beyond the ``keep`` highest; the
        members dropped for the count (not those under ``below``), lowest first."""


@runtime_checkable
class SharedLocks(Protocol):
    """A store shared by several processes also locks across them (one refresh among all replicas)."""

    def lock(self, name: str, *, hold: float = ...) -> AbstractAsyncContextManager[None]: ...


class MemoryStore:
    """:class:`KeyValueStore` in this process's memory. ``clock`` decides expiry (tests move it)."""

    durable = False

    def __init__(self, *, clock: Clock = time.time, max_entries: int = 200_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._values: dict[str, tuple[Value, float]] = {}

    def _live(self, key: str) -> Value | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _set(self, key: str, value: Value, ttl: float | None) -> None:
        expires = float("inf") if ttl is None else self._clock() + ttl
        self._values[key] = (value, expires)
        if len(self._values) > self._max:
            self._make_room()

    def _make_room(self) -> None:
        now = self._clock()
        for key in [k for k, (_, expires) in self._values.items() if expires <= now]:
            del self._values[key]
        excess = len(self._values) - self._max
        if excess > 0:
            for key, _ in heapq.nsmallest(excess, self._values.items(), key=lambda item: item[1][1]):
                del self._values[key]

    async def put(self, key: str, value: str, ttl: float | None = None) -> None:
        self._set(key, value, ttl)

    async def put_new(self, key: str, value: str, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._set(key, value, ttl)
        return True

    async def get(self, key: str) -> str | None:
        value = self._live(key)
        return value if isinstance(value, str) else None

    async def take(self, key: str) -> str | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value if isinstance(value, str) else None

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        current = self._live(key)
        members = set(current) if isinstance(current, set) else set()
        members.add(member)
        self._set(key, members, ttl)

    async def members(self, key: str) -> set[str]:
        value = self._live(key)
        return set(value) if isinstance(value, set) else set()

    async def count(self, key: str, ttl: float) -> int:
        current = self._live(key)
        if not isinstance(current, str):
            self._set(key, "1", ttl)
            return 1
        counted = int(current) + 1
        self._values[key] = (str(counted), self._values[key][1])
        return counted

    def _ranked(self, key: str) -> dict[str, float]:
        current = self._live(key)
        return current if isinstance(current, dict) else {}

    async def rank(self, key: str, member: str, score: float, ttl: float | None = None) -> None:
        ranked = self._ranked(key)
        ranked[member] = score
        self._set(key, ranked, ttl)

    async def unrank(self, key: str, member: str) -> bool:
        return self._ranked(key).pop(member, None) is not None

    async def trim_ranked(self, key: str, *, below: float, keep: int) -> list[str]:
        ranked = self._ranked(key)
        for member in [m for m, score in ranked.items() if score < below]:
            del ranked[member]
        excess = len(ranked) - keep
        if excess <= 0:
            return []
        dropped = [m for m, _ in heapq.nsmallest(excess, ranked.items(), key=lambda item: item[1])]
        for member in dropped:
            del ranked[member]
        return dropped
