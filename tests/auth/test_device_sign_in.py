"""The one device sign-in orchestrator (``DeviceSignIn``), against the sandbox in-process
(``httpx2.ASGITransport``) on one fake clock the sandbox shares: nothing really waits.

Waiting to the end (``edfs-mcp login``): the pauses asked of the injected sleep are recorded, for
``authorization_pending``, ``slow_down``, ``expired_token`` and ``access_denied``. Advanced by the
calls that need a token (a person's ``UserTokenSource`` in a server): one poll per call when one is
due, never faster, and the first call after the approval gets the token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import anyio
import httpx2
import pytest

from edfs_mcp.auth.device_flow import DeviceAuthorization, DeviceSignIn
from edfs_mcp.auth.login import SignInSetup, login
from edfs_mcp.auth.oauth import oauth_client
from edfs_mcp.auth.store import MemoryTokenStore, token_key
from edfs_mcp.auth.user import UserTokenSource
from edfs_mcp.config import Settings, token_endpoint_of
from edfs_mcp.errors import AuthError, SignInRequired
from edfs_mcp.sandbox import SandboxState, build_app, seed
from edfs_mcp.sandbox.oauth_store import digest
from tests.auth.helpers import SCOPE, endpoints_at

pytestmark = pytest.mark.anyio

BASE = "http://sandbox.invalid"
DEVICE_ENDPOINT = f"{BASE}/as/device_authz.oauth2"
INTERVAL = 5.0  # the sandbox's default


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Moves the fake clock instead of waiting; runs ``on_pause`` (the person's doing) after each."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []
        self.on_pause: Any = None

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.now += seconds
        if self.on_pause is not None:
            await self.on_pause(len(self.pauses))


@dataclass
class Sandbox:
    state: SandboxState
    transport: httpx2.ASGITransport
    clock: FakeClock

    def polls(self) -> int:
        return self.state.token_requests[seed.DEVICE_CODE_GRANT]

    async def decide(self, user_code: str, action: str = "approve") -> None:
        data = {"user_code": user_code, "action": action}
        if action == "approve":
            data |= {"username": seed.USER_OPERATOR, "password": seed.SANDBOX_PASSWORD}
        async with httpx2.AsyncClient(transport=self.transport, base_url=BASE) as http:
            page = await http.post("/device", data=data)
        assert page.status_code == 200, page.text


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    state = SandboxState.seeded()
    clock = FakeClock()
    state.oauth.clock = clock  # the authority's pace and expiry on our clock
    transport = httpx2.ASGITransport(app=build_app(state))
    yield Sandbox(state, transport, clock)
    await transport.aclose()


async def _start(sandbox: Sandbox, sleep: RecordingSleep, oauth: Any) -> DeviceSignIn:
    shown: list[DeviceAuthorization] = []
    sign_in = await DeviceSignIn.start(
        oauth,
        device_endpoint=DEVICE_ENDPOINT,
        token_endpoint=token_endpoint_of(BASE),
        client_id=seed.PUBLIC_CLIENT_ID,
        scope=SCOPE,
        show=shown.append,
        transport=sandbox.transport,
        now=sandbox.clock,
        sleep=sleep,
    )
    assert shown == [sign_in.authorization]  # the prompt went to the callback, once
    return sign_in


@pytest.fixture
async def oauth(sandbox: Sandbox) -> AsyncIterator[Any]:
    client = oauth_client(seed.PUBLIC_CLIENT_ID, scope=SCOPE, transport=sandbox.transport)
    yield client
    await client.aclose()


# --- waiting to the end ----------------------------------------------------------------------------


async def test_pending_polls_then_the_token_once_approved(sandbox: Sandbox, oauth: Any) -> None:
    sleep = RecordingSleep(sandbox.clock)
    sign_in = await _start(sandbox, sleep, oauth)

    async def approve_after_the_third(pauses: int) -> None:
        if pauses == 3:
            await sandbox.decide(sign_in.authorization.user_code)

    sleep.on_pause = approve_after_the_third
    token = await sign_in.wait()
    assert token["access_token"] and token["refresh_token"]
    # Two authorization_pending answers, then the token: every pause the interval sent, no slow_down.
    assert sleep.pauses == [INTERVAL] * 3 and sandbox.polls() == 3


async def test_slow_down_lengthens_every_later_pause_by_five_seconds(sandbox: Sandbox, oauth: Any) -> None:
    """The authority holds us to 10 s although it said 5: each poll it finds too early is
    answered slow_down (and, at the sandbox, makes it 5 s stricter still)."""
    sleep = RecordingSleep(sandbox.clock)
    sign_in = await _start(sandbox, sleep, oauth)
    sandbox.state.oauth.slow_down(digest(sign_in.authorization.device_code))

    async def approve_before_the_fourth_poll(pauses: int) -> None:
        if pauses == 4:
            await sandbox.decide(sign_in.authorization.user_code)

    sleep.on_pause = approve_before_the_fourth_poll
    await sign_in.wait()
    # 5: the first poll, pending; 5: too early (< 10), slow_down; 10: too early (< 15), slow_down;
    # 15: approved by then, the token.
    assert sleep.pauses == [5.0, 5.0, 10.0, 15.0] and sandbox.polls() == 4 and sign_in.interval == 15.0


async def test_access_denied_ends_the_wait_in_words(sandbox: Sandbox, oauth: Any) -> None:
    sleep = RecordingSleep(sandbox.clock)
    sign_in = await _start(sandbox, sleep, oauth)
    await sandbox.decide(sign_in.authorization.user_code, "deny")
    with pytest.raises(AuthError, match="denied in the browser"):
        await sign_in.wait()
    assert sleep.pauses == [INTERVAL] and sandbox.polls() == 1


async def test_expired_token_from_the_authority_ends_the_wait(sandbox: Sandbox, oauth: Any) -> None:
    """The authority's code expires first (we were told a longer life): its expired_token ends it."""
    sandbox.state.device_code_lifetime_seconds = 12
    sleep = RecordingSleep(sandbox.clock)
    sign_in = await _start(sandbox, sleep, oauth)
    sign_in.authorization = replace(sign_in.authorization, expires_at=sandbox.clock.now + 600)
    with pytest.raises(AuthError, match="expired before it was used"):
        await sign_in.wait()
    assert sleep.pauses == [INTERVAL] * 3 and sandbox.polls() == 3  # at 5, 10 pending; at 15 expired


