"""The device authorization grant (RFC 8628): endpoint, verification page, polling rules."""

from __future__ import annotations

import re

import httpx2

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api
from tests.sandbox.oauth_helpers import (
    FakeClock,
    claims_of,
    oauth_error,
    page_text,
    poll,
    start_device,
    verify_page,
)

USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
BRIDGE_TIMERS = f"/edfs/itwins/{seed.ITWIN_NORTHGATE_BRIDGE}/timers"
HARBOR_TIMERS = f"/edfs/itwins/{seed.ITWIN_HARBOR_TUNNEL}/timers"


def test_device_authorization_response_has_every_field(http: httpx2.Client, server: SandboxServer) -> None:
    body = start_device(http)
    assert USER_CODE.fullmatch(body["user_code"])
    assert len(body["device_code"]) >= 40
    assert body["verification_uri"] == f"{server.base_url}/device"
    assert body["verification_uri_complete"] == f"{server.base_url}/device?user_code={body['user_code']}"
    assert body["expires_in"] == 600
    assert body["interval"] == 5


def test_lifetime_and_interval_come_from_the_state(http: httpx2.Client, server: SandboxServer) -> None:
    server.state.device_code_lifetime_seconds = 120
    server.state.device_poll_interval_seconds = 1
    body = start_device(http)
    assert (body["expires_in"], body["interval"]) == (120, 1)


def test_user_codes_are_distinct(http: httpx2.Client) -> None:
    codes = {start_device(http)["user_code"] for _ in range(20)}
    assert len(codes) == 20


def test_pending_until_approved_in_the_browser_then_tokens_for_that_person(
    http: httpx2.Client, server: SandboxServer, clock: FakeClock
) -> None:
    body = start_device(http)
    first = poll(http, body["device_code"])
    assert first.status_code == 400
    assert oauth_error(first) == "authorization_pending"

    form = http.get("/device", params={"user_code": body["user_code"]})
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert body["user_code"] in form.text
    assert seed.PUBLIC_CLIENT_ID in page_text(form)
    assert 'name="password"' in form.text

    # lower case and without the dash: what a person might type
    approved = verify_page(http, body["user_code"].replace("-", "").lower(), username=seed.USER_OPERATOR)
    assert approved.status_code == 200
    assert "Signed in as Oscar Operator (oscar); you can close this tab." in page_text(approved)

    clock.advance(5)
    token = poll(http, body["device_code"])
    assert token.status_code == 200, token.text
    tokens = token.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "itwin-platform offline_access"
    assert tokens["refresh_token"]
    claims = claims_of(http, tokens["access_token"])
    assert claims["sub"] == seed.IDENTITY_OPERATOR
    assert claims["name"] == "Oscar Operator"
    assert claims["client_id"] == seed.PUBLIC_CLIENT_ID
    assert server.state.token_requests[seed.DEVICE_CODE_GRANT] == 2


def test_a_user_token_gets_that_users_permissions(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http, scope="itwin-platform")
    assert verify_page(http, body["user_code"], username=seed.USER_OPERATOR).status_code == 200
    token = poll(http, body["device_code"]).json()
    assert "refresh_token" not in token  # no offline_access asked for
    oscar = Api(http, token["access_token"])
    assert oscar.get(BRIDGE_TIMERS).status_code == 200
    assert oscar.get(HARBOR_TIMERS).status_code == 403


def test_polling_faster_than_the_interval_is_slow_down_and_adds_five_seconds(
    http: httpx2.Client, clock: FakeClock
) -> None:
    device_code = start_device(http)["device_code"]  # interval 5
    assert oauth_error(poll(http, device_code)) == "authorization_pending"
    clock.advance(1)
    first = poll(http, device_code)
    assert oauth_error(first) == "slow_down"
    assert "10 seconds" in first.json()["error_description"]
    clock.advance(6)  # past the old interval, short of the new one
    second = poll(http, device_code)
    assert oauth_error(second) == "slow_down"
    assert "15 seconds" in second.json()["error_description"]
    clock.advance(15)
    assert oauth_error(poll(http, device_code)) == "authorization_pending"


