"""manifests/clients/claude-code.sh passes on every EDFS_MCP_* setting exported, each value whole.

Run with a stand-in `claude` on PATH that prints the arguments it was given, under each POSIX shell
here (the script says `sh claude-code.sh`; bash runs it too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edfs_mcp.config import Settings, env_name
from tests.harness import clean_env

pytestmark = pytest.mark.real_process

SCRIPT = Path(__file__).resolve().parent.parent / "manifests" / "clients" / "claude-code.sh"
SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]
HEAD = ["mcp", "add", "edfs", "--transport", "stdio", "--scope", "user"]
TAIL = ["--", "uvx", "edfs-mcp", "serve"]


def _claude_add(shell: str, tmp_path: Path, settings: dict[str, str]) -> list[str]:
    """The arguments `claude` gets from ``shell claude-code.sh`` with ``settings`` exported."""
    stub = tmp_path / "claude"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stub.chmod(0o755)
    env = clean_env()
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [shell, str(SCRIPT)],
        env={**env, **settings},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    argv: list[str] = json.loads(result.stdout)
    return argv


@pytest.mark.parametrize("shell", SHELLS)
def test_every_exported_setting_is_passed_on_whole(shell: str, tmp_path: Path) -> None:
    awkward = ["with spaces", "$HOME and `id`", 'it\'s "quoted"', "back\\slash", "*", "two\nlines"]
    settings = {
        env_name(field): f"{field}: {awkward[i % len(awkward)]}"
        for i, field in enumerate(Settings.model_fields)
    }
    argv = _claude_add(shell, tmp_path, settings)
    assert argv[: len(HEAD)] == HEAD and argv[-len(TAIL) :] == TAIL
    middle = argv[len(HEAD) : -len(TAIL)]
    assert middle[0::2] == ["--env"] * len(settings)
    assert middle[1::2] == [f"{name}={settings[name]}" for name in sorted(settings)]


@pytest.mark.parametrize("shell", SHELLS)
def test_empty_settings_and_other_variables_are_left_out_and_values_never_run(
    shell: str, tmp_path: Path
) -> None:
    settings = {
        "EDFS_MCP_CLIENT_ID": "app-1",
        "EDFS_MCP_SCOPES": "",  # empty is unset, for edfs-mcp too
        "EDFS_MCP_CLIENT_SECRET": "$(touch ran) x\nEDFS_MCP_SMUGGLED=1",
        "NOT_EDFS_MCP_ACCESS_TOKEN": "no",
    }
    argv = _claude_add(shell, tmp_path, settings)
    assert argv == [
        *HEAD,
        "--env",
        "EDFS_MCP_CLIENT_ID=app-1",
        "--env",
        f"EDFS_MCP_CLIENT_SECRET={settings['EDFS_MCP_CLIENT_SECRET']}",
        *TAIL,
    ]
    assert not (tmp_path / "ran").exists()
