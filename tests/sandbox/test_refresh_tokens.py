"""Refresh tokens (rotation, reuse detection, expiry), revocation and userinfo."""

from __future__ import annotations

import logging

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import fetch_token
from tests.sandbox.oauth_helpers import (
    FakeClock,
    claims_of,
    oauth_error,
    poll,
    refresh,
    start_device,
    verify_page,
)


def sign_in(http: httpx2.Client, username: str = seed.USER_ADMIN, scope: str = "") -> dict[str, str]:
    """Tokens from a device flow approved on the verification page."""
    body = start_device(http, scope=scope or "itwin-platform offline_access")
    assert verify_page(http, body["user_code"], username=username).status_code == 200
    response = poll(http, body["device_code"])
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def revoke(http: httpx2.Client, token: str, **extra: str) -> httpx2.Response:
    return http.post(
        "/connect/revocation", data={"token": token, "client_id": seed.PUBLIC_CLIENT_ID, **extra}
    )


def test_refresh_rotates_and_the_old_token_stops_working(http: httpx2.Client, server: SandboxServer) -> None:
    first = sign_in(http, seed.USER_HARBOR_ADMIN)
    response = refresh(http, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "itwin-platform offline_access"
    assert claims_of(http, second["access_token"])["sub"] == seed.IDENTITY_HARBOR_ADMIN
    assert server.state.token_requests["refresh_token"] == 1

    old = refresh(http, first["refresh_token"])
    assert old.status_code == 400
    assert oauth_error(old) == "invalid_grant"


def test_reusing_a_rotated_token_revokes_the_whole_family(http: httpx2.Client) -> None:
    first = sign_in(http)
    second = refresh(http, first["refresh_token"]).json()
    third = refresh(http, second["refresh_token"]).json()
    assert oauth_error(refresh(http, first["refresh_token"])) == "invalid_grant"  # replay of a rotated one
    newest = refresh(http, third["refresh_token"])
    assert newest.status_code == 400
    assert oauth_error(newest) == "invalid_grant"


def test_reuse_revokes_only_that_family(http: httpx2.Client) -> None:
    mine, yours = sign_in(http), sign_in(http, seed.USER_VIEWER)
    rotated = refresh(http, mine["refresh_token"]).json()
    assert oauth_error(refresh(http, mine["refresh_token"])) == "invalid_grant"
    assert oauth_error(refresh(http, rotated["refresh_token"])) == "invalid_grant"
    assert refresh(http, yours["refresh_token"]).status_code == 200


def test_refresh_can_narrow_but_not_widen_the_scope(http: httpx2.Client) -> None:
    tokens = sign_in(http)
    wider = refresh(http, tokens["refresh_token"], scope="itwin-platform offline_access email")
    assert oauth_error(wider) == "invalid_scope"
    narrow = refresh(http, tokens["refresh_token"], scope="itwin-platform")
    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "itwin-platform"
    assert "refresh_token" not in narrow.json()  # offline_access dropped: the sign-in ends here


def test_a_refresh_token_is_bound_to_its_client(http: httpx2.Client) -> None:
    tokens = sign_in(http)
    stolen = http.post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": seed.WEB_CLIENT_ID,
            "client_secret": seed.WEB_CLIENT_SECRET,
        },
    )
    assert oauth_error(stolen) == "invalid_grant"
    assert refresh(http, tokens["refresh_token"]).status_code == 200


def test_refresh_tokens_expire(http: httpx2.Client, server: SandboxServer, clock: FakeClock) -> None:
    assert server.state.refresh_token_lifetime_seconds == 30 * 24 * 3600
    server.state.refresh_token_lifetime_seconds = 100
    tokens = sign_in(http)
    clock.advance(99)
    fresh = refresh(http, tokens["refresh_token"]).json()
    clock.advance(101)
    assert oauth_error(refresh(http, fresh["refresh_token"])) == "invalid_grant"


