"""The OAuth kernel every sign-in shares, local and remote: one authlib client, one "who signed in".

In the shape of globus-sdk's one ``AuthClient`` under every login flow: the public app (device
code, browser + PKCE, refresh), the service app (client credentials) and the team server's
confidential web app (``edfs_mcp.remote.upstream``) all get their authlib client from
``oauth_client``, so PKCE is authlib's S256 everywhere (``create_authorization_url`` and
``fetch_token`` with ``code_verifier``), never computed by hand. ``who_signed_in`` reads a token's
person once for all of them: the JWT's claims (``jwt_claims``, the one reader), the userinfo endpoint
for what the claims leave out. ``kept_refresh_token`` is the one rule for an answer that brings no
new refresh token: the one we had still holds.

authlib loads on first use (inside ``oauth_client``), not when the server starts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

__all__ = ["Person", "fetch_token", "jwt_claims", "kept_refresh_token", "oauth_client", "who_signed_in"]

AuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]


def oauth_client(
    client_id: str,
    *,
    client_secret: str | None = None,
    auth_method: AuthMethod = "none",
    scope: str | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
) -> Any:
    """authlib's async OAuth client for ``client_id``; PKCE S256 for the authorization code grant.

    ``auth_method``: how the client authenticates at the token endpoint: ``none`` for a public
    (secret-less) app, ``client_secret_post`` or ``client_secret_basic`` with ``client_secret``.
    """
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    kwargs: dict[str, Any] = {"timeout": timeout}
    if transport is not None:
        kwargs["transport"] = transport
    if client_secret is not None:
        kwargs["client_secret"] = client_secret
    return AsyncOAuth2Client(
        client_id=client_id,
        scope=scope,
        token_endpoint_auth_method=auth_method,
        code_challenge_method="S256",
        **kwargs,
    )


async def fetch_token(
    oauth: Any, endpoint: str, *, refused: str, hint: str = "", **form: str
) -> dict[str, Any]:
    """A token answer from ``endpoint`` that holds an access token, or AuthError in words: the one
    translation of authlib's and httpx's failures. ``refused`` names what the authority refused
    ("the sign-in code"); ``hint`` is the next step, appended. The authority's error code and
    description carry no secret; nothing else of the request is quoted."""
    from authlib.integrations.base_client.errors import OAuthError

    from edfs_mcp.errors import AuthError

    tail = f" {hint}" if hint else ""
    try:
        token = dict(await oauth.fetch_token(endpoint, **form))
    except OAuthError as exc:
        raise AuthError(
            f"The authority refused {refused} ({exc.error}: {exc.description or 'no description'}).{tail}"
        ) from None
    except httpx2.HTTPError as exc:
        raise AuthError(f"Could not reach the token endpoint {endpoint} ({type(exc).__name__}).") from None
    if not isinstance(token.get("access_token"), str) or not token["access_token"]:
        raise AuthError(f"The token endpoint {endpoint} answered {refused} without an access token.")
    return token


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified ({} for anything else): only to say who and until when, for a
    token that came straight from the token endpoint over TLS or that the user gave us."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def kept_refresh_token(answer: Mapping[str, Any], previous: str | None) -> str | None:
    """The refresh token to keep after a token answer: the new one, else (not rotated) ``previous``."""
    refresh = answer.get("refresh_token")
    return refresh if isinstance(refresh, str) and refresh else previous


@dataclass(frozen=True)
class Person:
    """Who an access token is for: the authority's subject and a name to show (either may be unknown)."""

    subject: str | None
    name: str | None


def _person(document: Mapping[str, Any]) -> Person:
    subject = document.get("sub")
    name = document.get("name") or document.get("email") or document.get("preferred_username")
    return Person(
        subject if isinstance(subject, str) and subject else None,
        name if isinstance(name, str) and name else None,
    )


async def who_signed_in(
    access_token: str,
    userinfo: str | None,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    timeout: float = 15.0,  # noqa: ASYNC109 - the HTTP client's timeout, not a cancel scope
) -> Person:
    """The person ``access_token`` is for: its claims first; the ``userinfo`` endpoint (when there
    is one) for a subject or a name the claims do not carry. Nothing is raised: what neither says
    is None (the caller decides whether a sign-in without a subject is acceptable)."""
    person = _person(jwt_claims(access_token))
    if (person.subject and person.name) or userinfo is None:
        return person
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=timeout) as http:
            response = await http.get(userinfo, headers={"Authorization": f"Bearer {access_token}"})
        body = response.json() if response.status_code == 200 else {}
    except (httpx2.HTTPError, ValueError):
        body = {}
    told = _person(body) if isinstance(body, dict) else Person(None, None)
    if person.subject is not None and told.subject != person.subject:
        return person  # the answer is about someone else (or says nobody): only the claims count
    return Person(person.subject or told.subject, person.name or told.name)
