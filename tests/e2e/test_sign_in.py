"""Signing in as a person, against the sandbox's OAuth server on loopback.

The CLI (`edfs-mcp login/status/logout`) runs in this process (the ``cli`` fixture: cli.main with the
environment of a process), and so does the server when what its tools say is the subject
(harness.serve_in_process). Real processes: two servers refreshing one stored sign-in at once, and a
`login` that is stopped while it waits for the browser.
"""

import re
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.types import ElicitResult

from edfs_mcp.auth.store import FileTokenStore, StoredTokens, token_key
from edfs_mcp.sandbox import SandboxServer, seed
from tests.e2e.cli_in_process import Cli
from tests.harness import serve, serve_in_process, server_env, text_of

pytestmark = pytest.mark.anyio

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _env(sandbox: SandboxServer, config: Path, **extra: str) -> dict[str, str]:
    return server_env(
        sandbox,
        None,
        {
            "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
            "EDFS_MCP_CONFIG_DIR": str(config),
            "EDFS_MCP_TOKEN_STORE": "file",
            **extra,
        },
    )


def _cli(
    cli: Cli, sandbox: SandboxServer, config: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return cli.run(*args, env=_env(sandbox, config, **extra))


async def _cli_async(
    cli: Cli, sandbox: SandboxServer, config: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``_cli`` from a test's event loop: main runs its own, so it runs on a worker thread."""
    return await anyio.to_thread.run_sync(partial(_cli, cli, sandbox, config, *args))


@pytest.fixture
def fast_device(sandbox: SandboxServer) -> SandboxServer:
    sandbox.state.device_poll_interval_seconds = 1
    return sandbox


def _store(config: Path, sandbox: SandboxServer) -> tuple[FileTokenStore, str]:
    return FileTokenStore(config), token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)


def test_login_with_a_device_code_then_status_then_logout(
    cli: Cli, fast_device: SandboxServer, tmp_path: Path
) -> None:
    sandbox = fast_device
    sandbox.state.auto_approve = True
    login = _cli(cli, sandbox, tmp_path, "login", "--no-browser")
    assert login.returncode == 0, login.stderr
    assert re.search(r"enter the code: [A-Z]{4}-[A-Z]{4}", login.stderr)
    assert "/device" in login.stderr and "Signed in as Avery Admin (device flow)" in login.stderr
    store, key = _store(tmp_path, sandbox)
    assert (store.path.stat().st_mode & 0o777) == 0o600
    saved = store.load(key)
    assert saved is not None and saved.refresh_token and saved.flow == "device"

    status = _cli(cli, sandbox, tmp_path, "status")
    assert status.returncode == 0 and "Signed in as Avery Admin via the device flow" in status.stderr
    assert str(store.path) in status.stderr
    assert saved.access_token not in status.stderr and saved.refresh_token not in status.stderr

    logout = _cli(cli, sandbox, tmp_path, "logout")
    assert logout.returncode == 0 and "refresh token revoked" in logout.stderr
    assert store.load(key) is None
    assert _cli(cli, sandbox, tmp_path, "status").returncode == 1
    # The revoked refresh token no longer works at the authority.
    refused = httpx2.post(
        f"{sandbox.base_url}/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": saved.refresh_token,
            "client_id": seed.PUBLIC_CLIENT_ID,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def _line_with(text: str, wanted: str) -> str:
    return next(line for line in text.splitlines() if wanted in line)


def test_a_denied_device_code_fails_login_with_exit_1(
    cli: Cli, fast_device: SandboxServer, tmp_path: Path
) -> None:
    sandbox = fast_device
    with cli.running("login", "--no-browser", env=_env(sandbox, tmp_path)) as login:
        shown = login.stderr.wait_for(lambda text: "enter the code:" in text and text.endswith("\n"))
        line = _line_with(shown, "enter the code:")
        code = line.rsplit(" ", 1)[-1].strip()
        page = httpx2.post(f"{sandbox.base_url}/device", data={"user_code": code, "action": "deny"})
        assert page.status_code == 200
        assert login.wait() == 1
    rest = login.stderr.getvalue().split(line, 1)[1]
    assert "denied" in rest


def _browser_login(sandbox: SandboxServer, config: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `edfs-mcp login --flow browser` on any free loopback port; return it and the authorize URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "edfs_mcp", "login", "--flow", "browser", "--no-browser"],
        env=_env(sandbox, config, EDFS_MCP_REDIRECT_URI="http://127.0.0.1:0/signin-callback"),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    while True:
        line = process.stderr.readline()
        assert line, "login ended before showing the address"
        if line.startswith("http"):
            return process, line.strip()


def test_login_in_the_browser_with_pkce(cli: Cli, sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.state.auto_approve = True
    env = _env(sandbox, tmp_path, EDFS_MCP_REDIRECT_URI="http://127.0.0.1:0/signin-callback")
    with cli.running("login", "--flow", "browser", "--no-browser", env=env) as login:
        shown = login.stderr.wait_for(lambda text: re.search(r"(?m)^http.*\n", text) is not None)
        url = next(line.strip() for line in shown.splitlines() if line.startswith("http"))
        assert "code_challenge_method=S256" in url and "state=" in url
        # A browser would follow the authority's redirect to the loopback listener.
        landing = httpx2.get(url, follow_redirects=True)
        assert landing.status_code == 200 and "Signed in" in landing.text
        assert login.wait() == 0, login.stderr.getvalue()
    store, key = _store(tmp_path, sandbox)
    saved = store.load(key)
    assert saved is not None and saved.flow == "browser" and saved.refresh_token


def test_the_loopback_listener_rejects_a_wrong_state(sandbox: SandboxServer, tmp_path: Path) -> None:
    process, url = _browser_login(sandbox, tmp_path)
    redirect = re.search(r"redirect_uri=([^&]+)", url)
    assert redirect is not None
    callback = httpx2.URL(httpx2.QueryParams(f"u={redirect.group(1)}")["u"])
    forged = httpx2.get(callback.copy_with(params={"code": "stolen", "state": "not-the-state"}))
    assert forged.status_code == 400
    process.terminate()
    process.wait(20)
    assert sandbox.state.token_requests["authorization_code"] == 0


def _expire(config: Path, sandbox: SandboxServer) -> StoredTokens:
    store, key = _store(config, sandbox)
    saved = store.load(key)
    assert saved is not None
    store.save(key, StoredTokens(**{**saved.__dict__, "expires_at": 0.0}))
    return saved


async def test_twenty_concurrent_calls_on_an_expired_token_refresh_once(
    cli: Cli, fast_device: SandboxServer, tmp_path: Path
) -> None:
    sandbox = fast_device
    sandbox.state.auto_approve = True
    assert (await _cli_async(cli, sandbox, tmp_path, "login", "--no-browser")).returncode == 0
    _expire(tmp_path, sandbox)
    before = sandbox.state.token_requests["refresh_token"]
    async with serve_in_process(sandbox, None, env=_env(sandbox, tmp_path)) as session:
        results: list[Any] = []

        async def one() -> None:
            results.append(await session.call("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE}))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    assert all(not result.is_error for result in results), [text_of(r) for r in results if r.is_error]
    assert sandbox.state.token_requests["refresh_token"] - before == 1


@pytest.mark.real_process
async def test_two_processes_refreshing_keep_the_session(
    cli: Cli, fast_device: SandboxServer, tmp_path: Path
) -> None:
    sandbox = fast_device
    sandbox.state.auto_approve = True
    assert (await _cli_async(cli, sandbox, tmp_path, "login", "--no-browser")).returncode == 0
    _expire(tmp_path, sandbox)
    before = sandbox.state.token_requests["refresh_token"]
    env = _env(sandbox, tmp_path)
    async with serve(sandbox, None, env=env) as first, serve(sandbox, None, env=env) as second:
        outcomes: list[Any] = []

        async def call(session: Any) -> None:
            outcomes.append(await session.call("list_integration_packages"))

        async with anyio.create_task_group() as group:
            group.start_soon(call, first)
            group.start_soon(call, second)
    assert all(not outcome.is_error for outcome in outcomes), [text_of(o) for o in outcomes]
    # Rotation with reuse detection would have revoked the session had both used the same refresh token.
    assert sandbox.state.token_requests["refresh_token"] - before == 1
    status = await _cli_async(cli, sandbox, tmp_path, "status")
    assert status.returncode == 0
    _expire(tmp_path, sandbox)
    async with serve_in_process(sandbox, None, env=env) as third:
        assert not (await third.call("list_integration_packages")).is_error


async def test_in_session_sign_in_without_elicitation_tells_the_model_what_to_show(
    fast_device: SandboxServer, tmp_path: Path
) -> None:
    sandbox = fast_device
    async with serve_in_process(sandbox, None, env=_env(sandbox, tmp_path)) as session:
        text = await session.error("list_integration_packages")
        assert "Not signed in to Bentley" in text and "/device" in text
        match = re.search(r"enter the code ([A-Z]{4}-[A-Z]{4})", text)
        assert match, text
        again = await session.error("list_integration_packages")
        assert match.group(1) in again  # one sign-in at a time: the same code
        page = httpx2.post(
            f"{sandbox.base_url}/device",
            data={
                "user_code": match.group(1),
                "username": seed.USER_OPERATOR,
                "password": seed.SANDBOX_PASSWORD,
                "action": "approve",
            },
        )
        assert page.status_code == 200
        deadline = time.monotonic() + 30
        while True:
            result = await session.call("list_integration_packages")
            if not result.is_error or time.monotonic() > deadline:
                break
            await anyio.sleep(0.5)
        assert not result.is_error, text_of(result)
    store, key = _store(tmp_path, sandbox)
    assert store.load(key) is not None  # kept for the next run


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_in_session_sign_in_with_url_elicitation_finishes_in_the_same_call(
    fast_device: SandboxServer, tmp_path: Path, mode: str
) -> None:
    sandbox = fast_device
    sandbox.state.auto_approve = True
    shown: list[str] = []

    async def show(context: Any, params: Any) -> ElicitResult:
        shown.append(params.url)
        return ElicitResult(action="accept")

    async with serve_in_process(
        sandbox, None, env=_env(sandbox, tmp_path), elicitation_callback=show, mode=mode
    ) as session:
        result = await session.call("list_integration_packages")
    assert len(shown) == 1 and "/device?user_code=" in shown[0]
    assert not result.is_error, text_of(result)
    assert sandbox.state.token_requests[DEVICE_GRANT] >= 2  # pending once, then the token