def test_unknown_or_missing_refresh_token(http: httpx2.Client) -> None:
    assert oauth_error(refresh(http, "made-up")) == "invalid_grant"
    missing = http.post(
        "/connect/token", data={"grant_type": "refresh_token", "client_id": seed.PUBLIC_CLIENT_ID}
    )
    assert oauth_error(missing) == "invalid_request"


def test_no_refresh_token_without_offline_access_or_for_service_clients(
    http: httpx2.Client, server: SandboxServer
) -> None:
    assert "refresh_token" not in sign_in(http, scope="itwin-platform")
    service = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seed.CLIENT_ADMIN_ID,
            "client_secret": seed.CLIENT_ADMIN_SECRET,
            "scope": "itwin-platform offline_access",
        },
    )
    assert service.status_code == 200
    assert "refresh_token" not in service.json()
    assert server.state.oauth.live_refresh_tokens() == 0


def test_refresh_tokens_are_stored_only_as_digests(http: httpx2.Client, server: SandboxServer) -> None:
    tokens = sign_in(http)
    held = repr(vars(server.state.oauth))
    assert tokens["refresh_token"] not in held
    assert server.state.oauth.live_refresh_tokens() == 1


def test_revocation_revokes_the_family(http: httpx2.Client) -> None:
    first = sign_in(http)
    second = refresh(http, first["refresh_token"]).json()
    response = revoke(http, second["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert response.json() == {}
    assert oauth_error(refresh(http, second["refresh_token"])) == "invalid_grant"


def test_revoking_an_unknown_or_access_token_is_still_200(http: httpx2.Client) -> None:
    tokens = sign_in(http)
    assert revoke(http, "never-issued").status_code == 200
    assert revoke(http, tokens["access_token"], token_type_hint="access_token").status_code == 200
    assert refresh(http, tokens["refresh_token"]).status_code == 200  # untouched


def test_revocation_errors(http: httpx2.Client) -> None:
    missing = http.post("/connect/revocation", data={"client_id": seed.PUBLIC_CLIENT_ID})
    assert oauth_error(missing) == "invalid_request"
    hint = revoke(http, "x", token_type_hint="id_token")
    assert oauth_error(hint) == "unsupported_token_type"
    anonymous = http.post("/connect/revocation", data={"token": "x"})
    assert anonymous.status_code == 401
    assert oauth_error(anonymous) == "invalid_client"


def test_a_client_cannot_revoke_another_clients_token(http: httpx2.Client) -> None:
    tokens = sign_in(http)
    response = http.post(
        "/connect/revocation",
        data={
            "token": tokens["refresh_token"],
            "client_id": seed.WEB_CLIENT_ID,
            "client_secret": seed.WEB_CLIENT_SECRET,
        },
    )
    assert oauth_error(response) == "invalid_grant"
    assert refresh(http, tokens["refresh_token"]).status_code == 200


def test_userinfo_names_who_is_signed_in(http: httpx2.Client) -> None:
    tokens = sign_in(http, seed.USER_OPERATOR)
    response = http.get("/connect/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.json() == {
        "sub": seed.IDENTITY_OPERATOR,
        "name": "Oscar Operator",
        "email": "oscar.operator@northgate.example",
        "org": seed.ORG_NORTHGATE,
        "org_name": "Northgate Civil Engineering",
    }
    service = fetch_token(http, "viewer")
    assert http.get("/connect/userinfo", headers={"Authorization": f"Bearer {service}"}).json()["name"] == (
        "Vera Viewer"
    )


def test_userinfo_without_a_valid_token_is_401(http: httpx2.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = http.get("/connect/userinfo", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_no_token_code_or_password_reaches_the_logs(
    http: httpx2.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = start_device(http)
    verify_page(http, body["user_code"])
    tokens = poll(http, body["device_code"]).json()
    rotated = refresh(http, tokens["refresh_token"]).json()
    assert logging.getLogger("authlib").getEffectiveLevel() >= logging.WARNING
    logged = caplog.text
    for secret in (
        body["device_code"],
        tokens["access_token"],
        tokens["refresh_token"],
        rotated["refresh_token"],
        seed.SANDBOX_PASSWORD,
    ):
        assert secret not in logged
