"""One JSON snapshot per tool: any schema change is a visible, reviewed diff.

Refresh after an intended change with: UPDATE_TOOLSNAPS=1 python -m pytest tests/test_toolsnaps.py
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from edfs_mcp.config import Settings
from edfs_mcp.server import build_server

pytestmark = pytest.mark.anyio

SNAPS = Path(__file__).parent / "__toolsnaps__"


async def _tools() -> dict[str, dict[str, Any]]:
    server = build_server(Settings(sandbox=True))
    return {
        tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in await server.list_tools()
    }


async def test_every_tool_matches_its_snapshot() -> None:
    tools = await _tools()
    if os.environ.get("UPDATE_TOOLSNAPS"):
        SNAPS.mkdir(exist_ok=True)
        for stale in SNAPS.glob("*.json"):
            stale.unlink()
        for name, tool in tools.items():
            (SNAPS / f"{name}.json").write_text(json.dumps(tool, indent=2, sort_keys=True) + "\n")
    on_disk = {path.stem for path in SNAPS.glob("*.json")}
    assert on_disk == set(tools), "tools added or removed: run with UPDATE_TOOLSNAPS=1 and review the diff"
    for name, tool in tools.items():
        expected = json.loads((SNAPS / f"{name}.json").read_text())
        assert tool == expected, f"{name} changed: run with UPDATE_TOOLSNAPS=1 and review the diff"
