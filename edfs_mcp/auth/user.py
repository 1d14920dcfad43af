"""A person's tokens: cached, refreshed early, one refresh at a time across processes.

``UserTokenSource`` is a ``RenewingTokenSource``: it hands out the cached access token and renews
it before it expires, or as soon as the API refuses it (401: revoked while the refresh token is
still good). One renewal is in flight per process; across processes the store's lock and a re-read
make sure a rotated refresh token is never presented twice, and the new one is on disk before
anything can lose it (see ``edfs_mcp.auth.refresh``: for a store on disk the exchange runs in a
refresher process that outlives us).

When there is nothing to refresh it raises ``SignInRequired``, after starting an in-session device
sign-in (``DeviceSignIn``) when one is allowed. No task polls for it in the background: the calls
that need a token advance it, each making one token poll when one is due, so the first call after
the person approved in the browser gets the token (and saves it). A call that waits for the
approval in the chat (``edfs_mcp.tools._sign_in``) retries, and so polls, in its own scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread
import httpx2

from edfs_mcp.auth.device_flow import DeviceSignIn
from edfs_mcp.auth.discovery import Endpoints
from edfs_mcp.auth.oauth import oauth_client
from edfs_mcp.auth.refresh import (
    RefreshJob,
    RefreshOutcome,
    refresh_in_own_process,
    refresh_stored,
    store_spec,
    stored_from_response,
    token_digest,
    usable,
)
from edfs_mcp.auth.renewing import REFRESH_LEEWAY_SECONDS, Clock, Renewal, RenewingTokenSource
from edfs_mcp.auth.store import StoredTokens, TokenStore, UnsafeTokenStore
from edfs_mcp.errors import AuthError, SignInPrompt, SignInRequired

__all__ = ["UserTokenSource", "stored_from_response"]

logger = logging.getLogger("edfs_mcp.auth")

REJECTED_KEPT = 16  # digests of refused access tokens remembered (they are never handed out again)


class UserTokenSource(RenewingTokenSource):
    """Tokens of a signed-in person (device code or browser + PKCE), kept in a TokenStore."""

    def __init__(
        self,
        *,
        client_id: str,
        scope: str,
        key: str,
        store: TokenStore,
        endpoints: Callable[[], Awaitable[Endpoints]],
        transport: httpx2.AsyncBaseTransport | None = None,
        sign_in_in_session: bool = True,
        refresh_in_own_process: bool = True,
        now: Clock = time.time,
    ) -> None:
        """``transport``: for discovery and the device flow (the refresh always goes to the network).
        ``refresh_in_own_process``: for a store on disk, run each refresh in a refresher process
        that outlives us (see ``edfs_mcp.auth.refresh``); False refreshes in a worker thread.
        ``now``: the clock expiry and the sign-in's pace are read on."""
        super().__init__(now=now)
        self._client_id = client_id
        self._scope = scope
        self._key = key
        self._store = store
        self._endpoints = endpoints
        self._transport = transport
        self._sign_in_in_session = sign_in_in_session
        self._own_process = refresh_in_own_process
        self._oauth = oauth_client(client_id, scope=scope, transport=transport)
        self._tokens: StoredTokens | None = None  # what the cached token came with (the name)
        self._rejected: dict[str, None] = {}  # digests of access tokens the API refused (ordered)
        self.pending: DeviceSignIn | None = None  # the in-session sign-in waiting for approval

    def _usable(self, tokens: StoredTokens, *, leeway: float = REFRESH_LEEWAY_SECONDS) -> bool:
        """Good for at least ``leeway`` more seconds, and not refused by the API."""
        return usable(tokens, tuple(self._rejected), leeway=leeway, now=self._now())

    def _use(self, tokens: StoredTokens) -> Renewal:
        self._tokens = tokens
        self.pending = None  # signed in, whoever did it: a sign-in still waiting is not needed
        return Renewal(tokens.access_token, tokens.expires_at)

    async def _renew(self) -> Renewal:
        """Another process may have refreshed or signed in meanwhile: the store first."""
        stored = await anyio.to_thread.run_sync(self._store.load, self._key)
        if stored is not None and self._usable(stored):
            return self._use(stored)
        if stored is None or not stored.refresh_token:
            self._tokens = None
            return await self._sign_in(self._store.problem)
        return await self._refresh()

    async def _refresh(self) -> Renewal:
        endpoints = await self._endpoints()
        job = RefreshJob(
            key=self._key,
            token_endpoint=endpoints.token,
            client_id=self._client_id,
            scope=self._scope,
            stale=tuple(self._rejected),
        )
        outcome: RefreshOutcome | None = None
        spec = store_spec(self._store) if self._own_process else None
        if spec is not None:
            try:
                # Abandoned, not killed, if we are cancelled: it saves the answer either way.
                outcome = await anyio.to_thread.run_sync(
                    refresh_in_own_process, spec, job, abandon_on_cancel=True
                )
            except OSError as exc:
                logger.info("no refresher process (%s); refreshing in this one", type(exc).__name__)
            else:
                if outcome is None:
                    logger.info("the refresher process gave no answer; refreshing in this one")
        if outcome is None:
            outcome = await anyio.to_thread.run_sync(self._refresh_here, job)
        if outcome.kind in ("current", "refreshed"):
            latest = await anyio.to_thread.run_sync(self._store.load, self._key)
            if latest is not None and usable(latest, job.stale, now=self._now()):
                return self._use(latest)
            raise AuthError("Refreshing the sign-in failed (no usable token was saved).")
        self._tokens = None
        if outcome.kind == "revoked":
            return await self._sign_in("your sign-in expired or was revoked")
        if outcome.kind == "signed_out":
            return await self._sign_in(outcome.detail)
        if outcome.kind == "unreachable":
            raise AuthError(f"Could not reach the token endpoint {endpoints.token} ({outcome.detail}).")
        raise AuthError(f"Refreshing the sign-in failed ({outcome.detail}).")

    def _refresh_here(self, job: RefreshJob) -> RefreshOutcome:
        with httpx2.Client(timeout=job.timeout) as http:
            return refresh_stored(self._store, job, http)

    async def _refused(self, token: str) -> bool:
        """Never hand ``token`` out again, even from the store: the next call refreshes."""
        self._rejected[token_digest(token)] = None
        while len(self._rejected) > REJECTED_KEPT:
            del self._rejected[next(iter(self._rejected))]
        return True

    async def aclose(self) -> None:
        self.pending = None  # nothing runs for it: it is only forgotten
        await self._oauth.aclose()

    # -- in-session sign-in -------------------------------------------------------------------

    async def _sign_in(self, why: str | None) -> Renewal:
        """Nothing to refresh: the token of the in-session sign-in once the person approved it;
        until then SignInRequired, carrying the codes of the sign-in (started here if none is)."""
        reason = f" ({why})" if why else ""
        if not self._sign_in_in_session:
            raise SignInRequired(f"Not signed in to Bentley{reason}. Run `edfs-mcp login` in a terminal.")
        try:
            await anyio.to_thread.run_sync(self._store.check)
        except UnsafeTokenStore as exc:  # a sign-in could not be kept: do not ask for one
            raise SignInRequired(f"Not signed in to Bentley: {exc}") from None
        pending = await self._advance_sign_in()
        if isinstance(pending, Renewal):
            return pending
        if pending is None:
            try:
                pending = self.pending = await self._start_sign_in()
            except AuthError as exc:
                raise SignInRequired(
                    f"Not signed in to Bentley{reason}, and a sign-in could not be started here: {exc} "
                    "Run `edfs-mcp login` in a terminal."
                ) from None
        auth = pending.authorization
        prompt = SignInPrompt(
            auth.verification_uri, auth.user_code, auth.verification_uri_complete, auth.expires_at
        )
        raise SignInRequired(f"Not signed in to Bentley{reason}.", prompt)

    async def _advance_sign_in(self) -> DeviceSignIn | Renewal | None:
        """Poll the pending sign-in if a poll is due: its token (saved) once approved, the sign-in
        while it waits, None when there is none (any more: denied, expired, failed)."""
        pending = self.pending
        if pending is None:
            return None
        if pending.expired:
            self.pending = None
            return None
        if not pending.due:
            return pending  # one sign-in at a time per process, polled at its pace
        try:
            response = await pending.poll()
        except AuthError as exc:
            self.pending = None
            logger.info("in-session sign-in ended without a token: %s", exc)
            return None
        if response is None:
            return pending
        self.pending = None
        tokens = stored_from_response(response, "device", now=self._now())
        try:
            await anyio.to_thread.run_sync(self._store.save, self._key, tokens)
        except (UnsafeTokenStore, OSError) as exc:
            logger.warning("in-session sign-in could not be saved (%s)", type(exc).__name__)
            raise SignInRequired(
                f"Not signed in to Bentley: the sign-in could not be saved ({exc})."
            ) from None
        logger.info("in-session sign-in complete")
        return self._use(tokens)

    async def _start_sign_in(self) -> DeviceSignIn:
        endpoints = await self._endpoints()
        if endpoints.device_authorization is None:
            raise AuthError(
                "the authority offers no device sign-in (set EDFS_MCP_DEVICE_AUTHORIZATION_ENDPOINT)"
            )
        return await DeviceSignIn.start(
            self._oauth,
            device_endpoint=endpoints.device_authorization,
            token_endpoint=endpoints.token,
            client_id=self._client_id,
            scope=self._scope,
            transport=self._transport,
            now=self._now,
        )