def test_polling_at_the_interval_is_never_slow_down(http: httpx2.Client, clock: FakeClock) -> None:
    device_code = start_device(http)["device_code"]
    for _ in range(4):
        assert oauth_error(poll(http, device_code)) == "authorization_pending"
        clock.advance(5)


def test_interval_zero_allows_back_to_back_polls(http: httpx2.Client, server: SandboxServer) -> None:
    server.state.device_poll_interval_seconds = 0
    device_code = start_device(http)["device_code"]
    assert [oauth_error(poll(http, device_code)) for _ in range(3)] == ["authorization_pending"] * 3


def test_deny_gives_access_denied(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    denied = verify_page(http, body["user_code"], action="deny", username="", password="")
    assert denied.status_code == 200
    assert "Denied" in page_text(denied)
    response = poll(http, body["device_code"])
    assert response.status_code == 400
    assert oauth_error(response) == "access_denied"
    # a decided code cannot be approved afterwards
    assert verify_page(http, body["user_code"]).status_code == 400
    assert oauth_error(poll(http, body["device_code"])) == "access_denied"


def test_expired_code_is_expired_token_and_the_page_refuses_it(
    http: httpx2.Client, server: SandboxServer, clock: FakeClock
) -> None:
    server.state.device_code_lifetime_seconds = 30
    body = start_device(http)
    clock.advance(31)
    response = poll(http, body["device_code"])
    assert response.status_code == 400
    assert oauth_error(response) == "expired_token"
    late = verify_page(http, body["user_code"])
    assert late.status_code == 400
    assert "Unknown or expired code" in page_text(late)


def test_approved_but_expired_before_exchange_is_expired_token(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    assert verify_page(http, body["user_code"]).status_code == 200
    clock.advance(601)
    assert oauth_error(poll(http, body["device_code"])) == "expired_token"


def test_a_device_code_is_exchanged_once(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    assert verify_page(http, body["user_code"]).status_code == 200
    assert poll(http, body["device_code"]).status_code == 200
    clock.advance(5)
    again = poll(http, body["device_code"])
    assert again.status_code == 400
    assert oauth_error(again) == "invalid_grant"


def test_unknown_device_code_is_invalid_grant(http: httpx2.Client) -> None:
    response = poll(http, "not-a-device-code")
    assert response.status_code == 400
    assert oauth_error(response) == "invalid_grant"


def test_missing_device_code_is_invalid_request(http: httpx2.Client) -> None:
    response = http.post(
        "/connect/token", data={"grant_type": seed.DEVICE_CODE_GRANT, "client_id": seed.PUBLIC_CLIENT_ID}
    )
    assert oauth_error(response) == "invalid_request"


def test_wrong_password_keeps_the_code_pending(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    wrong = verify_page(http, body["user_code"], password="guess")
    assert wrong.status_code == 401
    assert "Wrong username or password." in page_text(wrong)
    assert "guess" not in wrong.text
    assert oauth_error(poll(http, body["device_code"])) == "authorization_pending"
    unknown_user = verify_page(http, body["user_code"], username="mallory")
    assert unknown_user.status_code == 401


def test_unknown_code_on_the_page_says_so(http: httpx2.Client) -> None:
    response = verify_page(http, "BCDF-GHJK")
    assert response.status_code == 400
    assert "Unknown or expired code" in page_text(response)
    assert verify_page(http, "not a code").status_code == 400


def test_the_page_needs_approve_or_deny(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    response = verify_page(http, body["user_code"], action="maybe")
    assert response.status_code == 400
    assert "Choose Approve or Deny." in page_text(response)
    assert oauth_error(poll(http, body["device_code"])) == "authorization_pending"


def test_a_cross_site_post_is_refused(http: httpx2.Client, server: SandboxServer, clock: FakeClock) -> None:
    body = start_device(http)
    forged = verify_page(http, body["user_code"], headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert oauth_error(poll(http, body["device_code"])) == "authorization_pending"
    same = verify_page(http, body["user_code"], headers={"Origin": server.base_url})
    assert same.status_code == 200


def test_pages_may_not_be_framed_or_cached(http: httpx2.Client) -> None:
    response = http.get("/device")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_approval_needs_post(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    query = {"user_code": body["user_code"], "username": "avery", "password": seed.SANDBOX_PASSWORD}
    assert http.get("/device", params={**query, "action": "approve"}).status_code == 200  # just the form
    assert oauth_error(poll(http, body["device_code"])) == "authorization_pending"


def test_service_clients_cannot_start_a_device_flow(http: httpx2.Client) -> None:
    response = http.post(
        "/as/device_authz.oauth2",
        data={"client_id": seed.CLIENT_ADMIN_ID, "client_secret": seed.CLIENT_ADMIN_SECRET},
    )
    assert response.status_code == 400
    assert oauth_error(response) == "unauthorized_client"


def test_unknown_client_and_unknown_scope_are_refused(http: httpx2.Client) -> None:
    unknown = http.post("/as/device_authz.oauth2", data={"client_id": "nobody"})
    assert unknown.status_code == 401
    assert oauth_error(unknown) == "invalid_client"
    scope = http.post(
        "/as/device_authz.oauth2", data={"client_id": seed.PUBLIC_CLIENT_ID, "scope": "admin:all"}
    )
    assert scope.status_code == 400
    assert oauth_error(scope) == "invalid_scope"


def test_another_client_cannot_redeem_the_code(http: httpx2.Client, clock: FakeClock) -> None:
    body = start_device(http)
    assert verify_page(http, body["user_code"]).status_code == 200
    stolen = http.post(
        "/connect/token",
        data={
            "grant_type": seed.DEVICE_CODE_GRANT,
            "device_code": body["device_code"],
            "client_id": seed.WEB_CLIENT_ID,
            "client_secret": seed.WEB_CLIENT_SECRET,
        },
    )
    assert stolen.status_code == 400
    assert oauth_error(stolen) == "unauthorized_client"
    assert poll(http, body["device_code"]).status_code == 200


def test_switched_off_device_flow_is_not_found_and_not_advertised(
    http: httpx2.Client, server: SandboxServer
) -> None:
    server.state.device_flow_enabled = False
    response = http.post("/as/device_authz.oauth2", data={"client_id": seed.PUBLIC_CLIENT_ID})
    assert response.status_code == 404
    doc = http.get("/.well-known/openid-configuration").json()
    assert "device_authorization_endpoint" not in doc
    assert seed.DEVICE_CODE_GRANT not in doc["grant_types_supported"]


def test_auto_approve_answers_pending_once_then_tokens_for_the_auto_approve_user(
    http: httpx2.Client, server: SandboxServer, clock: FakeClock
) -> None:
    server.state.auto_approve = True
    device_code = start_device(http)["device_code"]
    assert oauth_error(poll(http, device_code)) == "authorization_pending"
    clock.advance(5)
    token = poll(http, device_code)
    assert token.status_code == 200
    assert claims_of(http, token.json()["access_token"])["sub"] == seed.USERS[seed.AUTO_APPROVE_USER]
    assert seed.USERS[seed.AUTO_APPROVE_USER] == seed.IDENTITY_ADMIN


def test_auto_approve_does_not_approve_an_expired_code(
    http: httpx2.Client, server: SandboxServer, clock: FakeClock
) -> None:
    server.state.auto_approve = True
    device_code = start_device(http)["device_code"]
    clock.advance(601)
    assert oauth_error(poll(http, device_code)) == "expired_token"
    assert oauth_error(poll(http, device_code)) == "expired_token"


def test_a_device_form_over_64_kib_is_not_read(http: httpx2.Client, server: SandboxServer) -> None:
    body = start_device(http)
    form = {"user_code": body["user_code"], "username": seed.USER_OPERATOR, "action": "approve"}
    padded = {**form, "password": seed.SANDBOX_PASSWORD, "pad": "x" * (70 * 1024)}
    refused = http.post("/device", data=padded)
    assert refused.status_code == 400 and "Choose Approve or Deny" in page_text(refused)
    assert server.state.oauth.pending_device(body["user_code"]) is not None  # nothing was decided
