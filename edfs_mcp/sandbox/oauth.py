"""The sandbox's OAuth authorization server: authlib's server classes adapted to Starlette.

authlib ships no Starlette server integration, so this module supplies the three adapter methods
(``create_oauth2_request``, ``create_json_request``, ``handle_response``). The grants (client
credentials, authorization code + PKCE, refresh token, device code) live in ``oauth_grants``, the
device verification page in ``device``, the sign-in page in ``authorize``. Access tokens are RS256
JWTs signed with the state's key and checked by the API side with ``verify_access_token``.

Tokens, codes and secrets are never logged: authlib logs tokens at DEBUG, so its logger is held at
WARNING, and nothing here logs at all.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, JsonRequest, OAuth2Error, OAuth2Request
from joserfc import jwt
from joserfc.jwt import JWTClaimsRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import authorize, device, seed
from ._http import base_url
from .oauth_grants import (
    ISSUER,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
    SandboxDeviceAuthorizationEndpoint,
    SandboxDeviceCodeGrant,
    SandboxRevocationEndpoint,
    SandboxUser,
)
from .oauth_web import FormRequest, read_form
from .state import SandboxState

logging.getLogger("authlib").setLevel(logging.WARNING)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def mint_access_token(
    state: SandboxState,
    *,
    issuer: str,
    client_id: str,
    subject: str,
    scope: str = seed.SCOPE,
    lifetime: int | None = None,
    issued_at: int | None = None,
) -> str:
    """Sign an access token as the token endpoint does (tests use it for expired or odd tokens).

    A subject that is a seeded identity also gets a ``name`` claim (the identity's display name).
    """
    iat = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": iat,
        "exp": iat + (state.token_lifetime_seconds if lifetime is None else lifetime),
        "jti": uuid.uuid4().hex,
        "gen": state.token_generation,
    }
    identity = state.identities.get(subject)
    if identity is not None:
        claims["name"] = identity.name
    header = {"alg": "RS256", "typ": "JWT", "kid": state.signing_key.kid}
    return jwt.encode(header, claims, state.signing_key)


def verify_access_token(state: SandboxState, token: str, issuer: str) -> dict[str, Any] | None:
    """The claims of a valid token (signature, ``exp``, ``iss``, ``itwin-platform`` scope), else None."""
    try:
        claims: dict[str, Any] = jwt.decode(token, state.signing_key, algorithms=["RS256"]).claims
        JWTClaimsRegistry(
            iss={"essential": True, "value": issuer}, exp={"essential": True}, sub={"essential": True}
        ).validate(claims)
    except Exception:  # any decoding or claim failure means "invalid token", never a 500
        return None
    scope = claims.get("scope")
    if not isinstance(scope, str) or seed.SCOPE not in scope.split():
        return None
    if claims.get("gen", 0) != state.token_generation:
        return None
    return claims


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Whether ``requested`` is the registered redirect URI.

    The match is exact, with one exception from RFC 8252 section 7.3: a registered *loopback* URI
    (``http`` to ``localhost``, ``127.0.0.1`` or ``[::1]``) matches the same scheme, host, path and
    query on **any** port, since a native app listens on whatever port is free. No fragment and no
    user info are allowed. ``http://127.0.0.1:53124/signin-callback`` therefore matches the
    registered ``http://127.0.0.1:3301/signin-callback``; ``/other-path`` or ``https`` does not.
    """
    if requested == registered:
        return True
    try:
        reg, req = urlsplit(registered), urlsplit(requested)
        _ = req.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    if reg.scheme != "http" or reg.hostname not in LOOPBACK_HOSTS:
        return False
    return (
        req.scheme == "http"
        and req.hostname == reg.hostname
        and req.username is None
        and req.password is None
        and req.path == reg.path
        and req.query == reg.query
        and "#" not in requested
    )


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, record: seed.ClientSeed) -> None:
        self.record = record
        self.client_id = record.client_id

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.record.redirect_uris[0] if self.record.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = [s for s in (scope or seed.SCOPE).split() if s in seed.SCOPES_SUPPORTED]
        return " ".join(allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(uri, redirect_uri) for uri in self.record.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.record.secret
        return secret is not None and hmac.compare_digest(secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record.secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.record.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.record.grant_types


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's AuthorizationServer bound to a ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(scopes_supported=list(seed.SCOPES_SUPPORTED))
        self.state = state
        self.register_token_generator("default", self._generate_token)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(SandboxDeviceCodeGrant)
        self.register_endpoint(SandboxDeviceAuthorizationEndpoint)
        self.register_endpoint(SandboxRevocationEndpoint)

    def query_client(self, client_id: str) -> _Client | None:
        record = self.state.clients.get(client_id)
        return _Client(record) if record else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: access tokens are self-contained JWTs, refresh tokens are stored as made."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here."""

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        # authlib answers a bad client_secret_post with 400; IMS (edfs-api.md §9) answers 401 always.
        if error.error == "invalid_client":
            error.status_code = 401
        response: Response = super().handle_error_response(request, error)
        return response

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def create_json_request(self, request: Request) -> JsonRequest:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        sent = dict(headers or [])
        if isinstance(body, dict):
            out = Response(json.dumps(body), status_code=status, headers=sent, media_type="application/json")
        else:
            out = Response(str(body or ""), status_code=status, headers=sent)
        out.headers["Cache-Control"] = "no-store"
        return out

    def _generate_token(
        self,
        grant_type: str,
        client: _Client,
        user: SandboxUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        state = self.state
        granted = client.get_allowed_scope(scope)
        lifetime = int(state.token_lifetime_seconds)
        subject = user.identity_id if user else (client.record.identity_id or client.client_id)
        token = mint_access_token(
            state, issuer=ISSUER.get(), client_id=client.client_id, subject=subject, scope=granted
        )
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": granted,
        }
        # Refresh tokens go to people (not service clients) who asked for offline_access.
        if include_refresh_token and user is not None and seed.OFFLINE_ACCESS in granted.split():
            family = user.family_id or state.oauth.new_family()
            body["refresh_token"] = state.oauth.issue_refresh(
                family, client.client_id, user.username, granted, int(state.refresh_token_lifetime_seconds)
            )
        return body


def _discovery(state: SandboxState, base: str) -> dict[str, Any]:
    grant_types = ["authorization_code", "client_credentials", "refresh_token"]
    doc: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": f"{base}/connect/authorize",
        "token_endpoint": f"{base}/connect/token",
        "userinfo_endpoint": f"{base}/connect/userinfo",
        "revocation_endpoint": f"{base}/connect/revocation",
        "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
        "grant_types_supported": grant_types,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(seed.SCOPES_SUPPORTED),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    if state.device_flow_enabled:
        doc["device_authorization_endpoint"] = f"{base}/as/device_authz.oauth2"
        grant_types.append(seed.DEVICE_CODE_GRANT)
    return doc


def routes(state: SandboxState) -> list[Route]:
    """Token, revocation and userinfo endpoints, discovery, JWKS, device flow and sign-in page."""
    server = SandboxAuthorizationServer(state)

    async def token(request: Request) -> Response:
        form = await read_form(request)
        state.count_token_request(form.get("grant_type") or "(none)")
        reset = ISSUER.set(base_url(request))
        try:
            response: Response = server.create_token_response(FormRequest(request, form))
        finally:
            ISSUER.reset(reset)
        return response

    async def revocation(request: Request) -> Response:
        form = await read_form(request)
        response: Response = server.create_endpoint_response("revocation", FormRequest(request, form))
        return response

    async def userinfo(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        claims = None
        if scheme.lower() == "bearer" and token.strip():
            claims = verify_access_token(state, token.strip(), base_url(request))
        identity = state.identities.get(str(claims.get("sub"))) if claims else None
        if claims is None or identity is None:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "The access token is invalid or expired."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(
            {
                "sub": identity.id,
                "name": identity.name,
                "email": identity.email,
                "org": identity.organization_id,
                "org_name": seed.ORGANIZATIONS[identity.organization_id],
            },
            headers={"Cache-Control": "no-store"},
        )

    async def discovery(request: Request) -> Response:
        return JSONResponse(_discovery(state, base_url(request)))

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [state.signing_key.as_dict(private=False)]})

    return [
        Route("/connect/token", token, methods=["POST"]),
        Route("/connect/revocation", revocation, methods=["POST"]),
        Route("/connect/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/openid-configuration/jwks", jwks, methods=["GET"]),
        *device.routes(state, server),
        *authorize.routes(state, server),
    ]
