"""The OAuth kernel: one client (PKCE by authlib), one reading of who signed in, one refresh-token rule."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from edfs_mcp.auth.oauth import Person, jwt_claims, kept_refresh_token, oauth_client, who_signed_in

pytestmark = pytest.mark.anyio

USERINFO = "https://ims.example/connect/userinfo"


def _jwt(claims: object) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.sig"


def _userinfo(body: object, status: int = 200) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(status, json=body)

    return httpx2.MockTransport(answer), seen


@pytest.mark.parametrize("token", ["opaque", "a.b", "a.!!!.c", "a.bm90IGpzb24.c", _jwt([1, 2])])
def test_anything_but_a_jwt_of_claims_has_no_claims(token: str) -> None:
    assert jwt_claims(token) == {}


def test_a_jwt_s_claims_are_read_unverified() -> None:
    assert jwt_claims(_jwt({"sub": "p-1", "exp": 10})) == {"sub": "p-1", "exp": 10}


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ({"refresh_token": "new"}, "new"),
        ({}, "old"),
        ({"refresh_token": ""}, "old"),
        ({"refresh_token": 7}, "old"),
    ],
)
def test_the_old_refresh_token_is_kept_when_none_comes_back(answer: dict[str, Any], kept: str) -> None:
    assert kept_refresh_token(answer, "old") == kept


def test_pkce_is_authlib_s256_and_the_secret_goes_where_asked() -> None:
    oauth = oauth_client("web-app", client_secret="s3cret", auth_method="client_secret_basic", scope="a b")
    url, _ = oauth.create_authorization_url(
        "https://ims.example/connect/authorize",
        redirect_uri="https://me/cb",
        state="st",
        code_verifier="v" * 48,
    )
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge"] == create_s256_code_challenge("v" * 48)
    assert query["code_challenge_method"] == "S256" and query["scope"] == "a b" and query["state"] == "st"
    assert oauth.token_endpoint_auth_method == "client_secret_basic"
    assert oauth_client("native-app").token_endpoint_auth_method == "none"


async def test_claims_naming_the_person_need_no_userinfo_call() -> None:
    transport, seen = _userinfo({"sub": "someone-else", "name": "X"})
    person = await who_signed_in(_jwt({"sub": "p-1", "name": "Avery"}), USERINFO, transport=transport)
    assert person == Person("p-1", "Avery") and not seen


async def test_userinfo_fills_what_the_claims_leave_out() -> None:
    transport, seen = _userinfo({"sub": "p-1", "email": "avery@example.com"})
    person = await who_signed_in(_jwt({"sub": "p-1"}), USERINFO, transport=transport)
    assert person == Person("p-1", "avery@example.com")
    assert seen[0].headers["authorization"].startswith("Bearer eyJ")
    transport, _ = _userinfo({"sub": "p-2", "preferred_username": "avery"})
    assert await who_signed_in("opaque", USERINFO, transport=transport) == Person("p-2", "avery")


async def test_a_userinfo_answer_about_someone_else_or_nobody_is_not_believed() -> None:
    transport, _ = _userinfo({"sub": "p-2", "name": "Mallory"})
    assert await who_signed_in(_jwt({"sub": "p-1"}), USERINFO, transport=transport) == Person("p-1", None)
    for body, status in (({"error": "invalid_token"}, 401), ([1], 200), ({"sub": 3}, 200)):
        transport, _ = _userinfo(body, status)
        assert await who_signed_in("opaque", USERINFO, transport=transport) == Person(None, None)
    assert await who_signed_in("opaque", None) == Person(None, None)
