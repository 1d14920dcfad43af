"""Real MCP clients against `edfs-mcp serve --sandbox`: the TypeScript SDK (stdio and streamable
HTTP) and the MCP Inspector CLI. They live in tests/clients, a Node project: `npm ci` there first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import clean_env

pytestmark = pytest.mark.real_process

CLIENTS = Path(__file__).parent / "clients"
SUMMARY = re.compile(r"(\d+) passed, 0 failed")


def _run(*command: str, needs: str) -> str:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    if not (CLIENTS / "node_modules" / needs).is_dir():
        pytest.skip(f"{needs} is not installed: run `npm ci` in tests/clients")
    # The edfs-mcp console script of the Python running these tests comes first on PATH.
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    assert shutil.which("edfs-mcp", path=path), "the edfs-mcp console script is not installed"
    env = clean_env()
    result = subprocess.run(
        command,
        cwd=CLIENTS,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = f"{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, report
    lines = result.stdout.strip().splitlines()
    assert lines and SUMMARY.fullmatch(lines[-1]) and int(lines[-1].split()[0]) > 0, report
    assert not any(line.startswith("not ok") for line in lines), report
    return result.stdout


def test_typescript_sdk_client_over_stdio_and_streamable_http() -> None:
    out = _run("node", "client.mjs", needs="@modelcontextprotocol/sdk")
    assert "ok - [stdio]" in out and "ok - [http]" in out


def test_mcp_inspector_cli() -> None:
    if shutil.which("sh") is None:
        pytest.skip("sh is not on PATH")
    out = _run("sh", "inspector.sh", needs="@modelcontextprotocol/inspector")
    assert "ok - [inspector]" in out
