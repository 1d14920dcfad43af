"""The token store as a person meets it through the CLI and the server (loopback sandbox).

Both run in this process: the CLI through the ``cli`` fixture (cli.main with the environment of a
process), the server through harness.serve_in_process; what is looked at is what they say and the
files they leave, not the process.

A token file others can read is repaired and the person told, once; a shared directory or a
symbolic link is refused with words that say what to do; an access token revoked at the authority
is refreshed once and the call retried.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from edfs_mcp.auth.store import FileTokenStore, token_key
from edfs_mcp.sandbox import SandboxServer, seed
from tests.auth.helpers import sign_in
from tests.e2e.cli_in_process import Cli
from tests.harness import serve_in_process, server_env, text_of

pytestmark = pytest.mark.anyio


def _env(sandbox: SandboxServer, config: Path) -> dict[str, str]:
    return server_env(
        sandbox,
        None,
        {
            "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
            "EDFS_MCP_CONFIG_DIR": str(config),
            "EDFS_MCP_TOKEN_STORE": "file",
            "EDFS_MCP_LOG_LEVEL": "WARNING",
        },
    )


def _cli(cli: Cli, sandbox: SandboxServer, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run(*args, env=_env(sandbox, config))


def test_status_repairs_a_token_file_others_can_read_and_says_so_once(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    sign_in(sandbox, config)
    tokens = config / "tokens.json"
    tokens.chmod(0o644)
    status = _cli(cli, sandbox, config, "status")
    assert status.returncode == 0, status.stderr
    told = [line for line in status.stderr.splitlines() if "readable by other users" in line]
    assert len(told) == 1 and str(tokens) in told[0] and "0644" in told[0] and "now 0600" in told[0]
    assert f"Stored in file {tokens} (mode 0600)." in status.stderr  # the real mode, after the repair
    assert (tokens.stat().st_mode & 0o777) == 0o600
    again = _cli(cli, sandbox, config, "status")
    assert "readable by other users" not in again.stderr and "(mode 0600)" in again.stderr


def test_status_shows_the_real_mode(cli: Cli, sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    sign_in(sandbox, config)
    (config / "tokens.json").chmod(0o400)  # stricter than needed: fine, and shown as it is
    status = _cli(cli, sandbox, config, "status")
    assert status.returncode == 0 and "(mode 0400)" in status.stderr


def test_a_shared_config_directory_is_refused_before_any_sign_in(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    login = _cli(cli, sandbox, shared, "login", "--no-browser")
    assert login.returncode == 2, login.stderr
    assert (
        "configuration error" in login.stderr and "can be written by other users (mode 1777)" in login.stderr
    )
    assert "EDFS_MCP_CONFIG_DIR" in login.stderr and "enter the code" not in login.stderr
    assert "Traceback" not in login.stderr
    status = _cli(cli, sandbox, shared, "status")
    assert status.returncode == 1 and "written by other users" in status.stderr
    logout = _cli(cli, sandbox, shared, "logout")
    assert logout.returncode == 2 and "Traceback" not in logout.stderr
    assert (shared.stat().st_mode & 0o7777) == 0o1777 and list(shared.iterdir()) == []


def test_a_symlinked_token_file_is_refused_by_status_and_login(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    sign_in(sandbox, config)
    elsewhere = tmp_path / "elsewhere.json"
    (config / "tokens.json").rename(elsewhere)
    (config / "tokens.json").symlink_to(elsewhere)
    status = _cli(cli, sandbox, config, "status")
    assert status.returncode == 1 and "symbolic link" in status.stderr and "never followed" in status.stderr
    login = _cli(cli, sandbox, config, "login", "--no-browser")
    assert login.returncode == 2 and "symbolic link" in login.stderr
    assert (config / "tokens.json").is_symlink()


async def test_an_access_token_revoked_at_the_authority_costs_one_refresh_not_an_error(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    sign_in(sandbox, config)
    key = token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)
    signed_in = FileTokenStore(config).load(key)
    assert signed_in is not None
    async with serve_in_process(sandbox, None, env=_env(sandbox, config)) as session:
        first = await session.call("list_integration_packages")
        assert not first.is_error, text_of(first)
        sandbox.state.expire_issued_tokens()  # the access token dies at the authority, hours early
        before = sandbox.state.token_requests["refresh_token"]
        second = await session.call("list_integration_packages")
        assert not second.is_error, text_of(second)
        assert sandbox.state.token_requests["refresh_token"] - before == 1
        third = await session.call("list_integration_packages")
        assert not third.is_error and sandbox.state.token_requests["refresh_token"] - before == 1
    saved = FileTokenStore(config).load(key)
    assert saved is not None and saved.access_token != signed_in.access_token
    assert saved.refresh_token != signed_in.refresh_token  # rotated, and the new one kept
    assert os.stat(config / "tokens.json").st_mode & 0o777 == 0o600
