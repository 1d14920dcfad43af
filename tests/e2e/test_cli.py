"""The commands as a newcomer runs them.

Zero-config sandbox, the sandbox server, the HTTP transport, bad settings, Ctrl-C at a terminal,
status/login/logout in every mode, what the server advertises.
"""

import base64
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND

from edfs_mcp import __version__
from edfs_mcp.sandbox import SandboxServer, seed
from tests.e2e.harness import text_of
from tests.serving import clean_env, free_port, serving_http

pytestmark = pytest.mark.anyio

COMMAND = [sys.executable, "-m", "edfs_mcp"]
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - shared for the whole module, closed at exit


def _clean_env(**extra: str) -> dict[str, str]:
    return clean_env(extra)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=_clean_env(**env), capture_output=True, text=True, timeout=60, check=False
    )


@contextmanager
def _background(*args: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*COMMAND, *args], env=_clean_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"edfs-mcp {__version__}"


def test_a_bad_setting_exits_2_with_one_line_naming_it() -> None:
    result = _run("serve", EDFS_MCP_READ_TIMEOUT="-5")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EDFS_MCP_READ_TIMEOUT" in lines[0]


def test_an_unknown_tool_name_fails_at_start() -> None:
    result = _run("serve", "--tools", "execute_integration_package,toggle_timerz")
    assert result.returncode == 2 and "toggle_timerz" in result.stderr


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


def test_zero_config_banner_on_stderr() -> None:
    params_env = _clean_env()
    process = subprocess.run(
        [*COMMAND, "serve"], env=params_env, input="", capture_output=True, text=True, timeout=60, check=False
    )
    assert "SANDBOX" in process.stderr and "no credentials are configured" in process.stderr
    assert process.stdout == ""  # stdout is the MCP wire: nothing else may be printed there


async def test_sandbox_command_prints_exports_that_point_serve_at_it() -> None:
    with _background("sandbox", "--port", str(free_port())) as sandbox:
        assert sandbox.stdout is not None
        exports = dict(
            sandbox.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(4)
        )
        assert set(exports) == {
            "EDFS_MCP_API_BASE",
            "EDFS_MCP_AUTHORITY",
            "EDFS_MCP_CLIENT_ID",
            "EDFS_MCP_CLIENT_SECRET",
        }
        assert exports["EDFS_MCP_API_BASE"].startswith("http://127.0.0.1:")
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "edfs_mcp", "serve"], env=_clean_env(**exports)
        )
        async with Client(stdio_client(params, errlog=DEVNULL)) as client:
            assert "SANDBOX" not in (client.instructions or "")
            result = await client.call_tool("list_integration_packages", {})
            assert not result.is_error, text_of(result)
            assert seed.SAP_WORK_ORDERS in text_of(result)


async def test_streamable_http_transport() -> None:
    with serving_http(["--sandbox"]) as serving:
        async with Client(serving.url) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"execute_integration_package", "toggle_timer"} <= names
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            assert not result.is_error, text_of(result)
            assert (result.structured_content or {})["timers"]


async def test_sandbox_as_person_with_auto_approve_then_login_and_serve(tmp_path: Any) -> None:
    with _background("sandbox", "--port", str(free_port()), "--as", "person", "--auto-approve") as sandbox:
        assert sandbox.stdout is not None
        lines = [sandbox.stdout.readline().strip() for _ in range(4)]
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export")
        )
        assert (
            exports["EDFS_MCP_CLIENT_ID"] == seed.PUBLIC_CLIENT_ID and "unset EDFS_MCP_CLIENT_SECRET" in lines
        )
        env = {**exports, "EDFS_MCP_CONFIG_DIR": str(tmp_path), "EDFS_MCP_TOKEN_STORE": "file"}
        login = await anyio.run_process(
            [*COMMAND, "login", "--no-browser"], env=_clean_env(**env), check=False
        )
        assert login.returncode == 0, login.stderr.decode()
        assert "Signed in as Avery Admin" in login.stderr.decode()
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "edfs_mcp", "serve"], env=_clean_env(**env)
        )
        async with Client(stdio_client(params, errlog=DEVNULL)) as client:
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            assert not result.is_error, text_of(result)


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
    command: str, env: dict[str, str], expected: str
) -> None:
    result = _run(command, **env)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("edfs-mcp: configuration error: " + expected)
    assert "s3cret-xyz" not in line and "SANDBOX" not in line.replace("EDFS_MCP_SANDBOX", "")


