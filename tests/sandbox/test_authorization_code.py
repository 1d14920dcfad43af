"""The authorization code grant with PKCE: /connect/authorize, its sign-in page, the code exchange."""

from __future__ import annotations

import base64

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.oauth_helpers import (
    CALLBACK,
    FakeClock,
    authorize_params,
    claims_of,
    exchange_code,
    oauth_error,
    page_text,
    pkce,
    redirect_query,
    refresh,
)


@pytest.fixture
def auto(server: SandboxServer) -> None:
    server.state.auto_approve = True


def get_code(http: httpx2.Client, challenge: str, redirect_uri: str = CALLBACK, **extra: str) -> str:
    params = authorize_params(challenge, redirect_uri, **extra)
    query = redirect_query(http.get("/connect/authorize", params=params))
    assert query["state"] == params["state"]
    return query["code"]


@pytest.mark.usefixtures("auto")
def test_auto_approve_redirects_with_code_and_state(http: httpx2.Client) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge)
    response = http.get("/connect/authorize", params=params)
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"{CALLBACK}?")
    query = redirect_query(response)
    assert set(query) == {"code", "state"}
    assert query["state"] == params["state"]


@pytest.mark.usefixtures("auto")
def test_right_verifier_gets_tokens_for_the_auto_approve_user(
    http: httpx2.Client, server: SandboxServer
) -> None:
    verifier, challenge = pkce()
    response = exchange_code(http, get_code(http, challenge), verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "itwin-platform offline_access"
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    claims = claims_of(http, body["access_token"])
    assert claims["sub"] == seed.IDENTITY_ADMIN
    assert claims["name"] == "Avery Admin"
    assert claims["client_id"] == seed.PUBLIC_CLIENT_ID
    assert claims["iss"] == server.base_url
    assert server.state.token_requests["authorization_code"] == 1


@pytest.mark.usefixtures("auto")
def test_any_loopback_port_is_accepted_and_bound_to_the_code(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    for uri in (
        "http://localhost:3301/signin-callback",
        "http://127.0.0.1:61001/signin-callback",
        "http://localhost:49152/signin-callback",
        "http://[::1]:50000/signin-callback",
    ):
        code = get_code(http, challenge, uri)
        assert exchange_code(http, code, verifier, uri).status_code == 200


@pytest.mark.usefixtures("auto")
@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:61001/other-callback",
        "https://127.0.0.1:61001/signin-callback",
        "http://evil.example:3301/signin-callback",
        "http://127.0.0.1:61001/signin-callback?x=1",
        "http://user@127.0.0.1:61001/signin-callback",
        "http://127.0.0.1:99999/signin-callback",
    ],
)
def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(http: httpx2.Client, uri: str) -> None:
    _, challenge = pkce()
    response = http.get("/connect/authorize", params=authorize_params(challenge, uri))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Sign-in request refused" in page_text(response)


@pytest.mark.usefixtures("auto")
def test_unknown_client_is_an_error_page(http: httpx2.Client) -> None:
    _, challenge = pkce()
    response = http.get("/connect/authorize", params=authorize_params(challenge, client_id="nobody"))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_client" in page_text(response)


@pytest.mark.usefixtures("auto")
def test_wrong_verifier_is_invalid_grant_and_does_not_burn_the_code(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    other, _ = pkce()
    wrong = exchange_code(http, code, other)
    assert wrong.status_code == 400
    assert oauth_error(wrong) == "invalid_grant"
    assert exchange_code(http, code, verifier).status_code == 200


@pytest.mark.usefixtures("auto")
def test_missing_verifier_is_refused(http: httpx2.Client) -> None:
    _, challenge = pkce()
    response = exchange_code(http, get_code(http, challenge), "")
    assert response.status_code == 400
    assert oauth_error(response) == "invalid_request"


@pytest.mark.usefixtures("auto")
def test_wrong_redirect_uri_at_exchange_is_invalid_grant(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge, "http://127.0.0.1:61001/signin-callback")
    response = exchange_code(http, code, verifier, "http://127.0.0.1:61002/signin-callback")
    assert response.status_code == 400
    assert oauth_error(response) == "invalid_grant"


@pytest.mark.usefixtures("auto")
def test_reused_code_is_invalid_grant_and_revokes_what_it_issued(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    first = exchange_code(http, code, verifier)
    assert first.status_code == 200
    again = exchange_code(http, code, verifier)
    assert again.status_code == 400
    assert oauth_error(again) == "invalid_grant"
    assert oauth_error(refresh(http, first.json()["refresh_token"])) == "invalid_grant"


@pytest.mark.usefixtures("auto")
def test_code_expires_after_sixty_seconds(http: httpx2.Client, clock: FakeClock) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    clock.advance(61)
    response = exchange_code(http, code, verifier)
    assert response.status_code == 400
    assert oauth_error(response) == "invalid_grant"


@pytest.mark.usefixtures("auto")
def test_code_is_bound_to_its_client(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    stolen = exchange_code(
        http, code, verifier, client_id=seed.WEB_CLIENT_ID, client_secret=seed.WEB_CLIENT_SECRET
    )
    assert stolen.status_code == 400
    assert oauth_error(stolen) == "invalid_grant"
    assert exchange_code(http, code, verifier).status_code == 200


@pytest.mark.usefixtures("auto")
@pytest.mark.parametrize(
    "pkce_params",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge_method": ""},
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge": "too-short"},
    ],
    ids=["plain", "no-method", "no-pkce", "bad-challenge"],
)
def test_pkce_must_be_s256(http: httpx2.Client, pkce_params: dict[str, str]) -> None:
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(challenge), **pkce_params}.items() if v}
    query = redirect_query(http.get("/connect/authorize", params=params))
    assert query["error"] == "invalid_request"
    assert query["state"] == params["state"]
    assert "code" not in query


