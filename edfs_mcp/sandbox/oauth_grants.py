"""authlib's grant and endpoint classes, filled in with the sandbox's ``OAuthStore``.

What authlib leaves to the server, and how the sandbox decides it:

* Device codes (RFC 8628) expire (``state.device_code_lifetime_seconds``) and are single-use: the
  first successful exchange claims the code, a second one is ``invalid_grant``. A poll sooner than
  the code's interval after the previous poll is ``slow_down`` and adds 5 s to that code's interval.
* Authorization codes are single-use, expire (``state.authorization_code_lifetime_seconds``), and
  are bound to the client, the redirect URI and the PKCE challenge. PKCE is S256 only, and required
  of public clients. Exchanging a used code again revokes the refresh tokens issued from it.
* Refresh tokens rotate on every use; a rotated token presented again revokes its whole family.
"""

from __future__ import annotations

import hmac
import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, UnauthorizedClientError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, SlowDownError

from . import seed
from .oauth_store import CodeRecord, DeviceRecord, OAuthStore, RefreshRecord

# authlib's token generator and endpoints get no HTTP request; the route sets the issuer here.
ISSUER: ContextVar[str] = ContextVar("sandbox_issuer")
ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True)
class SandboxUser:
    """A person signed in as one of ``seed.USERS``; ``family_id`` ties their refresh tokens together."""

    username: str
    identity_id: str
    family_id: str | None = None


def user_of(username: str | None, family_id: str | None = None) -> SandboxUser | None:
    identity = seed.USERS.get(username or "")
    return SandboxUser(str(username), identity, family_id) if identity else None


def authenticate_person(username: str, password: str) -> SandboxUser | None:
    """The sandbox user with this name (case-insensitive) and password, else None."""
    user = user_of(username.strip().lower())
    ok = hmac.compare_digest(password.encode("utf-8"), seed.SANDBOX_PASSWORD.encode("utf-8"))
    return user if user and ok else None


def _store(grant: Any) -> OAuthStore:
    store: OAuthStore = grant.server.state.oauth
    return store


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only (``plain`` is refused), and required of public clients."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if not challenge and grant.request.client.record.secret is None:
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if challenge and method != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ALL_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        state = self.server.state
        data = request.payload.data
        store = _store(self)
        record = CodeRecord(
            key="",
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            username=request.user.username,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=store.clock() + int(state.authorization_code_lifetime_seconds),
            family_id=store.new_family(),
        )
        store.add_code(code, record)

    def query_authorization_code(self, code: str, client: Any) -> CodeRecord | None:
        return _store(self).find_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Nothing to do: ``create_token_response`` claimed the code before any token was made."""

    def authenticate_user(self, authorization_code: CodeRecord) -> SandboxUser | None:
        return user_of(authorization_code.username, authorization_code.family_id)

    def create_token_response(self) -> Any:
        # Claimed here, after the PKCE check: a wrong verifier does not burn the code.
        if not _store(self).claim_code(self.request.authorization_code.key):
            raise InvalidGrantError("The authorization code was already used.")
        return super().create_token_response()


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord:
        record = _store(self).find_refresh(refresh_token)
        if record is None:
            raise InvalidGrantError("The refresh token is invalid, expired, revoked or already used.")
        return record

    def authenticate_user(self, refresh_token: RefreshRecord) -> SandboxUser | None:
        return user_of(refresh_token.username, refresh_token.family_id)

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        """Nothing to do: ``create_token_response`` rotated the token before the new one was made."""

    def create_token_response(self) -> Any:
        if not _store(self).rotate_refresh(self.request.refresh_token.key):
            raise InvalidGrantError("The refresh token is invalid, expired, revoked or already used.")
        return super().create_token_response()


class SandboxDeviceCodeGrant(DeviceCodeGrant):  # type: ignore[misc]
    """The token side of RFC 8628, with expiry, single use and ``slow_down`` filled in."""

    _credential: DeviceRecord | None = None

    def query_device_credential(self, device_code: str) -> DeviceRecord:
        state = self.server.state
        auto_user = seed.AUTO_APPROVE_USER if state.auto_approve else None
        record = _store(self).poll_device(device_code, auto_user)
        if record is None:
            raise InvalidGrantError("Unknown 'device_code'.")
        if record.decision == "used":
            raise InvalidGrantError("The device code was already exchanged for tokens.")
        self._credential = record
        return record

    def query_user_grant(self, user_code: str) -> tuple[SandboxUser | None, bool] | None:
        record = self._credential
        if record is None or record.user_code != user_code or record.decision == "pending":
            return None
        if record.decision == "denied":
            return None, False
        return user_of(record.username, record.family_id), True

    def should_slow_down(self, credential: DeviceRecord) -> bool:
        if not credential.too_fast:
            return False
        interval = _store(self).slow_down(credential.key)
        raise SlowDownError(f"Polling too fast: wait at least {interval} seconds between requests.")

    def validate_device_credential(self, credential: DeviceRecord) -> SandboxUser:
        user: SandboxUser = super().validate_device_credential(credential)
        if not _store(self).claim_device(credential.key):
            raise InvalidGrantError("The device code was already exchanged for tokens.")
        return user


def _whole_seconds(value: object) -> int:
    """The interval the sandbox itself enforces for what it sent (0 for anything that is no wait)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(0, min(int(value), 24 * 3600))


class SandboxDeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    """``POST /as/device_authz.oauth2``; lifetime and interval come from the state."""

    @property
    def EXPIRES_IN(self) -> int:  # authlib reads these class attributes
        return int(self.server.state.device_code_lifetime_seconds)

    @property
    def INTERVAL(self) -> object:  # authlib reads these class attributes
        answer = _store(self).device_interval_answer  # a test's broken or hostile value, sent as is
        return int(self.server.state.device_poll_interval_seconds) if answer is None else answer

    def authenticate_client(self, request: Any) -> Any:
        client = super().authenticate_client(request)
        if not client.check_grant_type(seed.DEVICE_CODE_GRANT):
            raise UnauthorizedClientError("The client is not allowed to use the device authorization grant.")
        return client

    def generate_user_code(self) -> str:
        return _store(self).new_user_code()

    def get_verification_uri(self) -> str:
        return f"{ISSUER.get()}/device"

    def save_device_credential(self, client_id: str, scope: str | None, data: dict[str, Any]) -> None:
        _store(self).add_device(
            data["device_code"],
            data["user_code"],
            client_id,
            scope,
            int(data["expires_in"]),
            _whole_seconds(data["interval"]),
        )


class SandboxRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009 for refresh tokens: revoking one revokes its family. Access tokens are stateless
    JWTs and cannot be revoked; asking is answered 200, as RFC 7009 section 2.2 allows."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ALL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> RefreshRecord | None:
        if token_type_hint == "access_token":
            return None
        return _store(self).find_refresh(token_string)

    def revoke_token(self, token: RefreshRecord, request: Any) -> None:
        _store(self).revoke_family(token.family_id)
