"""Each person's Bentley tokens, sealed at rest, and the token source that runs a call as them.

A person is Bentley's subject (``sub``). Their record is sealed with AES-GCM under
``EDFS_MCP_STATE_KEY``, bound to the subject (a record copied to another key does not open). It is
refreshed one at a time: concurrent calls for the same person wait for the one refresh and use its
result, since Bentley rotates refresh tokens and a second refresh with the old one would fail. With a
store shared by several replicas (Redis), the store's own lock makes that one refresh across all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio

from edfs_mcp.auth.renewing import Renewal, RenewingTokenSource
from edfs_mcp.errors import AuthError
from edfs_mcp.remote.crypto import Sealer
from edfs_mcp.remote.upstream import BentleyTokens, BentleyWebApp
from edfs_mcp.state.stores import Clock, KeyValueStore, SharedLocks

if TYPE_CHECKING:
    from edfs_mcp.api import EdfsClient

__all__ = ["PeopleClients", "PersonTokenSource", "PersonVault"]

SIGN_IN_LIFETIME_SECONDS = 90 * 24 * 3600.0  # a record unused this long is forgotten


class PersonVault:
    """Sealed Bentley tokens per subject, behind the key-value store."""

    def __init__(self, store: KeyValueStore, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer
        self._locks: weakref.WeakValueDictionary[str, anyio.Lock] = weakref.WeakValueDictionary()

    @staticmethod
    def _key(subject: str) -> str:
        return f"person:{subject}"

    def _local_lock(self, subject: str) -> anyio.Lock:
        lock = self._locks.get(subject)
        if lock is None:
            lock = anyio.Lock()
            self._locks[subject] = lock
        return lock

    @contextlib.asynccontextmanager
    async def lock(self, subject: str) -> AsyncIterator[None]:
        """Held while ``subject``'s tokens are refreshed: one refresh at a time in this process and,
        with a shared store, across every replica."""
        async with self._local_lock(subject):
            if isinstance(self._store, SharedLocks):
                async with self._store.lock(self._key(subject)):
                    yield
            else:
                yield

    async def load(self, subject: str) -> BentleyTokens | None:
        sealed = await self._store.get(self._key(subject))
        if sealed is None:
            return None
        raw = self._sealer.open(sealed, self._key(subject))
        tokens = BentleyTokens.from_json(raw) if raw is not None else None
        return tokens if tokens is not None and tokens.subject == subject else None

    async def save(self, tokens: BentleyTokens) -> None:
        key = self._key(tokens.subject)
        await self._store.put(key, self._sealer.seal(tokens.to_json(), key), SIGN_IN_LIFETIME_SECONDS)

    async def forget(self, subject: str) -> None:
        await self._store.delete(self._key(subject))


class PersonTokenSource(RenewingTokenSource):
    """A ``TokenSource`` for one person: their Bentley access token, renewed by the one renewing base.

    ``RenewingTokenSource`` holds the token in memory, renews it the leeway before expiry and lets one
    renewal run at a time in this process; ``_renew`` takes the person's vault lock (every replica,
    with a shared store) and reads the record first, since another replica may have refreshed.
    """

    def __init__(
        self, subject: str, vault: PersonVault, app: BentleyWebApp, clock: Clock = time.time
    ) -> None:
        super().__init__(now=clock)
        self.subject = subject
        self._vault = vault
        self._app = app

    async def _renew(self) -> Renewal:
        from edfs_mcp.messages import remote_sign_in_gone

        async with self._vault.lock(self.subject):
            tokens = await self._vault.load(self.subject)
            if tokens is not None and self._lasts(tokens.expires_at):
                return Renewal(tokens.access_token, tokens.expires_at)  # refreshed meanwhile
            if tokens is None or not tokens.refresh_token:
                raise AuthError(remote_sign_in_gone())
            try:
                renewed = await self._app.refresh(tokens)
            except AuthError:
                # The MCP token stops working with the record: the client signs in again.
                await self._vault.forget(self.subject)
                raise AuthError(remote_sign_in_gone()) from None
            await self._vault.save(renewed)
            return Renewal(renewed.access_token, renewed.expires_at)

    async def _refused(self, token: str) -> bool:
        """Under the base's lock: the record is marked expired, so every replica refreshes; a retry
        may get another token while the record holds a refresh token."""
        async with self._vault.lock(self.subject):
            tokens = await self._vault.load(self.subject)
            if tokens is None:
                return False
            if tokens.access_token == token:
                await self._vault.save(replace(tokens, expires_at=0.0))
            return tokens.refresh_token is not None


class PeopleClients:
    """One API client per person, made on first use; past ``limit``, the least recently used is closed.

    ``get`` is synchronous (the tools ask for a client as they start), so an evicted client is closed
    by a task: one this object owns, awaited by ``aclose`` (none outlives it).
    """

    def __init__(self, make: Callable[[str], EdfsClient], *, limit: int = 256) -> None:
        self._make = make
        self._limit = limit
        self._clients: OrderedDict[str, EdfsClient] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, subject: str) -> EdfsClient:
        client = self._clients.get(subject)
        if client is None:
            client = self._make(subject)
            self._clients[subject] = client
            while len(self._clients) > self._limit:
                _, old = self._clients.popitem(last=False)
                task = asyncio.get_running_loop().create_task(old.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._clients.move_to_end(subject)
        return client

    async def aclose(self) -> None:
        """Close every client, and wait for the evicted ones still closing."""
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.aclose()
        closing, self._closing = list(self._closing), set()
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
