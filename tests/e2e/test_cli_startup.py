"""What `edfs-mcp` says as it starts, run as a real process: bad settings, busy ports, where it listens,
JSON log lines, the sandbox's guide. (The commands' everyday use: test_cli.py.)"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from uvicorn.config import STARTUP_FAILURE

from edfs_mcp import __version__, cli
from edfs_mcp.cli import sandbox_exports
from edfs_mcp.sandbox import SandboxServer
from tests.harness import clean_env
from tests.serving import Serving, free_port, serving_http

pytestmark = pytest.mark.real_process

COMMAND = [sys.executable, "-m", "edfs_mcp"]


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`edfs-mcp *args` with stdin closed (a stdio server then ends at once), to its end."""
    return subprocess.run(
        [*COMMAND, *args],
        env=clean_env(env),
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- settings ------------------------------------------------------------------------------------


def test_a_level_in_lower_case_is_a_level() -> None:
    result = _run("serve", "--sandbox", env={"EDFS_MCP_LOG_LEVEL": "debug"})
    assert result.returncode == 0, result.stderr
    assert " DEBUG " in result.stderr  # the level took effect


def test_every_bad_setting_is_told_at_once_one_line_each_and_exit_2() -> None:
    result = _run("serve", env={"EDFS_MCP_LOG_LEVEL": "loud", "EDFS_MCP_READ_TIMEOUT": "-5"})
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(":")[:3] for line in lines] == [
        ["edfs-mcp", " configuration error", " EDFS_MCP_READ_TIMEOUT"],
        ["edfs-mcp", " configuration error", " EDFS_MCP_LOG_LEVEL"],
    ]


# --- EDFS_MCP_LOG_FORMAT=json: every line on stderr is JSON, the first one too ---------------------


def _objects(stderr: str) -> list[dict[str, Any]]:
    """stderr's lines, each a JSON object (fails on the first that is not)."""
    lines = stderr.splitlines()
    assert lines, "nothing on stderr"
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(each, dict) and each.get("message") for each in objects), objects
    return objects


@pytest.mark.parametrize(
    ("args", "env", "first"),
    [
        (["serve", "--sandbox"], {"EDFS_MCP_LOG_LEVEL": "debug"}, f"edfs-mcp {__version__}: the sandbox"),
        (
            ["serve"],
            {"EDFS_MCP_READ_TIMEOUT": "-1", "EDFS_MCP_CLIENTID": "x"},
            "edfs-mcp: configuration error",
        ),
        (["serve", "--transport", "pigeon"], {}, "usage: edfs-mcp serve"),
        (["status"], {}, "Sandbox: no credentials are configured"),
    ],
    ids=["serve", "bad-settings", "bad-usage", "status"],
)
def test_in_json_every_stderr_line_is_json(args: list[str], env: dict[str, str], first: str) -> None:
    result = _run(*args, env={"EDFS_MCP_LOG_FORMAT": "json", **env})
    objects = _objects(result.stderr)
    assert objects[0]["message"].startswith(first), objects[0]
    assert result.stdout == ""


