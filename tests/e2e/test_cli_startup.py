"""What `edfs-mcp` says as it starts, run as a real process: bad settings, busy ports, where it listens,
JSON log lines, the sandbox's guide. (The commands' everyday use: test_cli.py.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import pytest

from edfs_mcp import __version__
from tests.serving import clean_env, free_port

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