async def test_a_code_past_its_expiry_is_not_polled(sandbox: Sandbox, oauth: Any) -> None:
    sandbox.state.device_code_lifetime_seconds = 12
    sleep = RecordingSleep(sandbox.clock)
    sign_in = await _start(sandbox, sleep, oauth)
    with pytest.raises(AuthError, match="expired before it was used"):
        await sign_in.wait()
    assert sleep.pauses == [INTERVAL] * 3 and sandbox.polls() == 2  # the third is not sent


async def test_the_cli_login_runs_the_same_orchestrator(sandbox: Sandbox) -> None:
    """``edfs-mcp login``'s device path, in-process: shown once, waited for on the injected sleep."""
    sandbox.state.auto_approve = True  # the first poll approves, the second gets the token
    settings = Settings(client_id=seed.PUBLIC_CLIENT_ID, authority=BASE, token_store="memory")
    setup = replace(
        SignInSetup.from_settings(settings, sandbox.transport),
        now=sandbox.clock,
        sleep=RecordingSleep(sandbox.clock),
    )

    class Presenter:
        def __init__(self) -> None:
            self.codes: list[str] = []

        def device_code(self, authorization: DeviceAuthorization) -> None:
            self.codes.append(authorization.user_code)

        def browser_url(self, url: str) -> None:
            raise AssertionError("the device flow was expected")

        def notice(self, text: str) -> None:
            raise AssertionError(text)

    presenter = Presenter()
    start = sandbox.clock.now
    tokens = await login(setup, presenter)
    assert len(presenter.codes) == 1 and tokens.flow == "device" and tokens.refresh_token
    assert tokens.name == "Avery Admin"
    assert tokens.expires_at == start + 2 * INTERVAL + sandbox.state.token_lifetime_seconds
    assert isinstance(setup.sleep, RecordingSleep) and setup.sleep.pauses == [INTERVAL, INTERVAL]
    assert setup.store.load(setup.key) == tokens


# --- advanced by the calls that need a token (in a server) -------------------------------------------


def _source(
    sandbox: Sandbox, store: MemoryTokenStore, *, in_session: bool = True, device: bool = True
) -> UserTokenSource:
    discovered = endpoints_at(BASE, DEVICE_ENDPOINT if device else None)
    return UserTokenSource(
        client_id=seed.PUBLIC_CLIENT_ID,
        scope=SCOPE,
        key=token_key(BASE, seed.PUBLIC_CLIENT_ID),
        store=store,
        endpoints=discovered,
        transport=sandbox.transport,
        sign_in_in_session=in_session,
        refresh_in_own_process=False,
        now=sandbox.clock,
    )


