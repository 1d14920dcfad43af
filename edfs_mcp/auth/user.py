"""A person's tokens: cached, refreshed early, one refresh at a time across processes.

``UserTokenSource`` hands out the cached access token and refreshes it before it expires, or as
soon as the API refuses it (401: revoked while the refresh token is still good). One refresh is in
flight per process; across processes the store's lock and a re-read make sure a rotated refresh
token is never presented twice, and the new one is on disk before anything can lose it (see
``edfs_mcp.auth.refresh``: for a store on disk the exchange runs in a refresher process that
outlives us). When there is nothing to refresh it raises ``SignInRequired`` — after starting an
in-session device sign-in when one is allowed, so the next call can succeed once the person has
approved it in the browser.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client

from edfs_mcp.auth.device_flow import DeviceAuthorization, poll_for_token, start_device_authorization
from edfs_mcp.auth.discovery import Endpoints
from edfs_mcp.auth.refresh import (
    REFRESH_LEEWAY_SECONDS,
    RefreshJob,
    RefreshOutcome,
    refresh_in_own_process,
    refresh_stored,
    store_spec,
    stored_from_response,
    token_digest,
    usable,
)
from edfs_mcp.auth.store import StoredTokens, TokenStore, UnsafeTokenStore
from edfs_mcp.errors import AuthError, SignInPrompt, SignInRequired

__all__ = ["PendingSignIn", "UserTokenSource", "public_oauth_client", "stored_from_response"]

logger = logging.getLogger("edfs_mcp.auth")

REJECTED_KEPT = 16  # digests of refused access tokens remembered (they are never handed out again)


def public_oauth_client(
    client_id: str, scope: str, transport: httpx2.AsyncBaseTransport | None = None, timeout: float = 30.0
) -> Any:
    """authlib's async client for a public (secret-less) app, PKCE S256."""
    kwargs: dict[str, Any] = {"timeout": timeout}
    if transport is not None:
        kwargs["transport"] = transport
    return AsyncOAuth2Client(
        client_id=client_id,
        scope=scope,
        token_endpoint_auth_method="none",  # noqa: S106 - a method name, not a secret
        code_challenge_method="S256",
        **kwargs,
    )


class PendingSignIn:
    """A device sign-in started from inside a tool call, polled in the background."""

    def __init__(self, authorization: DeviceAuthorization, task: asyncio.Task[None]) -> None:
        self.authorization = authorization
        self.task = task
        self.error: AuthError | None = None

    @property
    def active(self) -> bool:
        return not self.task.done() and time.time() < self.authorization.expires_at


