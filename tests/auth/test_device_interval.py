"""The device flow's poll interval: whatever the authority sends, we poll every 1 to 60 s.

The rule is a pure function (checked on hostile values and with hypothesis); then a sandbox on
loopback answers hostile intervals for real and the token polls it receives are counted, with a
sleep that only moves a virtual clock (nothing really waits).
"""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edfs_mcp.auth.device_flow import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    DeviceSignIn,
    code_lifetime,
    poll_interval,
    slowed_down,
    start_device_authorization,
)
from edfs_mcp.auth.oauth import oauth_client
from edfs_mcp.errors import AuthError
from edfs_mcp.sandbox import SandboxServer, seed

SCOPE = "itwin-platform offline_access"


@pytest.mark.parametrize(
    ("sent", "used"),
    [
        (5, 5.0),
        (1, 1.0),
        (60, 60.0),
        (7.5, 7.5),
        ("8", 8.0),  # a number written as a string is still a number
        (0.001, MIN_INTERVAL),  # too fast: the floor
        (0.5, MIN_INTERVAL),
        (90, MAX_INTERVAL),  # too slow: the ceiling
        (3600, MAX_INTERVAL),
        (0, DEFAULT_INTERVAL),  # no wait at all is not a pace
        (-1, DEFAULT_INTERVAL),
        (-0.0, DEFAULT_INTERVAL),
        (math.nan, DEFAULT_INTERVAL),
        (math.inf, DEFAULT_INTERVAL),
        (-math.inf, DEFAULT_INTERVAL),
        (10**400, DEFAULT_INTERVAL),  # an integer too big for a float
        ("1e999", DEFAULT_INTERVAL),
        (1e9, DEFAULT_INTERVAL),  # absurd
        (3601, DEFAULT_INTERVAL),
        ("soon", DEFAULT_INTERVAL),
        ("", DEFAULT_INTERVAL),
        (None, DEFAULT_INTERVAL),
        (True, DEFAULT_INTERVAL),  # JSON true is no number of seconds
        ([5], DEFAULT_INTERVAL),
        ({"seconds": 5}, DEFAULT_INTERVAL),
    ],
)
def test_the_interval_sent_is_clamped_or_replaced_by_the_default(sent: Any, used: float) -> None:
    assert poll_interval(sent) == used


def test_slow_down_adds_five_seconds_up_to_the_ceiling() -> None:
    assert slowed_down(1.0) == 6.0
    assert slowed_down(5.0) == 10.0
    assert slowed_down(57.0) == MAX_INTERVAL
    assert slowed_down(MAX_INTERVAL) == MAX_INTERVAL
    assert slowed_down(math.nan) == DEFAULT_INTERVAL + 5


def test_the_code_lifetime_is_bounded() -> None:
    assert code_lifetime(600) == 600 and code_lifetime(120) == 120
    assert code_lifetime(10**9) == 3600  # at most an hour of polling
    for junk in (math.nan, -5, 0, "x", None, math.inf):
        assert code_lifetime(junk) == 600


@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.text(max_size=12),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    )
)
def test_any_answer_gives_an_interval_within_bounds(sent: Any) -> None:
    interval = poll_interval(sent)
    assert MIN_INTERVAL <= interval <= MAX_INTERVAL
    assert MIN_INTERVAL <= slowed_down(interval) <= MAX_INTERVAL


@given(st.floats(min_value=MIN_INTERVAL, max_value=MAX_INTERVAL))
def test_a_sane_interval_is_used_as_sent(sent: float) -> None:
    assert poll_interval(sent) == sent


# --- against the sandbox ---------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by the virtual sleep once the virtual time is up."""


class VirtualSleep:
    """Records every pause asked for and moves a virtual clock; stops the flow past ``until``."""

    def __init__(self, until: float) -> None:
        self.until = until
        self.now = 0.0
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        if self.now > self.until:
            raise _Stop