def test_asking_for_the_sandbox_says_which_settings_it_ignores() -> None:
    result = subprocess.run(
        [*COMMAND, "serve", "--sandbox"],
        env=_clean_env(EDFS_MCP_API_BASE="https://api.example", EDFS_MCP_CLIENT_ID="app"),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "SANDBOX" in result.stderr and "EDFS_MCP_CLIENT_ID, EDFS_MCP_API_BASE are ignored" in result.stderr


# --- a person at a terminal ------------------------------------------------------------------------


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


def test_serve_from_a_client_prints_no_terminal_notice() -> None:
    result = subprocess.run(
        [*COMMAND, "serve"],
        env=_clean_env(),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "waiting for an MCP client" not in result.stderr


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


def _auth(command: str, **env: str) -> tuple[int, str]:
    result = _run(command, *(["--no-browser"] if command == "login" else []), **env)
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip()


def _jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_status_login_logout_on_the_sandbox() -> None:
    code, text = _auth("status")
    assert code == 0 and "Sandbox: no credentials are configured" in text and seed.CLIENT_ADMIN_ID in text
    code, text = _auth("login")
    assert code == 2 and text.startswith("Nothing to sign in to") and "EDFS_MCP_CLIENT_ID" in text
    code, text = _auth("logout")
    assert code == 0 and "no sign-in to forget" in text
    code, text = _auth("status", EDFS_MCP_SANDBOX="true")
    assert code == 0 and "the sandbox was asked for" in text


def test_status_login_logout_with_a_static_token() -> None:
    fresh = _jwt(name="Avery Admin", exp=int(time.time()) + 3 * 3600)
    code, text = _auth("status", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 0
    assert re.fullmatch(
        r"Static access token \(EDFS_MCP_ACCESS_TOKEN\) for Avery Admin: 2 h \d+ min left.*", text
    )
    assert fresh not in text
    expired = _jwt(exp=int(time.time()) - 7200)
    code, text = _auth("status", EDFS_MCP_ACCESS_TOKEN=expired)
    assert code == 1 and re.search(r"expired 2 h \d+ min ago", text)
    code, text = _auth("status", EDFS_MCP_ACCESS_TOKEN="opaque-token-value")
    assert code == 0 and "cannot be read" in text and "opaque-token-value" not in text
    code, text = _auth("login", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 2 and "EDFS_MCP_ACCESS_TOKEN is set" in text
    code, text = _auth("logout", EDFS_MCP_ACCESS_TOKEN=fresh)
    assert code == 0 and "nothing is stored" in text


def test_status_login_logout_as_a_service_client(sandbox: SandboxServer) -> None:
    env = {
        "EDFS_MCP_API_BASE": sandbox.base_url,
        "EDFS_MCP_AUTHORITY": sandbox.base_url,
        "EDFS_MCP_CLIENT_ID": seed.CLIENT_ADMIN_ID,
        "EDFS_MCP_CLIENT_SECRET": seed.CLIENT_ADMIN_SECRET,
    }
    code, text = _auth("status", **env)
    assert code == 0, text
    assert f"Service app {seed.CLIENT_ADMIN_ID}: {sandbox.base_url} accepted its credentials" in text
    assert "Not signed in" not in text and seed.CLIENT_ADMIN_SECRET not in text
    code, text = _auth("login", **env)
    assert code == 0 and "there is no person to sign in" in text and "accepted its credentials" in text
    code, text = _auth("logout", **env)
    assert code == 0 and "nothing is stored" in text
    code, text = _auth("status", **{**env, "EDFS_MCP_CLIENT_SECRET": "not-the-secret"})
    assert code == 1 and "invalid_client" in text and "not-the-secret" not in text


def test_login_status_logout_as_a_person_with_the_keyring_store(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The keyring store for real: keyrings.alt's file backend, chosen by environment, file in tmp_path."""
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
    code, text = _auth("status", **env)
    assert code == 1 and "Not signed in" in text and "OS keyring (PlaintextKeyring)" in text
    code, text = _auth("login", **env)
    assert code == 0 and "Signed in as Avery Admin" in text and "OS keyring (PlaintextKeyring)" in text
    assert (tmp_path / "data" / "python_keyring" / "keyring_pass.cfg").is_file()
    assert not (tmp_path / "config" / "tokens.json").exists()
    code, text = _auth("status", **env)
    assert code == 0 and "Signed in as Avery Admin" in text and "OS keyring (PlaintextKeyring)" in text
    code, text = _auth("logout", **env)
    assert code == 0 and "Signed out" in text
    assert _auth("status", **env)[0] == 1


# --- what the server advertises, and what it does not have ---------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_only_tools_are_advertised_and_unknown_prompts_or_resources_are_invalid_params(
    mode: str, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "edfs_mcp", "serve"], env=_clean_env(EDFS_MCP_LOG_LEVEL="INFO")
    )
    errlog = tmp_path / "stderr.log"
    with errlog.open("w") as stderr:
        async with Client(stdio_client(params, errlog=stderr), mode=mode) as client:
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
            assert "building the in-process sandbox" not in errlog.read_text()
            result = await client.call_tool("list_integration_packages", {})
            assert not result.is_error, text_of(result)
    log = errlog.read_text()
    assert "Traceback" not in log and log.count("building the in-process sandbox") == 1
