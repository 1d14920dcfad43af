"""A broken or hostile authority's answers to the device flow end in a clear AuthError, never a crash.

The authority here is a stand-in on httpx2's MockTransport (the upstream, not our code): it answers
what no real authority should, and our device-flow client must say so in words.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest

from edfs_mcp.auth.device_flow import DeviceAuthorization, DeviceSignIn, start_device_authorization
from edfs_mcp.auth.oauth import oauth_client
from edfs_mcp.errors import AuthError

pytestmark = pytest.mark.anyio

AUTHORITY = "https://ims.example"
GOOD = {
    "device_code": "dc-123",
    "user_code": "BCDF-GHJK",
    "verification_uri": f"{AUTHORITY}/device",
    "expires_in": 600,
    "interval": 5,
}


def _answering(status: int, body: bytes) -> httpx2.MockTransport:
    return httpx2.MockTransport(lambda request: httpx2.Response(status, content=body))


async def _start(body: Any, status: int = 200) -> DeviceAuthorization:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx2.AsyncClient(transport=_answering(status, raw)) as http:
        return await start_device_authorization(http, f"{AUTHORITY}/device_authz", "native-app", "scope")


@pytest.mark.parametrize(
    "body",
    [
        {**GOOD, "verification_uri": "javascript:alert(1)"},
        {**GOOD, "verification_uri": None},
        {**GOOD, "user_code": {"code": "x"}},
        {**GOOD, "user_code": ""},
        {**GOOD, "device_code": 12345},
        {**GOOD, "device_code": "x" * 5000},
    ],
    ids=["javascript-uri", "no-uri", "dict-user-code", "empty-user-code", "number-device-code", "huge"],
)
async def test_a_device_answer_without_usable_codes_is_refused_in_words(body: dict[str, Any]) -> None:
    with pytest.raises(AuthError, match="missing user_code or verification_uri"):
        await _start(body)


@pytest.mark.parametrize(
    "raw",
    [b'{"error": ["unauthorized_client"]}', b'{"error": {"x": 1}}', b"<html>oops</html>", b"[1, 2]"],
)
async def test_an_error_answer_of_any_shape_is_an_auth_error(raw: bytes) -> None:
    with pytest.raises(AuthError, match="HTTP 400 \\(no error code\\)"):
        await _start(raw, status=400)


async def test_a_complete_uri_that_is_no_web_address_is_dropped() -> None:
    authorization = await _start({**GOOD, "verification_uri_complete": "file:///etc/passwd"})
    assert authorization.verification_uri_complete is None
    assert authorization.verification_uri == f"{AUTHORITY}/device"


@pytest.mark.parametrize(
    ("status", "raw", "words"),
    [
        (200, b"not json at all", "could not be read"),
        (200, b'{"token_type": "Bearer"}', "without an access token"),
        (200, b'{"access_token": 42}', "without an access token"),
        (400, b'{"error": ["authorization_pending"]}', "no error code"),
        (400, b'{"error": "x' + b"y" * 500 + b'"}', "no error code"),
    ],
)
async def test_a_token_answer_of_any_shape_ends_the_polling_in_words(
    status: int, raw: bytes, words: str
) -> None:
    authorization = DeviceAuthorization(
        "dc", "BCDF-GHJK", f"{AUTHORITY}/device", None, time.time() + 600, 5.0
    )
    oauth = oauth_client("native-app", scope="scope", transport=_answering(status, raw))
    pauses: list[float] = []

    async def no_wait(seconds: float) -> None:
        pauses.append(seconds)

    try:
        with pytest.raises(AuthError, match=words) as caught:
            await DeviceSignIn(oauth, f"{AUTHORITY}/token", authorization, sleep=no_wait).wait()
    finally:
        await oauth.aclose()
    assert pauses == [5.0] and "y" * 100 not in str(caught.value)