async def _poll_for(sandbox: SandboxServer, sleep: VirtualSleep) -> int:
    """Start a device sign-in at the sandbox and poll until the virtual time is up; the token polls made."""
    async with httpx2.AsyncClient(timeout=30) as http:
        authorization = await start_device_authorization(
            http, f"{sandbox.base_url}/as/device_authz.oauth2", seed.PUBLIC_CLIENT_ID, SCOPE
        )
    oauth = oauth_client(seed.PUBLIC_CLIENT_ID, scope=SCOPE)
    before = sandbox.state.token_requests[seed.DEVICE_CODE_GRANT]
    try:
        with pytest.raises(_Stop):  # nothing else escapes: no ValueError, no AuthError
            await DeviceSignIn(oauth, f"{sandbox.base_url}/connect/token", authorization, sleep=sleep).wait()
    finally:
        await oauth.aclose()
    return sandbox.state.token_requests[seed.DEVICE_CODE_GRANT] - before


HOSTILE = [0.001, 0, -1, -0.5, math.nan, math.inf, "soon", None, True, [1], 1e9, 10**30]


@pytest.mark.anyio
@pytest.mark.parametrize("answer", HOSTILE, ids=repr)
async def test_a_hostile_interval_from_the_authority_cannot_make_us_hammer_it(
    sandbox: SandboxServer, answer: object
) -> None:
    sandbox.state.oauth.device_interval_answer = answer
    sleep = VirtualSleep(until=6.0)
    polls = await _poll_for(sandbox, sleep)
    expected = 6 if answer == 0.001 else 1  # 0.001 s means "as fast as allowed" (1 s); junk: 5 s
    assert polls == expected, (answer, sleep.pauses)
    assert all(MIN_INTERVAL <= pause <= MAX_INTERVAL for pause in sleep.pauses)


@pytest.mark.anyio
async def test_the_sandbox_really_sends_the_hostile_interval(sandbox: SandboxServer) -> None:
    """The switch works: the answer carries the value as set (else the test above proves nothing)."""
    sandbox.state.oauth.device_interval_answer = -1
    async with httpx2.AsyncClient(timeout=30) as http:
        body = (
            await http.post(
                f"{sandbox.base_url}/as/device_authz.oauth2", data={"client_id": seed.PUBLIC_CLIENT_ID}
            )
        ).json()
    assert body["interval"] == -1


@pytest.mark.anyio
async def test_slow_down_slows_us_to_at_most_a_minute(sandbox: SandboxServer) -> None:
    """Polls that arrive faster than the code's interval (really: nothing waits) get slow_down,
    every one of them: each adds 5 s, and the pause stops growing at 60 s."""
    sandbox.state.device_poll_interval_seconds = 1
    sleep = VirtualSleep(until=400.0)
    polls = await _poll_for(sandbox, sleep)
    # The first poll is pending; from the second on, each is too soon by the sandbox's clock.
    expected = [1.0, 1.0, *(min(1.0 + 5 * n, MAX_INTERVAL) for n in range(1, len(sleep.pauses) - 1))]
    assert sleep.pauses == expected
    assert max(sleep.pauses) == MAX_INTERVAL and polls == len(sleep.pauses) - 1


@pytest.mark.anyio
async def test_a_denied_sign_in_still_ends_with_a_clear_error(sandbox: SandboxServer) -> None:
    """The clamp does not swallow the authority's real answers."""
    sandbox.state.oauth.device_interval_answer = "soon"
    async with httpx2.AsyncClient(timeout=30) as http:
        authorization = await start_device_authorization(
            http, f"{sandbox.base_url}/as/device_authz.oauth2", seed.PUBLIC_CLIENT_ID, SCOPE
        )
        denied = await http.post(
            f"{sandbox.base_url}/device", data={"user_code": authorization.user_code, "action": "deny"}
        )
    assert denied.status_code == 200 and authorization.interval == DEFAULT_INTERVAL
    oauth = oauth_client(seed.PUBLIC_CLIENT_ID, scope=SCOPE)
    try:
        with pytest.raises(AuthError, match="denied"):
            await DeviceSignIn(
                oauth, f"{sandbox.base_url}/connect/token", authorization, sleep=VirtualSleep(until=60)
            ).wait()
    finally:
        await oauth.aclose()
