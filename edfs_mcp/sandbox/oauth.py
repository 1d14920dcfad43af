"""The sandbox's OAuth authorization server: authlib's server classes adapted to Starlette.

authlib ships no Starlette server integration, so this module supplies the three adapter methods
(``create_oauth2_request``, ``create_json_request``, ``handle_response``). Today it serves the client
credentials grant; more grants register on the same server. Access tokens are RS256 JWTs signed
with the state's key and checked by the API side with ``verify_access_token``.

Tokens and secrets are never logged: authlib logs tokens at DEBUG, so its logger is held at WARNING.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from contextvars import ContextVar
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    JsonRequest,
    OAuth2Error,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from joserfc import jwt
from joserfc.jwt import JWTClaimsRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import seed
from ._http import base_url
from .state import SandboxState

logging.getLogger("authlib").setLevel(logging.WARNING)

# The token generator has no request argument; the endpoint sets the issuer here for the call.
_issuer: ContextVar[str] = ContextVar("sandbox_issuer")


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
    """Sign an access token as the token endpoint does (tests use it for expired or odd tokens)."""
    iat = int(time.time()) if issued_at is None else issued_at
    claims = {
        "iss": issuer,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": iat,
        "exp": iat + (state.token_lifetime_seconds if lifetime is None else lifetime),
        "jti": uuid.uuid4().hex,
    }
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
    return claims


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
        return redirect_uri in self.record.redirect_uris

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


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]


class _FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request over a form already read from the Starlette request (form reads are async)."""

    def __init__(self, request: Request, form: dict[str, str]) -> None:
        # The sandbox serves plain HTTP on loopback or in-process by design; authlib's transport check
        # protects real deployments, so it is handed the https form of the same URL.
        parts = urlsplit(str(request.url))
        super().__init__(request.method, urlunsplit(("https", *parts[1:])), headers=request.headers)
        self._form = form
        self._args = dict(request.query_params)
        self.payload = BasicOAuth2Payload({**self._args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's AuthorizationServer bound to a ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(scopes_supported=list(seed.SCOPES_SUPPORTED))
        self.state = state
        self.register_token_generator("default", self._generate_token)
        self.register_grant(_ClientCredentialsGrant)

    def query_client(self, client_id: str) -> _Client | None:
        record = self.state.clients.get(client_id)
        return _Client(record) if record else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: access tokens are self-contained JWTs."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here."""

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        # authlib answers a bad client_secret_post with 400; IMS (edfs-api.md §9) answers 401 always.
        if error.error == "invalid_client":
            error.status_code = 401
        response: Response = super().handle_error_response(request, error)
        return response

    def create_oauth2_request(self, request: _FormRequest) -> _FormRequest:
        return request

    def create_json_request(self, request: Request) -> JsonRequest:
        raise NotImplementedError("no JSON endpoints yet")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else str(body)
        out = Response(
            content, status_code=status, headers=dict(headers or []), media_type="application/json"
        )
        out.headers["Cache-Control"] = "no-store"
        return out

    def _generate_token(
        self,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        granted = client.get_allowed_scope(scope)
        lifetime = int(self.state.token_lifetime_seconds)
        subject = client.record.identity_id or client.client_id
        token = mint_access_token(
            self.state,
            issuer=_issuer.get(),
            client_id=client.client_id,
            subject=subject,
            scope=granted,
            lifetime=lifetime,
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": granted}


def routes(state: SandboxState) -> list[Route]:
    """Token endpoint, discovery document and JWKS."""
    server = SandboxAuthorizationServer(state)

    async def token(request: Request) -> Response:
        raw = await request.body()
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            form = {}
        state.count_token_request(form.get("grant_type") or "(none)")
        reset = _issuer.set(base_url(request))
        try:
            response: Response = server.create_token_response(_FormRequest(request, form))
        finally:
            _issuer.reset(reset)
        return response

    async def discovery(request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            {
                "issuer": base,
                "token_endpoint": f"{base}/connect/token",
                "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
                "grant_types_supported": ["client_credentials"],
                "scopes_supported": list(seed.SCOPES_SUPPORTED),
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [state.signing_key.as_dict(private=False)]})

    return [
        Route("/connect/token", token, methods=["POST"]),
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/openid-configuration/jwks", jwks, methods=["GET"]),
    ]