@pytest.mark.usefixtures("auto")
def test_unknown_scope_is_redirected_as_invalid_scope(http: httpx2.Client) -> None:
    _, challenge = pkce()
    query = redirect_query(http.get("/connect/authorize", params=authorize_params(challenge, scope="x:y")))
    assert query["error"] == "invalid_scope"


def test_sign_in_page_carries_the_request_and_approve_redirects(http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    params = authorize_params(challenge)
    form = http.get("/connect/authorize", params=params)
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    for name, value in params.items():
        assert f'name="{name}" value="{value}"' in form.text
    response = http.post(
        "/connect/authorize",
        data={**params, "username": "Vera", "password": seed.SANDBOX_PASSWORD, "action": "approve"},
    )
    query = redirect_query(response)
    assert query["state"] == params["state"]
    token = exchange_code(http, query["code"], verifier)
    assert claims_of(http, token.json()["access_token"])["sub"] == seed.IDENTITY_VIEWER


def test_sign_in_page_deny_redirects_access_denied(http: httpx2.Client) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge)
    query = redirect_query(http.post("/connect/authorize", data={**params, "action": "deny"}))
    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]
    assert "code" not in query


def test_sign_in_page_wrong_password_shows_the_form_again(http: httpx2.Client) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge)
    response = http.post(
        "/connect/authorize", data={**params, "username": "avery", "password": "nope", "action": "approve"}
    )
    assert response.status_code == 401
    assert "location" not in response.headers
    assert "Wrong username or password." in page_text(response)
    assert f'name="code_challenge" value="{challenge}"' in response.text


def test_sign_in_page_refuses_a_cross_site_post(http: httpx2.Client) -> None:
    _, challenge = pkce()
    data = {**authorize_params(challenge), "username": "avery", "password": seed.SANDBOX_PASSWORD}
    response = http.post("/connect/authorize", data={**data, "action": "approve"}, headers={"Origin": "null"})
    assert response.status_code == 403
    assert "location" not in response.headers


def test_confidential_web_client_exchanges_with_its_secret(
    http: httpx2.Client, server: SandboxServer
) -> None:
    server.state.auto_approve = True
    verifier, challenge = pkce()
    code = get_code(http, challenge, client_id=seed.WEB_CLIENT_ID)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    no_secret = http.post("/connect/token", data={**data, "client_id": seed.WEB_CLIENT_ID})
    assert no_secret.status_code == 401
    assert oauth_error(no_secret) == "invalid_client"
    basic = base64.b64encode(f"{seed.WEB_CLIENT_ID}:{seed.WEB_CLIENT_SECRET}".encode()).decode()
    ok = http.post("/connect/token", data=data, headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200
    assert claims_of(http, ok.json()["access_token"])["client_id"] == seed.WEB_CLIENT_ID


def test_web_client_may_skip_pkce_but_never_use_plain(http: httpx2.Client, server: SandboxServer) -> None:
    server.state.auto_approve = True
    params = {
        "response_type": "code",
        "client_id": seed.WEB_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "itwin-platform",
        "state": "s1",
    }
    code = redirect_query(http.get("/connect/authorize", params=params))["code"]
    token = http.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": seed.WEB_CLIENT_ID,
            "client_secret": seed.WEB_CLIENT_SECRET,
        },
    )
    assert token.status_code == 200
    plain = {**params, "code_challenge": "a" * 43, "code_challenge_method": "plain"}
    assert redirect_query(http.get("/connect/authorize", params=plain))["error"] == "invalid_request"


def test_service_clients_cannot_use_the_authorization_endpoint(http: httpx2.Client) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge, client_id=seed.CLIENT_ADMIN_ID)
    response = http.get("/connect/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers  # no redirect URI registered for it
