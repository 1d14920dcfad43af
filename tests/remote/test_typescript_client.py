"""The official TypeScript SDK's OAuth client signs people in to a real `edfs-mcp serve` process."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.remote.harness import subprocess_server

pytestmark = pytest.mark.real_process

CLIENTS = Path(__file__).parent.parent / "clients"
SUMMARY = re.compile(r"(\d+) passed, 0 failed")


@pytest.mark.parametrize(("user", "expect"), [(seed.USER_ADMIN, "allowed"), (seed.USER_VIEWER, "forbidden")])
def test_typescript_sdk_oauth_client(sandbox: SandboxServer, user: str, expect: str) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    if not (CLIENTS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.skip("@modelcontextprotocol/sdk is not installed: run `npm ci` in tests/clients")
    with subprocess_server(sandbox) as served:
        done = subprocess.run(
            ["node", "oauth_client.mjs", served.url, user, seed.SANDBOX_PASSWORD, expect],
            cwd=CLIENTS,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        stderr = served.stderr()
    report = f"{done.stdout}\n--- client stderr ---\n{done.stderr}\n--- server stderr ---\n{stderr[-3000:]}"
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and SUMMARY.fullmatch(lines[-1]), report
    assert int(lines[-1].split()[0]) >= 5, report
    for secret in ("edfs_at_", "edfs_rt_", "edfs_ac_", "eyJ"):
        assert secret not in stderr, secret
