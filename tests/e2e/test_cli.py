"""The commands as a newcomer runs them.

Zero-config sandbox, the sandbox server, the HTTP transport, bad settings.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from edfs_mcp import __version__
from edfs_mcp.sandbox import seed
from tests.e2e.harness import text_of

pytestmark = pytest.mark.anyio

COMMAND = [sys.executable, "-m", "edfs_mcp"]
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - shared for the whole module, closed at exit


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EDFS_MCP_")}
    env.update(extra)
    return env


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=_clean_env(**env), capture_output=True, text=True, timeout=60, check=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    with _background("sandbox", "--port", str(_free_port())) as sandbox:
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
    port = _free_port()
    with _background("serve", "--sandbox", "--transport", "streamable-http", "--port", str(port)):
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start listening"
                await anyio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"execute_integration_package", "toggle_timer"} <= names
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            assert not result.is_error, text_of(result)
            assert (result.structured_content or {})["timers"]


async def test_sandbox_as_person_with_auto_approve_then_login_and_serve(tmp_path: Any) -> None:
    with _background("sandbox", "--port", str(_free_port()), "--as", "person", "--auto-approve") as sandbox:
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
