"""The token endpoint, discovery and JWKS, and how the API side judges tokens."""

from __future__ import annotations

import base64
import time

import httpx2
from joserfc import jwt
from joserfc.jwk import KeySet

from edfs_mcp.sandbox import SandboxServer, SandboxState, mint_access_token, seed
from tests.sandbox.helpers import Api, error_of, fetch_token

TIMERS = f"/edfs/itwins/{seed.ITWIN_NORTHGATE_BRIDGE}/timers"


def test_client_credentials_with_post_body_returns_a_bearer_jwt(
    http: httpx2.Client, server: SandboxServer
) -> None:
    response = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seed.CLIENT_ADMIN_ID,
            "client_secret": seed.CLIENT_ADMIN_SECRET,
            "scope": "itwin-platform",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "itwin-platform"
    assert "refresh_token" not in body
    assert server.state.token_requests["client_credentials"] == 1


def test_client_credentials_with_http_basic_works_too(http: httpx2.Client) -> None:
    basic = base64.b64encode(f"{seed.CLIENT_OPERATOR_ID}:{seed.CLIENT_OPERATOR_SECRET}".encode()).decode()
    response = http.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "scope": "itwin-platform"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert Api(http, response.json()["access_token"]).get(TIMERS).status_code == 200


def test_token_claims_carry_issuer_subject_client_scope_and_lifetime(
    http: httpx2.Client, server: SandboxServer
) -> None:
    server.state.token_lifetime_seconds = 120
    token = fetch_token(http, "operator")
    keys = KeySet.import_key_set(http.get("/.well-known/openid-configuration/jwks").json())
    claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
    assert claims["iss"] == server.base_url
    assert claims["sub"] == seed.IDENTITY_OPERATOR
    assert claims["client_id"] == seed.CLIENT_OPERATOR_ID
    assert claims["scope"] == "itwin-platform"
    assert claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - time.time()) < 60
    assert len(claims["jti"]) >= 16
    assert claims["name"] == "Oscar Operator"


def test_wrong_secret_is_invalid_client_401(http: httpx2.Client, server: SandboxServer) -> None:
    response = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seed.CLIENT_ADMIN_ID,
            "client_secret": "wrong",
            "scope": "itwin-platform",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "wrong" not in response.text
    assert server.state.token_requests["client_credentials"] == 1


def test_unknown_client_is_invalid_client_401(http: httpx2.Client) -> None:
    response = http.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_public_client_cannot_use_client_credentials(http: httpx2.Client) -> None:
    response = http.post(
        "/connect/token", data={"grant_type": "client_credentials", "client_id": seed.PUBLIC_CLIENT_ID}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unsupported_grant_and_unknown_scope_are_oauth_errors(
    http: httpx2.Client, server: SandboxServer
) -> None:
    grant = http.post("/connect/token", data={"grant_type": "password", "username": "a", "password": "b"})
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"
    scope = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seed.CLIENT_ADMIN_ID,
            "client_secret": seed.CLIENT_ADMIN_SECRET,
            "scope": "admin:all",
        },
    )
    assert scope.status_code == 400
    assert scope.json()["error"] == "invalid_scope"
    assert server.state.token_requests == {"password": 1, "client_credentials": 1}


def test_token_endpoint_answers_only_post(http: httpx2.Client) -> None:
    assert http.get("/connect/token").status_code == 405


def test_discovery_document_points_at_this_server(http: httpx2.Client, server: SandboxServer) -> None:
    base = server.base_url
    doc = http.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == base
    assert doc["authorization_endpoint"] == f"{base}/connect/authorize"
    assert doc["token_endpoint"] == f"{base}/connect/token"
    assert doc["device_authorization_endpoint"] == f"{base}/as/device_authz.oauth2"
    assert doc["revocation_endpoint"] == f"{base}/connect/revocation"
    assert doc["userinfo_endpoint"] == f"{base}/connect/userinfo"
    assert doc["jwks_uri"] == f"{base}/.well-known/openid-configuration/jwks"
    assert sorted(doc["grant_types_supported"]) == sorted(
        ["authorization_code", "client_credentials", "refresh_token", seed.DEVICE_CODE_GRANT]
    )
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"itwin-platform", "offline_access"} <= set(doc["scopes_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    for key, value in doc.items():  # every advertised endpoint answers on this server
        if key.endswith(("_endpoint", "_uri")):
            assert value.startswith(base), key


def test_jwks_publishes_only_the_public_key(http: httpx2.Client) -> None:
    (key,) = http.get("/.well-known/openid-configuration/jwks").json()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert {"n", "e", "kid"} <= set(key)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_token_without_itwin_platform_scope_is_refused_by_the_api(http: httpx2.Client) -> None:
    token = fetch_token(http, "admin", scope="openid profile")
    response = Api(http, token).get(TIMERS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_expired_token_is_refused(http: httpx2.Client, server: SandboxServer) -> None:
    token = mint_access_token(
        server.state,
        issuer=server.base_url,
        client_id=seed.CLIENT_ADMIN_ID,
        subject=seed.IDENTITY_ADMIN,
        lifetime=60,
        issued_at=int(time.time()) - 3600,
    )
    response = Api(http, token).get(TIMERS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_token_from_another_issuer_is_refused(http: httpx2.Client, server: SandboxServer) -> None:
    token = mint_access_token(
        server.state,
        issuer="https://ims.bentley.com",
        client_id=seed.CLIENT_ADMIN_ID,
        subject=seed.IDENTITY_ADMIN,
    )
    assert Api(http, token).get(TIMERS).status_code == 401


def test_token_signed_by_another_key_is_refused(http: httpx2.Client, server: SandboxServer) -> None:
    other = SandboxState()
    token = mint_access_token(
        other, issuer=server.base_url, client_id=seed.CLIENT_ADMIN_ID, subject=seed.IDENTITY_ADMIN
    )
    response = Api(http, token).get(TIMERS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_a_minted_token_for_a_valid_identity_is_accepted(http: httpx2.Client, server: SandboxServer) -> None:
    token = mint_access_token(
        server.state, issuer=server.base_url, client_id=seed.CLIENT_ADMIN_ID, subject=seed.IDENTITY_ADMIN
    )
    assert Api(http, token).get(TIMERS).status_code == 200