def test_in_json_the_sandbox_command_writes_json_lines_and_its_exports_on_stdout() -> None:
    process = subprocess.Popen(
        [*COMMAND, "sandbox", "--port", str(free_port())],
        env=clean_env({"EDFS_MCP_LOG_FORMAT": "JSON"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        guide = json.loads(process.stderr.readline())
        assert guide["message"].startswith("EDFS sandbox listening on http://127.0.0.1:")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert all(isinstance(json.loads(line), dict) for line in process.stderr.read().splitlines())
        assert process.stdout.read().startswith("export EDFS_MCP_API_BASE=")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- a port in use: one line naming it and the flag, exit 2 ---------------------------------------


@pytest.mark.parametrize(
    "args",
    [["sandbox"], ["serve", "--sandbox", "--transport", "streamable-http"]],
    ids=["sandbox", "serve"],
)
def test_a_port_in_use_is_one_line_naming_it_and_the_flag_exit_2(args: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _run(*args, "--port", str(port))
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert "Traceback" not in result.stderr
    # serve says what it serves first (the banner); then one line, the last
    assert result.stderr.splitlines()[-1] == (
        f"edfs-mcp: cannot listen on 127.0.0.1:{port}: port {port} is in use; choose another with --port"
    )
    if args == ["sandbox"]:
        assert len(result.stderr.splitlines()) == 1


# --- streamable HTTP says where it listens, in every mode ------------------------------------------


def _listen_lines(serving: Serving) -> list[str]:
    deadline = time.monotonic() + 30
    while not (lines := [line for line in serving.stderr().splitlines() if "listening on" in line]):
        assert time.monotonic() < deadline, serving.stderr()
        time.sleep(0.05)
    return lines


def _web_exports(sandbox: SandboxServer, public_url: str) -> dict[str, str]:
    """What `edfs-mcp sandbox --as web` exports, for ``sandbox``."""
    lines = sandbox_exports(sandbox.base_url, "web", public_url)
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))


@pytest.mark.parametrize("mode", ["none", "bearer", "oauth"])
def test_streamable_http_says_where_it_listens_in_one_line(mode: str, sandbox: SandboxServer) -> None:
    port = free_port()
    args, env = {
        "none": (["--sandbox"], {}),
        "bearer": (["--sandbox"], {"EDFS_MCP_HTTP_BEARER": secrets.token_urlsafe(32)}),
        "oauth": ([], _web_exports(sandbox, f"http://127.0.0.1:{port}")),
    }[mode]
    with serving_http(args, env, port=port) as serving:
        assert _listen_lines(serving) == [f"edfs-mcp: listening on http://127.0.0.1:{port}/mcp"]


def test_in_json_streamable_http_writes_json_lines_where_it_listens_included() -> None:
    with serving_http(
        ["--sandbox"], {"EDFS_MCP_LOG_FORMAT": "json", "EDFS_MCP_LOG_LEVEL": "INFO"}
    ) as serving:
        (line,) = _listen_lines(serving)
        assert json.loads(line)["message"] == f"edfs-mcp: listening on {serving.url}"
        _objects(serving.stderr())


# --- the sandbox's guide --------------------------------------------------------------------------


def test_the_sandbox_guide_names_the_file_its_exports_went_to(tmp_path: Path) -> None:
    with (tmp_path / "web.env").open("w") as exports:
        process = subprocess.Popen(
            [*COMMAND, "sandbox", "--as", "web", "--port", "0"],
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=exports,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        assert process.stderr is not None
        guide = [process.stderr.readline() for _ in range(3)]
    finally:
        process.terminate()
        process.wait(20)
    assert guide[1].startswith("The lines written to stdout (web.env) point `edfs-mcp serve` at it")
    assert "/device" not in guide[2] and "sign-in page" in guide[2]
    assert (tmp_path / "web.env").read_text().startswith("export EDFS_MCP_API_BASE=")


def test_public_url_without_as_web_is_an_error_in_one_line_exit_2() -> None:
    result = _run("sandbox", "--port", "0", "--public-url", "http://127.0.0.1:8123")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("edfs-mcp sandbox: --public-url is only for --as web")


# --- exit codes -----------------------------------------------------------------------------------


def test_the_readme_lists_every_exit_code_of_the_commands() -> None:
    """Each code the CLI returns (cli.EXIT_*), uvicorn's when the HTTP app fails to start, and SIGTERM's."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = " ".join(readme.split("Exit codes of every command:", 1)[1].split("\n\n", 1)[0].split())
    codes = {cli.EXIT_OK, cli.EXIT_FAILURE, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED}
    assert all(f"**{code}**" in paragraph for code in codes), paragraph
    assert f"and {STARTUP_FAILURE} when the HTTP app itself fails to start" in paragraph
    assert "(143 in a shell)" in paragraph
