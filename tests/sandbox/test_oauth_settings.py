"""OAuth switches: auto-approve on SandboxServer and the control API, reset, redirect URI rule."""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, SandboxState, seed
from edfs_mcp.sandbox.oauth import redirect_uri_matches
from edfs_mcp.sandbox.oauth_store import normalize_user_code
from tests.sandbox.oauth_helpers import (
    authorize_params,
    oauth_error,
    pkce,
    poll,
    redirect_query,
    start_device,
)


def test_sandbox_server_auto_approve_survives_reset() -> None:
    with SandboxServer(auto_approve=True) as server, httpx2.Client(base_url=server.base_url) as http:
        server.state.device_poll_interval_seconds = 0
        server.state.reset()
        assert server.state.auto_approve is True
        assert server.state.device_poll_interval_seconds == 5
        server.state.device_poll_interval_seconds = 0
        device_code = start_device(http)["device_code"]
        assert oauth_error(poll(http, device_code)) == "authorization_pending"
        assert poll(http, device_code).status_code == 200
        _, challenge = pkce()
        assert "code" in redirect_query(http.get("/connect/authorize", params=authorize_params(challenge)))


def test_auto_approve_is_off_by_default_and_reset_turns_it_back_off() -> None:
    state = SandboxState()
    assert state.auto_approve is False
    state.auto_approve = True
    state.reset()
    assert state.auto_approve is False
    assert SandboxServer(state=state).state.auto_approve is False
    assert SandboxServer(state=state, auto_approve=True).state.auto_approve is True


def test_reset_restores_settings_but_keeps_issued_grants(http: httpx2.Client, server: SandboxServer) -> None:
    server.state.auto_approve = True
    server.state.device_poll_interval_seconds = 0
    device_code = start_device(http)["device_code"]
    poll(http, device_code)  # approved by this poll
    token = poll(http, device_code).json()
    server.state.reset()
    assert (server.state.auto_approve, server.state.device_poll_interval_seconds) == (False, 5)
    assert server.state.device_code_lifetime_seconds == 600
    assert server.state.authorization_code_lifetime_seconds == 60
    refreshed = http.post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": seed.PUBLIC_CLIENT_ID,
        },
    )
    assert refreshed.status_code == 200


def test_control_api_sets_oauth_settings(http: httpx2.Client, server: SandboxServer) -> None:
    response = http.post(
        "/_sandbox/oauth",
        json={"autoApprove": True, "devicePollIntervalSeconds": 1, "deviceCodeLifetimeSeconds": 90},
    )
    assert response.status_code == 200
    assert response.json()["oauth"]["autoApprove"] is True
    assert server.state.auto_approve is True
    body = start_device(http)
    assert (body["interval"], body["expires_in"]) == (1, 90)
    status = http.get("/_sandbox/status").json()["oauth"]
    assert status["devicePollIntervalSeconds"] == 1
    assert status["deviceFlowEnabled"] is True
    http.post("/_sandbox/reset")
    assert http.get("/_sandbox/status").json()["oauth"]["autoApprove"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"autoApprove": "yes"},
        {"devicePollIntervalSeconds": -1},
        {"devicePollIntervalSeconds": True},
        {"x": 1},
    ],
)
def test_control_api_refuses_bad_oauth_settings(
    http: httpx2.Client, server: SandboxServer, body: dict[str, object]
) -> None:
    response = http.post("/_sandbox/oauth", json={"deviceCodeLifetimeSeconds": 30, **body})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSetting"
    assert server.state.device_code_lifetime_seconds == 600  # nothing applied


@pytest.mark.parametrize(
    ("requested", "matches"),
    [
        ("http://localhost:3301/signin-callback", True),
        ("http://localhost:1234/signin-callback", True),
        ("http://LOCALHOST:1234/signin-callback", True),
        ("http://localhost/signin-callback", True),
        ("http://localhost:1234/signin-callback/", False),
        ("http://localhost:1234/other", False),
        ("https://localhost:1234/signin-callback", False),
        ("http://127.0.0.1:1234/signin-callback", False),  # another host: its own registration
        ("http://localhost:1234/signin-callback#frag", False),
        ("http://localhost:1234/signin-callback?a=b", False),
        ("http://me@localhost:1234/signin-callback", False),
        ("http://localhost:70000/signin-callback", False),
        ("http://localhost.evil.example:1234/signin-callback", False),
    ],
)
def test_loopback_redirect_uris_match_on_any_port(requested: str, matches: bool) -> None:
    assert redirect_uri_matches("http://localhost:3301/signin-callback", requested) is matches


def test_non_loopback_redirect_uris_match_exactly() -> None:
    registered = "https://app.example/callback"
    assert redirect_uri_matches(registered, registered)
    assert not redirect_uri_matches(registered, "https://app.example:8443/callback")


def test_the_documented_callback_is_registered_for_the_public_client() -> None:
    client = next(c for c in seed.CLIENTS if c.client_id == seed.PUBLIC_CLIENT_ID)
    assert "http://localhost:3301/signin-callback" in client.redirect_uris
    assert client.secret is None


@pytest.mark.parametrize(
    ("typed", "code"),
    [("WDJB-MJHT", "WDJB-MJHT"), ("wdjbmjht", "WDJB-MJHT"), (" wdjb mjht ", "WDJB-MJHT"), ("WDJB-MJH", None)],
)
def test_user_codes_are_read_forgivingly(typed: str, code: str | None) -> None:
    assert normalize_user_code(typed) == code


def test_every_sandbox_user_signs_in_as_a_seeded_identity() -> None:
    identities = {i.id for i in seed.IDENTITIES}
    assert set(seed.USERS) == {"avery", "oscar", "vera", "hana"}
    assert set(seed.USERS.values()) == identities
    assert seed.AUTO_APPROVE_USER in seed.USERS
