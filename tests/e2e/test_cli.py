"""The commands as a newcomer runs them.

Zero-config sandbox, the sandbox server, bad settings, Ctrl-C at a terminal, status/login/logout in
every mode, what the server advertises. (The HTTP transport: test_http_transport.py.)

A real process where the process is the subject: `serve` started as an MCP client starts it, its
stderr banner with stdout left to the wire, Ctrl-C (exit 130). Commands that print and return run
``cli.main`` in this process (the ``cli`` fixture, tests/e2e/cli_in_process.py); what a server says
to a client is asked of the same server built in this process.
"""

import base64
import json
import logging
import os
import pty
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND

from edfs_mcp import __version__
from edfs_mcp.config import settings_in
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from tests.e2e.cli_in_process import Cli
from tests.harness import clean_env, text_of
from tests.serving import free_port

pytestmark = pytest.mark.anyio

COMMAND = [sys.executable, "-m", "edfs_mcp"]
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - shared for the whole module, closed at exit


def _clean_env(**extra: str) -> dict[str, str]:
    return clean_env(extra)


def _serve_once(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`edfs-mcp serve *args` as a client starts it, stdin closed at once: it starts, then ends."""
    return subprocess.run(
        [*COMMAND, "serve", *args],
        env=_clean_env(**env),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def zero_config_start() -> subprocess.CompletedProcess[str]:
    """One zero-config `edfs-mcp serve` from start to end of input, for the tests that read its output."""
    return _serve_once()


def test_version(cli: Cli) -> None:
    result = cli.run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"edfs-mcp {__version__}"


def test_a_bad_setting_exits_2_with_one_line_naming_it(cli: Cli) -> None:
    result = cli.run("serve", env={"EDFS_MCP_READ_TIMEOUT": "-5"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EDFS_MCP_READ_TIMEOUT" in lines[0]


def test_an_unknown_tool_name_fails_at_start(cli: Cli) -> None:
    result = cli.run("serve", "--tools", "execute_integration_package,toggle_timerz")
    assert result.returncode == 2 and "toggle_timerz" in result.stderr


@pytest.mark.real_process
async def test_zero_config_serve_uses_the_sandbox_and_says_so() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "edfs_mcp", "serve"], env=_clean_env())
    async with Client(stdio_client(params, errlog=DEVNULL)) as client:
        assert "SANDBOX" in (client.instructions or "")
        result = await client.call_tool(
            "execute_integration_package",
            {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE, "unique_name": seed.SAP_WORK_ORDERS},
        )
        assert not result.is_error, text_of(result)
        assert (result.structured_content or {})["row_count"] > 0


@pytest.mark.real_process
def test_zero_config_banner_on_stderr(zero_config_start: subprocess.CompletedProcess[str]) -> None:
    process = zero_config_start
    assert "SANDBOX" in process.stderr and "no credentials are configured" in process.stderr
    assert process.stdout == ""  # stdout is the MCP wire: nothing else may be printed there


def _first_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()[:4]]


async def test_sandbox_command_prints_exports_that_point_serve_at_it(cli: Cli) -> None:
    with cli.running("sandbox", "--port", str(free_port())) as sandbox:
        printed = await anyio.to_thread.run_sync(sandbox.stdout.wait_for, lambda out: out.count("\n") >= 4)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in _first_lines(printed))
        assert set(exports) == {
            "EDFS_MCP_API_BASE",
            "EDFS_MCP_AUTHORITY",
            "EDFS_MCP_CLIENT_ID",
            "EDFS_MCP_CLIENT_SECRET",
        }
        assert exports["EDFS_MCP_API_BASE"].startswith("http://127.0.0.1:")
        # `edfs-mcp serve`'s server with the settings these exports give it.
        async with Client(build_server(settings_in(exports))) as client:
            assert "SANDBOX" not in (client.instructions or "")
            result = await client.call_tool("list_integration_packages", {})
            assert not result.is_error, text_of(result)
            assert seed.SAP_WORK_ORDERS in text_of(result)
    assert sandbox.wait() == 0


async def test_sandbox_as_person_with_auto_approve_then_login_and_serve(cli: Cli, tmp_path: Path) -> None:
    with cli.running("sandbox", "--port", str(free_port()), "--as", "person", "--auto-approve") as sandbox:
        printed = await anyio.to_thread.run_sync(sandbox.stdout.wait_for, lambda out: out.count("\n") >= 4)
        lines = _first_lines(printed)
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export")
        )
        assert (
            exports["EDFS_MCP_CLIENT_ID"] == seed.PUBLIC_CLIENT_ID and "unset EDFS_MCP_CLIENT_SECRET" in lines
        )
        env = {**exports, "EDFS_MCP_CONFIG_DIR": str(tmp_path), "EDFS_MCP_TOKEN_STORE": "file"}
        login = await anyio.to_thread.run_sync(partial(cli.run, "login", "--no-browser", env=env))
        assert login.returncode == 0, login.stderr
        assert "Signed in as Avery Admin" in login.stderr
        async with Client(build_server(settings_in(env))) as client:
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            assert not result.is_error, text_of(result)
    assert sandbox.wait() == 0


# --- settings that are wrong or half there: one line, exit 2, nothing served ---------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"EDFS_MCP_CLIENTID": "app"},
            "EDFS_MCP_CLIENTID is not an edfs-mcp setting; did you mean EDFS_MCP_CLIENT_ID?",
        ),
        (
            {"EDFS_MCP_CLIENT_SECRET": "s3cret-xyz"},
            "EDFS_MCP_CLIENT_SECRET is set but EDFS_MCP_CLIENT_ID is not",
        ),
        ({"EDFS_MCP_API_BASE": "https://api.bentley.com"}, "EDFS_MCP_API_BASE is set but no credential is"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "status", "login"])
def test_a_wrong_or_partial_configuration_fails_in_one_line(
    cli: Cli, command: str, env: dict[str, str], expected: str
) -> None:
    result = cli.run(command, env=env)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("edfs-mcp: configuration error: " + expected)
    assert "s3cret-xyz" not in line and "SANDBOX" not in line.replace("EDFS_MCP_SANDBOX", "")


@pytest.mark.real_process
def test_asking_for_the_sandbox_says_which_settings_it_ignores() -> None:
    result = _serve_once("--sandbox", EDFS_MCP_API_BASE="https://api.example", EDFS_MCP_CLIENT_ID="app")
    assert result.returncode == 0, result.stderr
    assert "SANDBOX" in result.stderr and "EDFS_MCP_CLIENT_ID, EDFS_MCP_API_BASE are ignored" in result.stderr


# --- a person at a terminal ------------------------------------------------------------------------


@pytest.mark.real_process
def test_serve_in_a_terminal_says_it_waits_and_ctrl_c_stops_it() -> None:
    """stdin a terminal that never sends a line: Ctrl-C alone must stop it (it used to wait for Enter)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*COMMAND, "serve"], env=_clean_env(), stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(terminal)
    try:
        assert process.stderr is not None and process.stdout is not None
        seen: list[str] = []
        while not any("waiting for an MCP client" in line for line in seen):
            line = process.stderr.readline().decode()
            assert line, f"no waiting notice; stderr: {seen}"
            seen.append(line)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        rest = process.stderr.read().decode()
        assert rest.strip().splitlines() == ["edfs-mcp: interrupted; stopped."]
        assert process.stdout.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)


