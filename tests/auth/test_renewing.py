"""The renewing base every token source shares, on a fake clock, and the service app's source
against the sandbox in-process (``httpx2.ASGITransport``): renewal at the leeway, one renewal for
many callers, a refused token renewed, the lifetime an authority sends read one way.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from edfs_mcp.auth import ClientCredentialsSource, StaticTokenSource
from edfs_mcp.auth.refresh import stored_from_response
from edfs_mcp.auth.renewing import (
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    REFRESH_LEEWAY_SECONDS,
    Renewal,
    RenewingTokenSource,
    token_lifetime,
)
from edfs_mcp.config import token_endpoint_of
from edfs_mcp.errors import AuthError
from edfs_mcp.sandbox import SandboxState, build_app, seed

pytestmark = pytest.mark.anyio

BASE = "http://sandbox.invalid"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Numbered(RenewingTokenSource):
    """Hands out t1, t2, ... each living ``lifetime`` seconds; ``gate`` holds a renewal in flight."""

    def __init__(self, clock: FakeClock, lifetime: float = 300.0) -> None:
        super().__init__(now=clock)
        self.lifetime = lifetime
        self.gate: anyio.Event | None = None
        self.renewing = anyio.Event()
        self.renewals = 0  # times the base asked for a new token

    @property
    def description(self) -> str:
        return "numbered"

    async def _renew(self) -> Renewal:
        self.renewals += 1
        self.renewing.set()
        if self.gate is not None:
            await self.gate.wait()
        return Renewal(f"t{self.renewals}", self._now() + self.lifetime)


# --- the base ------------------------------------------------------------------------------------


async def test_the_token_is_kept_until_the_leeway_then_renewed_once() -> None:
    clock = FakeClock()
    source = Numbered(clock)
    assert source.expires_at == 0.0
    assert await source.get_token() == "t1"
    expires = source.expires_at
    assert expires == clock.now + 300
    clock.now = expires - REFRESH_LEEWAY_SECONDS - 0.001
    assert await source.get_token() == "t1" and source.renewals == 1
    clock.now = expires - REFRESH_LEEWAY_SECONDS  # exactly the leeway left: renewed
    assert await source.get_token() == "t2" and source.renewals == 2
    assert await source.get_token() == "t2" and source.renewals == 2


async def test_a_token_shorter_than_the_leeway_is_handed_out_and_renewed_at_every_call() -> None:
    source = Numbered(FakeClock(), lifetime=30)
    assert [await source.get_token() for _ in range(3)] == ["t1", "t2", "t3"]


async def test_twenty_concurrent_callers_wait_for_one_renewal() -> None:
    source = Numbered(FakeClock())
    source.gate = anyio.Event()
    got: list[str] = []

    async def one() -> None:
        got.append(await source.get_token())

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(one)
        await source.renewing.wait()
        await anyio.wait_all_tasks_blocked()  # the other 19 wait on the lock
        assert got == [] and source.renewals == 1
        source.gate.set()
    assert got == ["t1"] * 20 and source.renewals == 1


async def test_a_refused_token_is_renewed_and_an_older_refusal_changes_nothing() -> None:
    source = Numbered(FakeClock())
    first = await source.get_token()
    assert await source.reject(first) is True
    second = await source.get_token()
    assert second == "t2" and source.renewals == 2
    assert await source.reject(first) is True  # a late 401 for the old token: keep the new one
    assert await source.get_token() == second and source.renewals == 2


async def test_callers_waiting_on_a_renewal_do_not_renew_again_after_a_refusal() -> None:
    """A 401 seen by many calls at once: each rejects the same token, one renewal follows."""
    source = Numbered(FakeClock())
    token = await source.get_token()
    got: list[str] = []

    async def refused_then_retry() -> None:
        await source.reject(token)
        got.append(await source.get_token())

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(refused_then_retry)
    assert got == ["t2"] * 20 and source.renewals == 2


async def test_a_failed_renewal_leaves_the_next_call_to_try_again() -> None:
    class Failing(Numbered):
        fail = True

        async def _renew(self) -> Renewal:
            if self.fail:
                self.renewals += 1  # an attempt all the same
                raise AuthError("the authority is down")
            return await super()._renew()

    source = Failing(FakeClock())
    with pytest.raises(AuthError, match="down"):
        await source.get_token()
    source.fail = False
    assert await source.get_token() == "t2"  # t1 was the failed attempt


async def test_a_static_token_never_expires_and_a_refusal_is_final() -> None:
    clock = FakeClock()
    source = StaticTokenSource("given", now=clock)
    assert await source.get_token() == "given"
    clock.now = 1e15  # whatever the time: nothing to renew it with
    assert await source.get_token() == "given"
    assert await source.reject("given") is False  # the API client does not retry
    assert await source.get_token() == "given" and source.expires_at == math.inf
    await source.aclose()


# --- the lifetime an authority sends -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        (3600, 3600.0),
        (120, 120.0),
        (0.5, 0.5),
        (MAX_LIFETIME, MAX_LIFETIME),
        (MAX_LIFETIME + 1, DEFAULT_LIFETIME),  # absurd: not believed
        (10**400, DEFAULT_LIFETIME),  # too big for a float
        (0, DEFAULT_LIFETIME),
        (-5, DEFAULT_LIFETIME),
        (math.nan, DEFAULT_LIFETIME),
        (math.inf, DEFAULT_LIFETIME),
        (True, DEFAULT_LIFETIME),
        ("3600", DEFAULT_LIFETIME),
        (None, DEFAULT_LIFETIME),
        ([60], DEFAULT_LIFETIME),
    ],
)
def test_the_lifetime_sent_is_used_within_a_day_else_an_hour(expires_in: Any, lifetime: float) -> None:
    assert token_lifetime(expires_in) == lifetime
    # A person's stored tokens read it the same way.
    stored = stored_from_response({"access_token": "a", "expires_in": expires_in}, "device", now=100.0)
    assert stored.expires_at == 100.0 + lifetime


# --- a service app against the sandbox, in-process -----------------------------------------------


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded()


@pytest.fixture
async def transport(state: SandboxState) -> AsyncIterator[httpx2.ASGITransport]:
    transport = httpx2.ASGITransport(app=build_app(state))
    yield transport
    await transport.aclose()


def _service(
    transport: httpx2.AsyncBaseTransport, clock: FakeClock, secret: str = seed.CLIENT_ADMIN_SECRET
) -> ClientCredentialsSource:
    return ClientCredentialsSource(
        token_endpoint=token_endpoint_of(BASE),
        client_id=seed.CLIENT_ADMIN_ID,
        client_secret=secret,
        scope="itwin-platform",
        transport=transport,
        now=clock,
    )


def _grants(state: SandboxState) -> int:
    return state.token_requests["client_credentials"]


async def _api_status(transport: httpx2.AsyncBaseTransport, token: str) -> int:
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as http:
        response = await http.get(
            f"/edfs/itwins/{seed.ITWIN_NORTHGATE_BRIDGE}/timers", headers={"Authorization": f"Bearer {token}"}
        )
    return response.status_code


async def test_client_credentials_are_asked_for_once_and_renewed_at_the_leeway(
    state: SandboxState, transport: httpx2.ASGITransport
) -> None:
    state.token_lifetime_seconds = 600
    clock = FakeClock()
    source = _service(transport, clock)
    try:
        token = await source.get_token()
        assert await _api_status(transport, token) == 200
        assert source.expires_at == clock.now + 600 and _grants(state) == 1
        clock.now += 600 - REFRESH_LEEWAY_SECONDS - 1
        assert await source.get_token() == token and _grants(state) == 1
        clock.now += 1
        renewed = await source.get_token()
        assert renewed != token and _grants(state) == 2
        assert await _api_status(transport, renewed) == 200
    finally:
        await source.aclose()


async def test_twenty_concurrent_first_calls_make_one_client_credentials_request(
    state: SandboxState, transport: httpx2.ASGITransport
) -> None:
    source = _service(transport, FakeClock())
    got: list[str] = []

    async def one() -> None:
        got.append(await source.get_token())

    try:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    finally:
        await source.aclose()
    assert len(got) == 20 and len(set(got)) == 1 and _grants(state) == 1


async def test_a_token_the_api_refuses_is_replaced(
    state: SandboxState, transport: httpx2.ASGITransport
) -> None:
    source = _service(transport, FakeClock())
    try:
        token = await source.get_token()
        state.expire_issued_tokens()  # revoked at the authority before its expiry
        assert await _api_status(transport, token) == 401
        assert await source.reject(token) is True
        renewed = await source.get_token()
        assert renewed != token and _grants(state) == 2
        assert await _api_status(transport, renewed) == 200
    finally:
        await source.aclose()


async def test_a_wrong_secret_is_an_auth_error_in_words(transport: httpx2.ASGITransport) -> None:
    source = _service(transport, FakeClock(), secret="not-the-secret")
    try:
        with pytest.raises(AuthError, match="refused the client credentials") as caught:
            await source.get_token()
    finally:
        await source.aclose()
    assert "not-the-secret" not in str(caught.value) and "EDFS_MCP_CLIENT_SECRET" in str(caught.value)
