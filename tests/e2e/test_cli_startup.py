"""What `edfs-mcp` says as it starts, run as a real process: bad settings, busy ports, where it listens,
JSON log lines, the sandbox's guide. (The commands' everyday use: test_cli.py.)"""

from __future__ import annotations

import subprocess
import sys

from tests.serving import clean_env

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
