"""A person's token source against the sandbox's OAuth server on loopback.

An access token the API refuses (revoked at the authority while the refresh token is still good)
is refreshed once and never handed out again; the refresh runs in a refresher process for a store
on disk, in a worker thread for the memory store, and two sources sharing a file refresh once.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest

from edfs_mcp.auth.refresh import RefreshJob, refresh_in_own_process, store_spec, token_digest
from edfs_mcp.auth.store import FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore, token_key
from edfs_mcp.auth.user import UserTokenSource, stored_from_response
from edfs_mcp.errors import SignInRequired
from edfs_mcp.sandbox import SandboxServer, seed
from tests.auth.helpers import SCOPE, endpoints_at, sign_in

pytestmark = pytest.mark.anyio

TIMERS = f"/edfs/itwins/{seed.ITWIN_NORTHGATE_BRIDGE}/timers"


def _key(sandbox: SandboxServer) -> str:
    return token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)


def _source(sandbox: SandboxServer, store: TokenStore, *, own_process: bool = True) -> UserTokenSource:
    discovered = endpoints_at(sandbox.base_url)
    return UserTokenSource(
        client_id=seed.PUBLIC_CLIENT_ID,
        scope=SCOPE,
        key=_key(sandbox),
        store=store,
        endpoints=discovered,
        sign_in_in_session=False,
        refresh_in_own_process=own_process,
    )


def _api_status(sandbox: SandboxServer, token: str) -> int:
    return httpx2.get(f"{sandbox.base_url}{TIMERS}", headers={"Authorization": f"Bearer {token}"}).status_code


def _refreshes(sandbox: SandboxServer) -> int:
    return sandbox.state.token_requests["refresh_token"]


def _memory_signed_in(sandbox: SandboxServer, scratch: Path) -> MemoryTokenStore:
    sign_in(sandbox, scratch)
    tokens = FileTokenStore(scratch).load(_key(sandbox))
    assert tokens is not None
    store = MemoryTokenStore()
    store.save(_key(sandbox), tokens)
    return store


@pytest.mark.parametrize("kind", ["file, refresher process", "file, in-process", "memory"])
async def test_an_access_token_revoked_at_the_authority_is_refreshed_once(
    sandbox: SandboxServer, tmp_path: Path, kind: str
) -> None:
    if kind == "memory":
        store: TokenStore = _memory_signed_in(sandbox, tmp_path / "scratch")
    else:
        sign_in(sandbox, tmp_path)
        store = FileTokenStore(tmp_path)
    source = _source(sandbox, store, own_process=kind == "file, refresher process")
    try:
        first = await source.get_token()
        assert _api_status(sandbox, first) == 200
        sandbox.state.expire_issued_tokens()  # revoked server-side; the stored copy still looks valid
        assert _api_status(sandbox, first) == 401
        before = _refreshes(sandbox)
        assert await source.reject(first) is True  # the API client retries once on True
        second = await source.get_token()
        assert second != first and _api_status(sandbox, second) == 200
        assert _refreshes(sandbox) - before == 1  # one refresh grant reached the authority
        assert await source.get_token() == second  # and no more refreshes
        assert _refreshes(sandbox) - before == 1
        saved = store.load(_key(sandbox))
        assert saved is not None and saved.access_token == second
    finally:
        await source.aclose()


async def test_two_processes_refused_one_token_refresh_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Two servers sharing the token file both get a 401: one refresh, and both use its answer."""
    sign_in(sandbox, tmp_path)
    one, two = _source(sandbox, FileTokenStore(tmp_path)), _source(sandbox, FileTokenStore(tmp_path))
    try:
        token = await one.get_token()
        assert await two.get_token() == token
        sandbox.state.expire_issued_tokens()
        before = _refreshes(sandbox)
        await one.reject(token)
        await two.reject(token)
        renewed = await one.get_token()
        assert await two.get_token() == renewed  # found on disk by the second refresher: "current"
        assert _refreshes(sandbox) - before == 1 and _api_status(sandbox, renewed) == 200
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_revoked_refresh_token_ends_the_sign_in(sandbox: SandboxServer, tmp_path: Path) -> None:
    sign_in(sandbox, tmp_path)
    store = FileTokenStore(tmp_path)
    saved = store.load(_key(sandbox))
    assert saved is not None and saved.refresh_token
    revoked = httpx2.post(
        f"{sandbox.base_url}/connect/revocation",
        data={"token": saved.refresh_token, "client_id": seed.PUBLIC_CLIENT_ID},
    )
    assert revoked.status_code == 200
    source = _source(sandbox, store)
    try:
        await source.reject(saved.access_token)
        with pytest.raises(SignInRequired, match="expired or was revoked"):
            await source.get_token()
    finally:
        await source.aclose()
    assert store.load(_key(sandbox)) is None  # forgotten: the next start asks for a sign-in at once


async def test_the_refresher_process_answers_without_a_secret(sandbox: SandboxServer, tmp_path: Path) -> None:
    """What crosses the pipe: the job (no token) and the outcome (no token); the tokens are on disk."""
    sign_in(sandbox, tmp_path)
    store = FileTokenStore(tmp_path)
    before = store.load(_key(sandbox))
    assert before is not None and before.refresh_token
    spec = store_spec(store)
    assert spec is not None
    job = RefreshJob(
        key=_key(sandbox),
        token_endpoint=f"{sandbox.base_url}/connect/token",
        client_id=seed.PUBLIC_CLIENT_ID,
        scope=SCOPE,
    )
    assert before.refresh_token not in repr(job) and before.access_token not in repr(spec)
    current = refresh_in_own_process(spec, job)
    assert current is not None and current.kind == "current"  # still valid: nothing to do
    stale = RefreshJob(**{**job.__dict__, "stale": (token_digest(before.access_token),)})
    outcome = refresh_in_own_process(spec, stale)
    after = store.load(_key(sandbox))
    assert outcome is not None and outcome.kind == "refreshed" and outcome.detail is None
    assert after is not None and after.refresh_token not in (None, before.refresh_token)
    assert after.name == before.name and after.flow == "device"


def test_a_hostile_token_answer_is_bounded() -> None:
    """expires_in from the authority: junk means an hour, and a day at most."""
    previous = StoredTokens(access_token="a", expires_at=0, refresh_token="r", scope="s", name="Avery")
    for junk in (float("nan"), -5, "3600", True, 10**12, None):
        tokens = stored_from_response({"access_token": "b", "expires_in": junk}, "device", previous)
        assert 3000 < tokens.expires_at - time.time() <= 3600
        assert tokens.refresh_token == "r" and tokens.name == "Avery"
