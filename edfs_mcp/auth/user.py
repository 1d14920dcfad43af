"""A person's tokens: cached, refreshed early, one refresh at a time across processes.

``UserTokenSource`` hands out the cached access token, refreshes it before it expires
(one refresh in flight per process; a file lock plus a re-read across processes, so a
rotated refresh token is never lost), and when there is nothing to refresh raises
``SignInRequired`` — after starting an in-session device sign-in when one is allowed,
so the next call can succeed once the person has approved it in the browser.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

import anyio
import anyio.to_thread
import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from edfs_mcp.auth.device_flow import DeviceAuthorization, poll_for_token, start_device_authorization
from edfs_mcp.auth.discovery import Endpoints
from edfs_mcp.auth.store import StoredTokens, TokenStore
from edfs_mcp.errors import AuthError, SignInPrompt, SignInRequired

__all__ = ["PendingSignIn", "UserTokenSource", "public_oauth_client", "stored_from_response"]

logger = logging.getLogger("edfs_mcp.auth")

REFRESH_LEEWAY_SECONDS = 60.0


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


def stored_from_response(
    token: dict[str, Any], flow: str, previous: StoredTokens | None = None
) -> StoredTokens:
    expires_in = token.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
    return StoredTokens(
        access_token=str(token["access_token"]),
        expires_at=time.time() + lifetime,
        # Some servers do not rotate: keep the refresh token we had.
        refresh_token=token.get("refresh_token") or (previous.refresh_token if previous else None),
        scope=str(token.get("scope") or (previous.scope if previous else "")),
        flow=flow,
        subject=previous.subject if previous else None,
        name=previous.name if previous else None,
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
    ) -> None:
        self._client_id = client_id
        self._scope = scope
        self._key = key
        self._store = store
        self._endpoints = endpoints
        self._transport = transport
        self._sign_in_in_session = sign_in_in_session
        self._oauth = public_oauth_client(client_id, scope, transport)
        self._tokens: StoredTokens | None = None
        self._lock = anyio.Lock()
        self.pending: PendingSignIn | None = None
        self.refreshes = 0

    @property
    def description(self) -> str:
        who = f" as {self._tokens.name}" if self._tokens and self._tokens.name else ""
        return f"user sign-in{who} (client id {self._client_id}); tokens in {self._store.location}"

    def _fresh(self, tokens: StoredTokens | None) -> bool:
        return tokens is not None and time.time() < tokens.expires_at - REFRESH_LEEWAY_SECONDS

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
            current = stored or self._tokens
            if current is not None and current.refresh_token:
                return await self._refresh(current)
            raise await self._sign_in_required(self._store.problem)

    async def _refresh(self, current: StoredTokens) -> str:
        lock: AbstractContextManager[None] = self._store.locked(self._key)
        await anyio.to_thread.run_sync(lock.__enter__)
        try:
            # Another process may have refreshed (and rotated the refresh token) meanwhile.
            latest = await anyio.to_thread.run_sync(self._store.load, self._key)
            if latest is not None and self._fresh(latest):
                self._tokens = latest
                return latest.access_token
            base = latest if latest is not None and latest.refresh_token else current
            endpoints = await self._endpoints()
            self.refreshes += 1
            try:
                response = await self._oauth.refresh_token(endpoints.token, refresh_token=base.refresh_token)
            except OAuthError as exc:
                if exc.error in ("invalid_grant", "invalid_token", "unauthorized_client"):
                    await anyio.to_thread.run_sync(self._store.delete, self._key)
                    self._tokens = None
                    raise await self._sign_in_required("your sign-in expired or was revoked") from None
                raise AuthError(f"Refreshing the sign-in failed ({exc.error}).") from None
            except httpx2.HTTPError as exc:
                raise AuthError(
                    f"Could not reach the token endpoint {endpoints.token} ({type(exc).__name__})."
                ) from None
            tokens = stored_from_response(dict(response), base.flow, base)
            await anyio.to_thread.run_sync(self._store.save, self._key, tokens)
            self._tokens = tokens
            return tokens.access_token
        finally:
            await anyio.to_thread.run_sync(lock.__exit__, None, None, None)

    async def reject(self, token: str) -> bool:
        async with self._lock:
            if self._tokens is not None and self._tokens.access_token == token:
                # Expire it in memory; the refresh token may still be good.
                self._tokens = StoredTokens(**{**self._tokens.__dict__, "expires_at": 0.0})
                return self._tokens.refresh_token is not None
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
        await anyio.to_thread.run_sync(self._store.save, self._key, tokens)
        self._tokens = tokens
        logger.info("in-session sign-in complete")
