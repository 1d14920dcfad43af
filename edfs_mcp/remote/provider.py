"""The authorization server MCP clients talk to: the SDK's provider protocol over our stores.

The SDK's handlers do the HTTP (metadata, ``/authorize``, ``/token``, ``/register``, ``/revoke``),
checking PKCE (S256, required), the exact redirect URI, client authentication and expiry; this
provider decides what exists:

- Clients: registered (RFC 7591) and kept in the store, or described by a metadata document
  (``cimd``) when the ``client_id`` is a URL.
- ``authorize`` checks the resource (RFC 8707: only this server) and parks the request; the person
  is sent to the consent page, then to Bentley (``pages``).
- Codes are single use and short lived; a code presented twice revokes everything issued from it.
- Tokens are ours, opaque, stored by keyed hash, bound to this server (``resource``), the client
  and the person (``subject``). Refresh tokens rotate; an old one presented again revokes the
  whole family (RFC 9700 §4.14.2).

Long because the SDK's provider protocol is one class, a method per OAuth step (clients, authorize,
codes, tokens, refresh, revoke, identity assertions), and each step's replay rule needs the others'
records in the same sealed store.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from edfs_mcp.remote.cimd import CimdError, CimdFetcher, is_metadata_url
from edfs_mcp.remote.crypto import Sealer, new_secret
from edfs_mcp.remote.people import PersonVault
from edfs_mcp.remote.registrations import RegistrationLimits, RegistrationThrottled, registration_source
from edfs_mcp.state.stores import Clock, KeyValueStore

__all__ = [
    "EdfsAccessToken",
    "EdfsAuthorizationProvider",
    "EdfsCode",
    "EdfsRefreshToken",
    "Lifetimes",
    "RegistrationLimits",
    "registration_size_problem",
]

logger = logging.getLogger(__name__)

ACCESS_PREFIX = "edfs_at_"
REFRESH_PREFIX = "edfs_rt_"
CODE_PREFIX = "edfs_ac_"
SCOPE = "edfs"
UNUSED_CLIENTS = "unused-clients"  # registered clients no token was got with, by when they registered


@dataclass(frozen=True)
class Lifetimes:
    code: float = 120.0
    access: float = 3600.0
    refresh: float = 30 * 24 * 3600.0
    pending: float = 600.0  # from /authorize to the callback: consent and Bentley's sign-in page
    client: float = 90 * 24 * 3600.0  # a registered client is forgotten this long after its last tokens
    # ...and one nobody signed in with, this long after it registered: anyone may register, so
    # unused registrations must not pile up for months.
    unused_client: float = 24 * 3600.0
    cimd_cache: float = 3600.0
    consent: float = 90 * 24 * 3600.0


class EdfsCode(AuthorizationCode):
    family: str


class EdfsRefreshToken(RefreshToken):
    family: str


class EdfsAccessToken(AccessToken):
    family: str


class EdfsAuthorizationProvider:
    """``OAuthAuthorizationServerProvider`` for edfs-mcp. ``clock`` decides every expiry."""

    def __init__(
        self,
        *,
        issuer: str,
        resource: str,
        store: KeyValueStore,
        sealer: Sealer,
        vault: PersonVault,
        cimd: CimdFetcher,
        clock: Clock = time.time,
        lifetimes: Lifetimes | None = None,
        registrations: RegistrationLimits | None = None,
    ) -> None:
        self.issuer = issuer
        self.resource = resource
        self.consent_url = f"{issuer}/consent"
        self._store = store
        self._sealer = sealer
        self._vault = vault
        self._cimd = cimd
        self._clock = clock
        self.lifetimes = lifetimes or Lifetimes()
        self.registrations = registrations or RegistrationLimits()

    # --- helpers ----------------------------------------------------------------------------------

    def _wall(self, expires_at: float) -> float:
        """The SDK compares expiry with the wall clock: express ours as the same time left."""
        return time.time() + (expires_at - self._clock())

    # Every record that says who a token, code or client belongs to (or where a code may go) is
    # sealed under the state key, bound to its own key: whoever can write to the store (Redis)
    # cannot make one person another, move a record to another key, or add a redirect URI.

    async def _sealed_text(self, key: str, take: bool = False) -> str | None:
        raw = await (self._store.take(key) if take else self._store.get(key))
        if raw is None:
            return None
        opened = self._sealer.open(raw, key)
        if opened is None:
            logger.warning(
                "refused a stored %s record this server did not seal (tampered?)", key.split(":")[0]
            )
            return None
        return opened.decode()

    async def _sealed(self, key: str, take: bool = False) -> dict[str, Any] | None:
        opened = await self._sealed_text(key, take)
        return json.loads(opened) if opened is not None else None

    async def _put_sealed_text(self, key: str, value: str, ttl: float) -> None:
        await self._store.put(key, self._sealer.seal(value.encode(), key), ttl)

    async def _put_sealed(self, key: str, value: dict[str, Any], ttl: float) -> None:
        await self._put_sealed_text(key, json.dumps(value), ttl)

    # --- clients ----------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_metadata_url(client_id):
            return await self._metadata_client(client_id)
        record = await self._sealed_text(f"client:{client_id}")
        return OAuthClientInformationFull.model_validate_json(record) if record else None

    async def _metadata_client(self, url: str) -> OAuthClientInformationFull | None:
        key = f"cimd:{self._sealer.lookup(url)}"
        cached = await self._sealed_text(key)
        if cached:
            return OAuthClientInformationFull.model_validate_json(cached)
        try:
            client = await self._cimd.fetch(url)
        except CimdError as exc:
            logger.warning("client metadata document refused: %s", exc)
            return None
        await self._put_sealed_text(key, client.model_dump_json(), self.lifetimes.cimd_cache)
        return client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        too_big = registration_size_problem(client_info)
        if too_big:
            raise RegistrationError("invalid_client_metadata", too_big)
        for uri in client_info.redirect_uris or []:
            problem = _redirect_problem(str(uri))
            if problem:
                raise RegistrationError("invalid_redirect_uri", f"{uri}: {problem}")
        await self._admit_registration()
        client_info.scope = SCOPE
        await self._put_sealed_text(
            f"client:{client_info.client_id}", client_info.model_dump_json(), self.lifetimes.unused_client
        )
        await self._make_room(client_info.client_id)

    async def _admit_registration(self) -> None:
        """Counts this registration against its source's window (``registrations``); raises
        :class:`RegistrationThrottled` past the limit. Not over HTTP (no source): not counted."""
        source = registration_source.get()
        if source is None:
            return
        limits, now = self.registrations, self._clock()
        window = math.floor(now / limits.window)
        counted = await self._store.count(
            f"registrations:{self._sealer.lookup(source)}:{window}", limits.window
        )
        if counted > limits.per_source:
            if counted == limits.per_source + 1:
                logger.warning(
                    "client registrations from one address passed %d in %g s: refused until the window ends",
                    limits.per_source,
                    limits.window,
                )
            raise RegistrationThrottled(limits.per_source, limits.window, (window + 1) * limits.window - now)

    async def _make_room(self, client_id: str) -> None:
        """``client_id`` joins the unused registrations; past ``registrations.unused`` of them, the
        oldest are forgotten (a client that got tokens has left the list, and is kept)."""
        now = self._clock()
        await self._store.rank(UNUSED_CLIENTS, client_id, now, self.lifetimes.unused_client)
        dropped = await self._store.trim_ranked(
            UNUSED_CLIENTS, below=now - self.lifetimes.unused_client, keep=self.registrations.unused
        )
        for old in dropped:
            await self._store.delete(f"client:{old}")
        if dropped:
            logger.info(
                "forgot %d unused client registration(s) to keep at most %d",
                len(dropped),
                self.registrations.unused,
            )

    async def _keep_client(self, client_id: str) -> None:
        """A client that got tokens is kept ``lifetimes.client`` from now and leaves the unused ones
        (metadata-document clients are fetched again, not kept)."""
        key = f"client:{client_id}"
        record = await self._sealed_text(key)
        if record is not None:
            await self._put_sealed_text(key, record, self.lifetimes.client)
            await self._store.unrank(UNUSED_CLIENTS, client_id)

    # --- authorization ----------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not _same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"this server issues tokens only for {self.resource}")
        request_id = new_secret("")
        pending = {
            "client_id": client.client_id,
            "redirect_uri": str(params.redirect_uri),
            "explicit": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": params.scopes or [SCOPE],
        }
        await self._put_sealed(f"pending:{request_id}", pending, self.lifetimes.pending)
        return f"{self.consent_url}?request={request_id}"

    async def pending(self, request_id: str, *, take: bool = False) -> dict[str, Any] | None:
        return await self._sealed(f"pending:{request_id}", take=take)

    async def park(self, request_id: str, pending: dict[str, Any]) -> None:
        await self._put_sealed(f"pending:{request_id}", pending, self.lifetimes.pending)

    async def issue_code(self, pending: dict[str, Any], subject: str, name: str) -> str:
        code = new_secret(CODE_PREFIX)
        record = {
            **{k: pending[k] for k in ("client_id", "redirect_uri", "explicit", "code_challenge", "scopes")},
            "subject": subject,
            "name": name,
            "expires_at": self._clock() + self.lifetimes.code,
            "family": new_secret(""),
        }
        await self._put_sealed(f"code:{self._sealer.lookup(code)}", record, self.lifetimes.code)
        return code

    # --- consent ----------------------------------------------------------------------------------

    def _consent_key(self, subject: str, client_id: str, redirect_uri: str) -> str:
        return f"consent:{self._sealer.lookup(json.dumps([subject, client_id, redirect_uri]))}"

    async def consented(self, subject: str, client_id: str, redirect_uri: str) -> bool:
        return await self._store.get(self._consent_key(subject, client_id, redirect_uri)) is not None

    async def remember_consent(self, subject: str, client_id: str, redirect_uri: str) -> None:
        await self._store.put(
            self._consent_key(subject, client_id, redirect_uri), "1", self.lifetimes.consent
        )

    # --- codes ------------------------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> EdfsCode | None:
        lookup = self._sealer.lookup(authorization_code)
        record = await self._sealed(f"code:{lookup}")
        if record is None:
            family = await self._store.get(f"used-code:{lookup}")
            if family is not None:
                logger.warning("an authorization code was presented twice: its tokens are revoked")
                await self._revoke_family(family)
            return None
        if record["expires_at"] <= self._clock():
            return None
        return EdfsCode(
            code=authorization_code,
            scopes=record["scopes"],
            expires_at=self._wall(record["expires_at"]),
            client_id=record["client_id"],
            code_challenge=record["code_challenge"],
            redirect_uri=AnyUrl(record["redirect_uri"]),
            redirect_uri_provided_explicitly=record["explicit"],
            resource=self.resource,
            subject=record["subject"],
            family=record["family"],
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: EdfsCode
    ) -> OAuthToken:
        lookup = self._sealer.lookup(authorization_code.code)
        record = await self._sealed(f"code:{lookup}", take=True)
        if record is None:  # another request used it first
            raise TokenError("invalid_grant", "authorization code does not exist")
        await self._store.put(f"used-code:{lookup}", record["family"], self.lifetimes.refresh)
        return await self._issue(
            client.client_id, record["subject"], record["name"], record["scopes"], record["family"]
        )

    # --- tokens -----------------------------------------------------------------------------------

    async def _issue(
        self, client_id: str, subject: str, name: str, scopes: list[str], family: str
    ) -> OAuthToken:
        now = self._clock()
        access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
        common = {
            "client_id": client_id,
            "subject": subject,
            "name": name,
            "scopes": scopes,
            "family": family,
            "resource": self.resource,
        }
        access_key = f"access:{self._sealer.lookup(access)}"
        refresh_key = f"refresh:{self._sealer.lookup(refresh)}"
        await self._put_sealed(
            access_key, {**common, "expires_at": now + self.lifetimes.access}, self.lifetimes.access
        )
        await self._put_sealed(
            refresh_key, {**common, "expires_at": now + self.lifetimes.refresh}, self.lifetimes.refresh
        )
        for key in (access_key, refresh_key):
            await self._store.add_member(f"family:{family}", key, self.lifetimes.refresh)
        await self._keep_client(client_id)
        return OAuthToken(
            access_token=access,
            expires_in=int(self.lifetimes.access),
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> EdfsRefreshToken | None:
        lookup = self._sealer.lookup(refresh_token)
        record = await self._sealed(f"refresh:{lookup}")
        if record is None:
            family = await self._store.get(f"used-refresh:{lookup}")
            if family is not None:
                logger.warning("a rotated refresh token was presented again: its family is revoked")
                await self._revoke_family(family)
            return None
        if record["expires_at"] <= self._clock():
            return None
        return EdfsRefreshToken(
            token=refresh_token,
            client_id=record["client_id"],
            scopes=record["scopes"],
            expires_at=int(self._wall(record["expires_at"])),
            resource=self.resource,
            subject=record["subject"],
            family=record["family"],
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: EdfsRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        lookup = self._sealer.lookup(refresh_token.token)
        record = await self._sealed(f"refresh:{lookup}", take=True)
        if record is None:
            raise TokenError("invalid_grant", "refresh token does not exist")
        await self._store.put(f"used-refresh:{lookup}", record["family"], self.lifetimes.refresh)
        if await self._vault.load(record["subject"]) is None:
            raise TokenError(
                "invalid_grant", "the Bentley sign-in behind this token has ended; sign in again"
            )
        return await self._issue(
            client.client_id, record["subject"], record["name"], scopes, record["family"]
        )

    async def load_access_token(self, token: str) -> EdfsAccessToken | None:
        if not token.startswith(ACCESS_PREFIX):
            return None  # never a Bentley token, nor anything else
        record = await self._sealed(f"access:{self._sealer.lookup(token)}")
        if record is None or record["expires_at"] <= self._clock():
            return None
        if await self._vault.load(record["subject"]) is None:
            return None  # the person's Bentley sign-in ended: 401, and the client signs in again
        return EdfsAccessToken(
            token=token,
            client_id=record["client_id"],
            scopes=record["scopes"],
            expires_at=int(self._wall(record["expires_at"])),
            resource=record["resource"],
            subject=record["subject"],
            claims={"iss": self.issuer, "name": record["name"]},
            family=record["family"],
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "this server signs people in at Bentley only")

    async def revoke_token(self, token: EdfsAccessToken | EdfsRefreshToken) -> None:
        await self._revoke_family(token.family)

    async def _revoke_family(self, family: str) -> None:
        for key in await self._store.members(f"family:{family}"):
            await self._store.delete(key)
        await self._store.delete(f"family:{family}")


def _same_resource(given: str, ours: str) -> bool:
    return given.rstrip("/").lower() == ours.rstrip("/").lower()


# What one registration may hold (RFC 7591 sets no limits; these are far above any real client's).
MAX_REDIRECT_URIS = 10
MAX_URI_CHARS = 2048
MAX_FIELD_CHARS = 512
MAX_REGISTRATION_BYTES = 8 * 1024


def registration_size_problem(client_info: OAuthClientInformationFull) -> str | None:
    """Why a registration is too large to keep, or None: every registration is stored (unsigned
    callers may register), so each is bounded in URIs, field lengths and size in all."""
    uris = client_info.redirect_uris or []
    if len(uris) > MAX_REDIRECT_URIS:
        return f"at most {MAX_REDIRECT_URIS} redirect_uris"
    if any(len(str(uri)) > MAX_URI_CHARS for uri in uris):
        return f"a redirect URI may have at most {MAX_URI_CHARS} characters"
    record = client_info.model_dump(mode="json", exclude_none=True)
    for name, value in record.items():
        if name != "redirect_uris" and isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return f"{name} may have at most {MAX_FIELD_CHARS} characters"
    if len(client_info.model_dump_json(exclude_none=True)) > MAX_REGISTRATION_BYTES:
        return f"a registration may have at most {MAX_REGISTRATION_BYTES // 1024} KiB of metadata"
    return None


def _redirect_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None: https anywhere, http only to loopback,
    a native app's own scheme; never javascript:, data:, file: or a fragment."""
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    if parts.fragment:
        return "a redirect URI may not have a fragment"
    scheme = parts.scheme.lower()
    if scheme in ("javascript", "data", "file", "vbscript", "about", "blob"):
        return f"the {scheme}: scheme is not allowed"
    if scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        return "http is allowed only to a loopback address; use https"
    return None