@pytest.mark.real_process
def test_serve_from_a_client_prints_no_terminal_notice(
    zero_config_start: subprocess.CompletedProcess[str],
) -> None:
    result = zero_config_start
    assert result.returncode == 0 and "waiting for an MCP client" not in result.stderr


@pytest.mark.real_process
def test_ctrl_c_during_login_exits_130_with_one_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = {
        "EDFS_MCP_API_BASE": sandbox.base_url,
        "EDFS_MCP_AUTHORITY": sandbox.base_url,
        "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
        "EDFS_MCP_CONFIG_DIR": str(tmp_path),
        "EDFS_MCP_TOKEN_STORE": "file",
    }
    process = subprocess.Popen(
        [*COMMAND, "login", "--no-browser", "--flow", "device"],
        env=_clean_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        while "Waiting for you to approve" not in (line := process.stderr.readline()):
            assert line, "login did not start a device sign-in"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert process.stderr.read().strip().splitlines() == [
            "edfs-mcp: sign-in cancelled; nothing was saved."
        ]
        assert not (tmp_path / "tokens.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- status, login and logout in every mode ------------------------------------------------------


def _auth(cli: Cli, command: str, **env: str) -> tuple[int, str]:
    result = cli.run(command, *(["--no-browser"] if command == "login" else []), env=env)
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip()


def _jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_status_login_logout_on_the_sandbox(cli: Cli) -> None:
    code, text = _auth(cli, "status")
    assert code == 0 and "Sandbox: no credentials are configured" in text and seed.CLIENT_ADMIN_ID in text
    code, text = _auth(cli, "login")
    assert code == 2 and text.startswith("Nothing to sign in to") and "EDFS_MCP_CLIENT_ID" in text
    code, text = _auth(cli, "logout")
    assert code == 0 and "no sign-in to forget" in text
    code, text = _auth(cli, "status", EDFS_MCP_SANDBOX="true")
    assert code == 0 and "the sandbox was asked for" in text


def test_status_login_logout_with_a_static_token(cli: Cli) -> None:
    fresh = _jwt(name="Avery Admin", exp=int(time.time()) + 3 * 3600)
    code, text = _auth(cli, "status", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 0
    assert re.fullmatch(
        r"Static access token \(EDFS_MCP_ACCESS_TOKEN\) for Avery Admin: 2 h \d+ min left.*", text
    )
    assert fresh not in text
    expired = _jwt(exp=int(time.time()) - 7200)
    code, text = _auth(cli, "status", EDFS_MCP_ACCESS_TOKEN=expired)
    assert code == 1 and re.search(r"expired 2 h \d+ min ago", text)
    code, text = _auth(cli, "status", EDFS_MCP_ACCESS_TOKEN="opaque-token-value")
    assert code == 0 and "cannot be read" in text and "opaque-token-value" not in text
    code, text = _auth(cli, "login", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 2 and "EDFS_MCP_ACCESS_TOKEN is set" in text
    code, text = _auth(cli, "logout", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 0 and "nothing is stored" in text


def test_status_login_logout_as_a_service_client(cli: Cli, sandbox: SandboxServer) -> None:
    env = {
        "EDFS_MCP_API_BASE": sandbox.base_url,
        "EDFS_MCP_AUTHORITY": sandbox.base_url,
        "EDFS_MCP_CLIENT_ID": seed.CLIENT_ADMIN_ID,
        "EDFS_MCP_CLIENT_SECRET": seed.CLIENT_ADMIN_SECRET,
    }
    code, text = _auth(cli, "status", **env)
    assert code == 0, text
    assert f"Service app {seed.CLIENT_ADMIN_ID}: {sandbox.base_url} accepted its credentials" in text
    assert "Not signed in" not in text and seed.CLIENT_ADMIN_SECRET not in text
    code, text = _auth(cli, "login", **env)
    assert code == 0 and "there is no person to sign in" in text and "accepted its credentials" in text
    code, text = _auth(cli, "logout", **env)
    assert code == 0 and "nothing is stored" in text
    code, text = _auth(cli, "status", **{**env, "EDFS_MCP_CLIENT_SECRET": "not-the-secret"})
    assert code == 1 and "invalid_client" in text and "not-the-secret" not in text


def test_login_status_logout_as_a_person_with_the_keyring_store(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyring store for real: keyrings.alt's file backend, chosen by environment, file in tmp_path."""
    import keyring.core

    # keyring picks its backend once per process, from the environment: as a new process would here.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    sandbox.state.auto_approve = True
    sandbox.state.device_poll_interval_seconds = 1
    env = {
        "EDFS_MCP_API_BASE": sandbox.base_url,
        "EDFS_MCP_AUTHORITY": sandbox.base_url,
        "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
        "EDFS_MCP_CONFIG_DIR": str(tmp_path / "config"),
        "EDFS_MCP_TOKEN_STORE": "keyring",
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    code, text = _auth(cli, "status", **env)
    assert code == 1 and "Not signed in" in text and "OS keyring (PlaintextKeyring)" in text
    code, text = _auth(cli, "login", **env)
    assert code == 0 and "Signed in as Avery Admin" in text and "OS keyring (PlaintextKeyring)" in text
    assert (tmp_path / "data" / "python_keyring" / "keyring_pass.cfg").is_file()
    assert not (tmp_path / "config" / "tokens.json").exists()
    code, text = _auth(cli, "status", **env)
    assert code == 0 and "Signed in as Avery Admin" in text and "OS keyring (PlaintextKeyring)" in text
    code, text = _auth(cli, "logout", **env)
    assert code == 0 and "Signed out" in text
    assert _auth(cli, "status", **env)[0] == 1


# --- what the server advertises, and what it does not have ---------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_only_tools_are_advertised_and_unknown_prompts_or_resources_are_invalid_params(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Asked of the zero-config server built in this process; its log is what `serve` writes to stderr.
    Without its MCP Apps views (tests/views/test_views_server.py: with them, they are its resources)."""
    caplog.set_level(logging.INFO)
    settings = settings_in({"EDFS_MCP_LOG_LEVEL": "INFO", "EDFS_MCP_APPS": "false"})
    async with Client(build_server(settings), mode=mode) as client:
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.tools is not None
        assert not capabilities.tools.list_changed  # the tool list never changes
        assert capabilities.prompts is None and capabilities.resources is None
        for ask in (
            lambda: client.get_prompt("summarize"),
            lambda: client.read_resource("edfs://nothing"),
        ):
            with pytest.raises(MCPError) as caught:
                await ask()
            assert caught.value.error.code == INVALID_PARAMS
            assert "this server has no" in caught.value.error.message
        for listing in (client.list_prompts, client.list_resources):
            with pytest.raises(MCPError) as caught:
                await listing()
            assert caught.value.error.code == METHOD_NOT_FOUND
        # The sandbox is built by the first tool call, not at start nor by tools/list.
        assert len((await client.list_tools()).tools) >= 11
        assert "building the in-process sandbox" not in caplog.text
        result = await client.call_tool("list_integration_packages", {})
        assert not result.is_error, text_of(result)
    assert not [record for record in caplog.records if record.exc_info]  # no traceback logged
    assert caplog.text.count("building the in-process sandbox") == 1