async def _code(source: UserTokenSource) -> str:
    """The user code the next call asks the person to enter."""
    with pytest.raises(SignInRequired, match="Not signed in to Bentley") as caught:
        await source.get_token()
    assert caught.value.prompt is not None
    return caught.value.prompt.user_code


async def test_the_calls_advance_the_sign_in_and_the_first_after_approval_gets_the_token(
    sandbox: Sandbox,
) -> None:
    store = MemoryTokenStore()
    source = _source(sandbox, store)
    try:
        code = await _code(source)
        assert await _code(source) == code and sandbox.polls() == 0  # one sign-in, not polled yet
        sandbox.clock.now += INTERVAL
        assert await _code(source) == code and sandbox.polls() == 1  # authorization_pending
        await sandbox.decide(code)
        sandbox.clock.now += INTERVAL - 1
        assert await _code(source) == code and sandbox.polls() == 1  # not due: no poll
        sandbox.clock.now += 1
        token = await source.get_token()
        assert sandbox.polls() == 2 and source.pending is None
        saved = store.load(token_key(BASE, seed.PUBLIC_CLIENT_ID))
        assert saved is not None and saved.access_token == token and saved.flow == "device"
        assert saved.expires_at == sandbox.clock.now + sandbox.state.token_lifetime_seconds
        assert await source.get_token() == token and sandbox.polls() == 2
    finally:
        await source.aclose()


async def test_twenty_calls_when_a_poll_is_due_make_one_poll(sandbox: Sandbox) -> None:
    source = _source(sandbox, MemoryTokenStore())
    refused: list[str] = []

    async def one() -> None:
        try:
            await source.get_token()
        except SignInRequired as exc:
            refused.append(exc.prompt.user_code if exc.prompt else "no prompt")

    try:
        code = await _code(source)
        sandbox.clock.now += INTERVAL
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    finally:
        await source.aclose()
    assert refused == [code] * 20 and sandbox.polls() == 1


async def test_slow_down_is_kept_by_the_calls_too(sandbox: Sandbox) -> None:
    source = _source(sandbox, MemoryTokenStore())
    try:
        code = await _code(source)
        pending = source.pending
        assert pending is not None
        sandbox.state.oauth.slow_down(digest(pending.authorization.device_code))  # it wants 10 s
        sandbox.clock.now += 5
        assert await _code(source) == code and sandbox.polls() == 1  # the first poll: pending
        sandbox.clock.now += 5
        assert await _code(source) == code and sandbox.polls() == 2  # too early: slow_down
        assert pending.interval == 10.0
        sandbox.clock.now += 5
        assert await _code(source) == code and sandbox.polls() == 2  # 5 s is not 10: no poll
        await sandbox.decide(code)
        sandbox.clock.now += 5
        assert await source.get_token() and sandbox.polls() == 3
    finally:
        await source.aclose()


async def test_a_denied_sign_in_is_followed_by_a_new_one(sandbox: Sandbox) -> None:
    source = _source(sandbox, MemoryTokenStore())
    try:
        code = await _code(source)
        await sandbox.decide(code, "deny")
        sandbox.clock.now += INTERVAL
        again = await _code(source)  # access_denied at this poll, and a new code at once
        assert again != code and sandbox.polls() == 1
    finally:
        await source.aclose()


async def test_an_expired_sign_in_is_followed_by_a_new_one_without_polling_it(sandbox: Sandbox) -> None:
    sandbox.state.device_code_lifetime_seconds = 30
    source = _source(sandbox, MemoryTokenStore())
    try:
        code = await _code(source)
        sandbox.clock.now += 30
        assert await _code(source) != code and sandbox.polls() == 0
    finally:
        await source.aclose()


async def test_no_sign_in_is_started_when_not_allowed_or_not_offered(sandbox: Sandbox) -> None:
    for source, words in [
        (_source(sandbox, MemoryTokenStore(), in_session=False), "Run `edfs-mcp login` in a terminal"),
        (_source(sandbox, MemoryTokenStore(), device=False), "could not be started here"),
    ]:
        try:
            with pytest.raises(SignInRequired, match=words) as caught:
                await source.get_token()
        finally:
            await source.aclose()
        assert caught.value.prompt is None
    assert sandbox.polls() == 0