class UserTokenSource:
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
    ) -> None:
        """``transport``: for discovery and the device flow (the refresh always goes to the network).
        ``refresh_in_own_process``: for a store on disk, run each refresh in a refresher process
        that outlives us (see ``edfs_mcp.auth.refresh``); False refreshes in a worker thread."""
        self._client_id = client_id
        self._scope = scope
        self._key = key
        self._store = store
        self._endpoints = endpoints
        self._transport = transport
        self._sign_in_in_session = sign_in_in_session
        self._own_process = refresh_in_own_process
        self._oauth = public_oauth_client(client_id, scope, transport)
        self._tokens: StoredTokens | None = None
        self._rejected: dict[str, None] = {}  # digests of access tokens the API refused (ordered)
        self._lock = anyio.Lock()
        self.pending: PendingSignIn | None = None
        self.refreshes = 0  # refresh attempts made by this source (whoever then did the exchange)

    @property
    def description(self) -> str:
        who = f" as {self._tokens.name}" if self._tokens and self._tokens.name else ""
        return f"user sign-in{who} (client id {self._client_id}); tokens in {self._store.location}"

    def _fresh(self, tokens: StoredTokens | None) -> bool:
        """Good for at least the leeway, and not refused by the API."""
        return tokens is not None and usable(tokens, tuple(self._rejected), leeway=REFRESH_LEEWAY_SECONDS)

    async def get_token(self) -> str:
        tokens = self._tokens
        if tokens is not None and self._fresh(tokens):
            return tokens.access_token
        async with self._lock:
            if self._tokens is not None and self._fresh(self._tokens):
                return self._tokens.access_token
            stored = await anyio.to_thread.run_sync(self._store.load, self._key)
            if stored is not None and self._fresh(stored):
                self._tokens = stored
                return stored.access_token
            if stored is None or not stored.refresh_token:
                self._tokens = None
                raise await self._sign_in_required(self._store.problem)
            return await self._refresh()

    async def _refresh(self) -> str:
        endpoints = await self._endpoints()
        job = RefreshJob(
            key=self._key,
            token_endpoint=endpoints.token,
            client_id=self._client_id,
            scope=self._scope,
            stale=tuple(self._rejected),
        )
        self.refreshes += 1
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
            if latest is not None and usable(latest, job.stale):
                self._tokens = latest
                return latest.access_token
            raise AuthError("Refreshing the sign-in failed (no usable token was saved).")
        self._tokens = None
        if outcome.kind == "revoked":
            raise await self._sign_in_required("your sign-in expired or was revoked")
        if outcome.kind == "signed_out":
            raise await self._sign_in_required(outcome.detail)
        if outcome.kind == "unreachable":
            raise AuthError(f"Could not reach the token endpoint {endpoints.token} ({outcome.detail}).")
        raise AuthError(f"Refreshing the sign-in failed ({outcome.detail}).")

    def _refresh_here(self, job: RefreshJob) -> RefreshOutcome:
        with httpx2.Client(timeout=job.timeout) as http:
            return refresh_stored(self._store, job, http)

    async def reject(self, token: str) -> bool:
        """The API refused ``token`` (401): never hand it out again; the next call refreshes.

        True: a retry gets a refreshed token, or a clear "sign in" when there is nothing to refresh.
        """
        async with self._lock:
            self._rejected[token_digest(token)] = None
            while len(self._rejected) > REJECTED_KEPT:
                del self._rejected[next(iter(self._rejected))]
            if self._tokens is not None and self._tokens.access_token == token:
                self._tokens = None
        return True

    async def aclose(self) -> None:
        if self.pending is not None and not self.pending.task.done():
            self.pending.task.cancel()
        await self._oauth.aclose()

    def adopt(self, tokens: StoredTokens) -> None:
        """Use tokens obtained by a sign-in (already saved to the store)."""
        self._tokens = tokens

    # -- in-session sign-in -------------------------------------------------------------------

    async def _sign_in_required(self, why: str | None) -> SignInRequired:
        reason = f" ({why})" if why else ""
        if not self._sign_in_in_session:
            return SignInRequired(f"Not signed in to Bentley{reason}. Run `edfs-mcp login` in a terminal.")
        try:
            await anyio.to_thread.run_sync(self._store.check)
        except UnsafeTokenStore as exc:  # a sign-in could not be kept: do not ask for one
            return SignInRequired(f"Not signed in to Bentley: {exc}")
        try:
            pending = await self._start_background_sign_in()
        except AuthError as exc:
            return SignInRequired(
                f"Not signed in to Bentley{reason}, and a sign-in could not be started here: {exc} "
                "Run `edfs-mcp login` in a terminal."
            )
        auth = pending.authorization
        prompt = SignInPrompt(
            auth.verification_uri, auth.user_code, auth.verification_uri_complete, auth.expires_at
        )
        return SignInRequired(f"Not signed in to Bentley{reason}.", prompt)

    async def _start_background_sign_in(self) -> PendingSignIn:
        if self.pending is not None and self.pending.active:
            return self.pending  # one sign-in at a time per process
        endpoints = await self._endpoints()
        if endpoints.device_authorization is None:
            raise AuthError(
                "the authority offers no device sign-in (set EDFS_MCP_DEVICE_AUTHORIZATION_ENDPOINT)"
            )
        async with httpx2.AsyncClient(transport=self._transport, timeout=30) as http:
            authorization = await start_device_authorization(
                http, endpoints.device_authorization, self._client_id, self._scope
            )
        task = asyncio.get_running_loop().create_task(self._finish_sign_in(authorization, endpoints))
        self.pending = PendingSignIn(authorization, task)
        return self.pending

    async def _finish_sign_in(self, authorization: DeviceAuthorization, endpoints: Endpoints) -> None:
        try:
            response = await poll_for_token(self._oauth, endpoints.token, authorization)
        except AuthError as exc:
            if self.pending is not None:
                self.pending.error = exc
            logger.info("in-session sign-in ended without a token: %s", exc)
            return
        tokens = stored_from_response(response, "device")
        try:
            await anyio.to_thread.run_sync(self._store.save, self._key, tokens)
        except (UnsafeTokenStore, OSError) as exc:
            if self.pending is not None:
                self.pending.error = AuthError(f"The sign-in could not be saved: {exc}")
            logger.warning("in-session sign-in could not be saved (%s)", type(exc).__name__)
            return
        self._tokens = tokens
        logger.info("in-session sign-in complete")
